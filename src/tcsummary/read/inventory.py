"""What ``artifacts/`` holds and how it pairs with Aim's runs: the repository-level view.

One definition of a run folder (a directory, symlinks followed, named like a run
hash) and of the problems that belong to no campaign (unreadable runs, stray
entries, folders without an Aim run), used by both ``tcsummary ls`` and the
workflow's ``problems.csv``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from ..core.model import UNREADABLE, ArtifactInventory, RepositoryScan, RunInfo
from ..core.parallel import map_chunks
from .aim_reader import RUN_HASH, read_runs
from .artifacts import inventory_artifacts


def artifact_entries(root: Path) -> tuple[list[str], dict[str, str]]:
    """Run folders under ``<root>/artifacts`` and the other entries with why they are not.

    A run folder is a directory (a symlink to one counts) named like a run hash;
    a *file* named like a hash is a stray, not a run folder.
    """
    try:
        entries = sorted(os.scandir(root / "artifacts"), key=lambda e: e.name)
    except OSError:
        return [], {}
    folders, strays = [], {}
    for entry in entries:
        if not RUN_HASH.match(entry.name):
            strays[entry.name] = "not a run folder (the name is not a 24-character run hash)"
            continue
        try:
            is_dir = entry.is_dir()  # follows symlinks
        except OSError:
            is_dir = False
        if is_dir:
            folders.append(entry.name)
        else:
            strays[entry.name] = "not a run folder (named like a run hash, but not a directory)"
    return folders, strays


def repository_problems(root: Path, runs: dict[str, RunInfo]) -> list[dict[str, str]]:
    """What is wrong outside any campaign: unreadable runs, stray entries, orphan folders."""
    problems = []
    for run in runs.values():
        if run.unreadable:
            reason = next(p for p in run.problems if p.startswith(UNREADABLE))
            problems.append({
                "hash": run.hash,
                "path": f".aim/meta/chunks/{run.hash}",
                "problem": f"{reason}; its campaign is unknown, so it is in no report",
            })
    folders, strays = artifact_entries(root)
    found = [(name, why, "") for name, why in strays.items()]
    found += [
        (name, "artifact folder without an Aim run (the run was deleted or never reached "
         "Aim); not in any report", name)
        for name in folders if name not in runs
    ]
    for name, why, run_hash in sorted(found):
        problems.append({"hash": run_hash, "path": f"artifacts/{name}", "problem": why})
    return problems


def _inventory_chunk(folder: Path, validate: bool, names: list[str]) -> list[ArtifactInventory]:
    return [inventory_artifacts(folder / name, name, validate) for name in names]


def scan_repository(root: Path | str, validate: bool = True, workers: int = 1) -> RepositoryScan:
    """Read every run and artifact folder of a tcbench repository, changing nothing in it."""
    root = Path(root)
    # read_runs fails first, with a clear message, on a path that is not a repository
    runs = {run.hash: run for run in read_runs(root, workers=workers)}
    folders, strays = artifact_entries(root)
    work = functools.partial(_inventory_chunk, root / "artifacts", validate)
    inventories = map_chunks(work, folders, workers)
    return RepositoryScan(
        root=root,
        runs=runs,
        artifacts={inv.hash: inv for inv in inventories},
        stray_artifact_entries=sorted(strays),
    )


def scan_shards(roots: list[Path], validate: bool = True, workers: int = 1) -> RepositoryScan:
    """Several folders read as one repository: runs joined by hash (:mod:`read.shards`).

    A run's artifact folder comes from the shard its kept copy comes from;
    folders of the other shards without an Aim run there stay orphans.
    """
    from .shards import merge_runs

    if len(roots) == 1:
        return scan_repository(roots[0], validate=validate, workers=workers)
    scans = [scan_repository(root, validate=validate, workers=workers) for root in roots]
    merged = merge_runs(roots, [scan.runs for scan in scans])
    artifacts = {}
    for i, scan in enumerate(scans):
        for run_hash, inventory in scan.artifacts.items():
            if merged.shard_of.get(run_hash, i) == i:
                artifacts.setdefault(run_hash, inventory)
    for run in merged.runs.values():
        for problem in merged.problems:
            if problem["hash"] == run.hash:
                run.problems.append(problem["problem"])
    return RepositoryScan(
        root=roots[0],
        runs=merged.runs,
        artifacts=artifacts,
        stray_artifact_entries=sorted(
            str(root / "artifacts" / name) for root, scan in zip(roots, scans, strict=True)
            for name in scan.stray_artifact_entries
        ),
        roots=list(roots),
    )
