"""What ``artifacts/`` holds and how it pairs with Aim's runs: the repository-level view.

One definition of a run folder (a directory, symlinks followed, named like a run
hash) and of the problems that belong to no campaign (unreadable runs, stray
entries, folders without an Aim run), used by both ``tcsummary ls`` and the
workflow's ``problems.csv``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..core.memory import gc_paused
from ..core.model import UNREADABLE, ArtifactInventory, RepositoryScan, RunInfo
from ..core.parallel import map_chunks
from ..core.progress import Progress
from .aim_reader import RUN_HASH, aim_dir_of, read_runs
from .artifacts import inventory_artifacts
from .discovery import (
    PARALLEL_FINGERPRINTS,
    cache_path,
    discover_runs,
    load_cache,
    write_cache,
)
from .shards import merge_runs


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


def unreadable_problems(runs: dict[str, RunInfo]) -> list[dict[str, str]]:
    """Runs whose Aim metadata cannot be read: no campaign, so only the index lists them."""
    problems = []
    for run in runs.values():
        if run.unreadable:
            reason = next(p for p in run.problems if p.startswith(UNREADABLE))
            problems.append({
                "hash": run.hash,
                "path": f".aim/meta/chunks/{run.hash}",
                "problem": f"{reason}; its campaign is unknown, so it is in no report",
            })
    return problems


def artifact_problems(root: Path, hashes: Iterable[str]) -> list[dict[str, str]]:
    """Stray entries of ``artifacts/`` and run folders without an Aim run among ``hashes``."""
    known = set(hashes)
    folders, strays = artifact_entries(root)
    found = [(name, why, "") for name, why in strays.items()]
    found += [
        (name, "artifact folder without an Aim run (the run was deleted or never reached "
         "Aim); not in any report", name)
        for name in folders if name not in known
    ]
    return [
        {"hash": run_hash, "path": f"artifacts/{name}", "problem": why}
        for name, why, run_hash in sorted(found)
    ]


def _inventory_chunk(folder: Path, validate: bool, names: list[str]) -> list[ArtifactInventory]:
    return [inventory_artifacts(folder / name, name, validate) for name in names]


#: Bump when the cached inventory record changes shape.
INVENTORY_CACHE_VERSION = 3


def folder_fingerprint(folder: Path | str) -> str:
    """Names, sizes and mtimes of a run folder's entries: any change of a file shows here.

    Takes the folder as text too: a 10,000-run listing built 10,000 Path objects only
    to stat their entries (0.2 s of a warm ``tcsummary ls``).
    """
    entries = []
    try:
        with os.scandir(folder) as found:
            for entry in found:
                try:
                    stat = entry.stat()  # follows symlinks, like reading the file
                    entries.append(f"{entry.name}:{stat.st_size}:{stat.st_mtime_ns}")
                except OSError:
                    entries.append(f"{entry.name}:?")
    except OSError:
        return ""
    entries.sort()
    return "|".join(entries)


def _folder_fingerprints(artifacts: str, names: list[str]) -> list[str]:
    return [folder_fingerprint(os.path.join(artifacts, name)) for name in names]


def inventory_record(inventory: ArtifactInventory) -> dict[str, Any]:
    return {
        "class_reports": dict(inventory.class_reports),
        "confusion_matrices": dict(inventory.confusion_matrices),
        "params": inventory.params,
        "has_log": inventory.has_log,
        "model_files": list(inventory.model_files),
        "problems": list(inventory.problems),
    }


def inventory_from_record(folder: Path, run_hash: str, record: dict[str, Any]) -> ArtifactInventory:
    return ArtifactInventory(
        hash=run_hash,
        path=folder,
        class_reports=dict(record["class_reports"]),
        confusion_matrices=dict(record["confusion_matrices"]),
        params=record["params"],
        has_log=record["has_log"],
        model_files=list(record["model_files"]),
        problems=list(record["problems"]),
    )


def cached_inventories(
    root: Path,
    folders: list[str],
    validate: bool,
    workers: int,
    cache: Path | None,
    save: bool,
) -> list[ArtifactInventory]:
    """Each run folder's inventory, parsing only folders whose files changed since the cache.

    The cache (the CLI's, beside the discovery cache in the output folder) keys a
    folder by :func:`folder_fingerprint`; a folder checked without ``validate``
    does not answer for one checked with it.
    """
    artifacts = root / "artifacts"
    known = load_cache(cache, INVENTORY_CACHE_VERSION)
    prints = dict(zip(folders, map_chunks(
        functools.partial(_folder_fingerprints, str(artifacts)), folders, workers,
        min_items=PARALLEL_FINGERPRINTS,
    ), strict=True))
    stale = [
        name for name in folders
        if known.get(name, {}).get("fingerprint") != prints[name]
        or (validate and not known[name].get("validated"))
    ]
    label = f"checking {len(stale)} artifact folders of {root}"
    with Progress(label, len(stale)) as progress:
        work = functools.partial(_inventory_chunk, artifacts, validate)
        fresh = {inv.hash: inv for inv in map_chunks(work, stale, workers, progress=progress)}
    with gc_paused():
        found = [
            fresh[name] if name in fresh
            else inventory_from_record(artifacts / name, name, known[name]["inventory"])
            for name in folders
        ]
    if cache is not None and save and (stale or set(known) != set(folders)):
        entries = (
            (inv.hash, {
                "fingerprint": prints[inv.hash],
                "validated": validate or bool(known.get(inv.hash, {}).get("validated"))
                and inv.hash not in fresh,
                "inventory": inventory_record(inv),
            })
            for inv in found if prints[inv.hash]
        )
        write_cache(cache, INVENTORY_CACHE_VERSION, entries, default=str)
    return found


def scan_repository(
    root: Path | str,
    validate: bool = True,
    workers: int = 1,
    save: bool = True,
    caches: tuple[Path, Path] | None = None,
    metrics: bool = True,
) -> RepositoryScan:
    """Read every run and artifact folder of a tcbench repository, changing nothing in it.

    ``caches``: the discovery cache the workflow keeps and the CLI's artifact cache
    (see :func:`scan_shards`): runs and folders unchanged since are not read again;
    ``save`` updates them. Without them, everything is read. ``metrics=False``: runs
    from the cache may come without their metric values (see :func:`discover_runs`).
    """
    root = Path(root)
    aim_dir_of(root)  # fails first, with a clear message, on a path that is not a repository
    if caches is None:
        runs = {run.hash: run for run in read_runs(root, workers=workers)}
    else:
        runs = discover_runs(root, cache_path=caches[0], workers=workers, save=save,
                             metrics=metrics)
    folders, strays = artifact_entries(root)
    inventories = cached_inventories(
        root, folders, validate, workers, caches[1] if caches else None, save
    )
    return RepositoryScan(
        root=root,
        runs=runs,
        artifacts={inv.hash: inv for inv in inventories},
        stray_artifact_entries=sorted(strays),
    )


def scan_shards(
    roots: list[Path], validate: bool = True, workers: int = 1,
    work: Path | None = None, save: bool = True, metrics: bool = True,
) -> RepositoryScan:
    """One repository, or several folders read as one: runs joined by hash (:mod:`read.shards`).

    ``work``: an output's work folder, where each folder's caches live (names from
    :func:`read.discovery.cache_path`, the workflow's own). A run's artifact folder
    comes from the shard its kept copy comes from; folders of the other shards
    without an Aim run there stay orphans. ``metrics=False``: see :func:`scan_repository`
    (ignored for several folders: joining copies of a run compares their metrics).
    """

    def caches(i: int) -> tuple[Path, Path] | None:
        if work is None:
            return None
        return cache_path(work, roots, i), cache_path(work, roots, i, kind="artifacts")

    if len(roots) == 1:
        return scan_repository(roots[0], validate, workers, save=save, caches=caches(0),
                               metrics=metrics)
    scans = [
        scan_repository(root, validate, workers, save=save, caches=caches(i))
        for i, root in enumerate(roots)
    ]
    merged = merge_runs(roots, [scan.runs for scan in scans])
    artifacts = {}
    for i, scan in enumerate(scans):
        for run_hash, inventory in scan.artifacts.items():
            if merged.shard_of.get(run_hash, i) == i:
                artifacts.setdefault(run_hash, inventory)
    for problem in merged.problems:
        if problem["hash"] in merged.runs:
            merged.runs[problem["hash"]].problems.append(problem["problem"])
    return RepositoryScan(
        root=roots[0],
        runs=merged.runs,
        artifacts=artifacts,
        stray_artifact_entries=sorted(
            str(root / "artifacts" / name) for root, scan in zip(roots, scans, strict=True)
            for name in scan.stray_artifact_entries
        ),
    )
