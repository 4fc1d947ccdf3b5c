"""Join what Aim knows and what the artifact folders hold into one repository scan."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from .aim_reader import RUN_HASH, read_runs
from .artifacts import inventory_artifacts
from .model import ArtifactInventory, RepositoryScan
from .parallel import map_chunks


def _inventory_chunk(folder: Path, validate: bool, names: list[str]) -> list[ArtifactInventory]:
    return [inventory_artifacts(folder / name, name, validate) for name in names]


def scan_artifacts(
    root: Path, validate: bool = True, workers: int = 1
) -> tuple[dict[str, ArtifactInventory], list[str]]:
    """Inventory every ``artifacts/<hash>/`` folder; other entries are returned as strays."""
    folder = root / "artifacts"
    if not folder.is_dir():
        return {}, []
    names, strays = [], []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if RUN_HASH.match(entry.name) and entry.is_dir():  # follows symlinked folders
            names.append(entry.name)
        else:
            strays.append(entry.name)
    work = functools.partial(_inventory_chunk, folder, validate)
    inventories = map_chunks(work, names, workers)
    return {inv.hash: inv for inv in inventories}, strays


def scan_repository(root: Path | str, validate: bool = True, workers: int = 1) -> RepositoryScan:
    """Read every run and artifact folder of a tcbench repository, changing nothing in it."""
    root = Path(root)
    # read_runs fails first, with a clear message, on a path that is not a repository
    runs = {run.hash: run for run in read_runs(root, workers=workers)}
    artifacts, strays = scan_artifacts(root, validate=validate, workers=workers)
    return RepositoryScan(
        root=root, runs=runs, artifacts=artifacts, stray_artifact_entries=strays
    )
