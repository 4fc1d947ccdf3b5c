"""Join what Aim knows and what the artifact folders hold into one repository scan."""

from __future__ import annotations

import os
from pathlib import Path

from .aim_reader import RUN_HASH, aim_dir_of, read_runs
from .artifacts import inventory_artifacts
from .model import ArtifactInventory, RepositoryScan


def scan_artifacts(
    root: Path, validate: bool = True
) -> tuple[dict[str, ArtifactInventory], list[str]]:
    """Inventory every ``artifacts/<hash>/`` folder; other entries are returned as strays."""
    folder = root / "artifacts"
    inventories: dict[str, ArtifactInventory] = {}
    strays: list[str] = []
    if not folder.is_dir():
        return inventories, strays
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if RUN_HASH.match(entry.name) and entry.is_dir():  # follows symlinked folders
            inventories[entry.name] = inventory_artifacts(Path(entry.path), entry.name, validate)
        else:
            strays.append(entry.name)
    return inventories, strays


def scan_repository(root: Path | str, validate: bool = True, workers: int = 1) -> RepositoryScan:
    """Read every run and artifact folder of a tcbench repository, changing nothing in it."""
    root = Path(root)
    aim_dir_of(root)  # fail early, with a clear message, on a path that is not a repository
    runs = {run.hash: run for run in read_runs(root, workers=workers)}
    artifacts, strays = scan_artifacts(root, validate=validate)
    return RepositoryScan(
        root=root, runs=runs, artifacts=artifacts, stray_artifact_entries=strays
    )
