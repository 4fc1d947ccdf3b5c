"""Discover a repository's runs cheaply enough to do it every time the workflow starts.

Snakemake needs each campaign's runs when it builds the DAG (a checkpoint would
never see new runs), so discovery runs at parse time, on every invocation. Opening
a run's RocksDB costs ~2 ms; a 10,000-run repository would cost 20+ s before any
work. So each run's Aim record is cached, keyed by a fingerprint of its metadata
container (:func:`run_fingerprint`), and only runs whose
fingerprint changed are read again. What is cheap or can change without RocksDB
changing (SQLite props, whether a writer is still alive) is read fresh each time.

The cache is a memo only: deleting it costs time, never correctness.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.files import atomic_open
from ..core.memory import gc_paused
from ..core.model import RunInfo
from ..core.parallel import in_workers, map_chunks
from ..core.workers import pool
from .aim_reader import (
    RunProps,
    aim_dir_of,
    apply_props,
    list_run_hashes,
    read_run_props,
    read_runs,
    run_status,
)

CACHE_VERSION = 5


def run_fingerprint(aim_dir: Path, run_hash: str) -> str:
    """What changes whenever RocksDB writes to the run's metadata container.

    RocksDB never rewrites a table file in place: new data means a new file (a
    table, a write-ahead log, a MANIFEST; also every time a writer opens the run),
    which changes the folder's mtime, or a write-ahead log or MANIFEST growing in
    place. So the folder's mtime plus the names, sizes and mtimes of those two
    kinds of files show any change; stat'ing the immutable ones too cost a third
    of a no-op's planning at 10,000 runs.
    """
    folder = os.path.join(aim_dir, "meta", "chunks", run_hash)
    try:
        entries = [f"{os.stat(folder).st_mtime_ns}"]
        for entry in os.scandir(folder):
            name = entry.name
            if name.endswith(".log") or name.startswith("MANIFEST"):
                stat = entry.stat()
                entries.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
            else:
                entries.append(name)
    except OSError:
        return ""
    return "|".join(sorted(entries))


@dataclass
class RepositoryState:
    """What discovery looks at on every invocation, before reading any run.

    Run hashes, each run's container fingerprint and its SQLite row: with the
    status of the runs still open, everything a run's record can depend on.
    """

    aim_dir: Path
    hashes: list[str]
    fingerprints: dict[str, str]
    props: dict[str, RunProps]

    def run_state(self, run_hash: str, status: str) -> str:
        """One run's state as snapshots and the plan memo compare it ("" when unknown)."""
        fingerprint = self.fingerprints.get(run_hash, "")
        if not fingerprint:
            return ""
        return f"{fingerprint}|{status}|{self.props.get(run_hash)!r}"


def _fingerprints(aim_dir: str, hashes: list[str]) -> list[str]:
    return [run_fingerprint(aim_dir, h) for h in hashes]


#: From this many runs (or artifact folders) on, fingerprints are taken in worker
#: processes: the Python between stat calls holds the interpreter lock. 10,000 runs:
#: 0.44 s in one process, 0.24 s in two; 10,000 artifact folders: 0.85 s, 0.50 s.
PARALLEL_FINGERPRINTS = 2000


def repository_state(root: Path | str, workers: int = 1) -> RepositoryState:
    """Hashes, fingerprints and SQLite rows of a repository's runs (stats, one query)."""
    aim_dir = aim_dir_of(Path(root))
    hashes = list_run_hashes(aim_dir)
    if in_workers(len(hashes), workers, PARALLEL_FINGERPRINTS):
        pool(workers).start()  # they boot while SQLite is read
    props = read_run_props(aim_dir)
    prints = map_chunks(
        functools.partial(_fingerprints, str(aim_dir)), hashes, workers,
        min_items=PARALLEL_FINGERPRINTS,
    )
    fingerprints = dict(zip(hashes, prints, strict=True))
    return RepositoryState(aim_dir, hashes, fingerprints, props)


def cache_path(work: Path, roots: Sequence[Path], index: int, kind: str = "aim") -> Path:
    """The cache file of one repository folder (of its shards) in an output's work folder.

    One repository keeps the historic name ``aim-cache.json``; each shard of a
    sharded one gets a name derived from its path. ``kind`` is ``aim`` (runs) or
    ``artifacts`` (the CLI's artifact inventories).
    """
    if len(roots) == 1:
        return work / f"{kind}-cache.json"
    digest = hashlib.sha256(str(roots[index]).encode()).hexdigest()[:12]
    return work / f"{kind}-cache-{digest}.json"


def iter_cache(
    path: Path | None, version: int, keys: Collection[str] | None = None
) -> Iterator[tuple[str, Any]]:
    """The ``(key, entry)`` pairs of a cache file of that version, read one line at a time.

    Nothing when the file is absent, of another version or damaged (from the damaged line
    on: a cache is a memo only, anything wrong with it costs time, never correctness). One
    entry in memory at a time: parsing a 10,000-run cache whole held 90 MB of records.
    ``keys``: only these entries; the other lines are skipped without being decoded.
    """
    if path is None:
        return
    try:
        with open(path, "rb") as lines:
            if _cache_header(lines.readline()) != version:
                return
            with gc_paused():
                for line in lines:
                    if keys is not None:
                        key = _line_key(line)
                        if key is not None and key not in keys:
                            continue
                    pair = json.loads(line)
                    if not (isinstance(pair, list) and len(pair) == 2
                            and isinstance(pair[0], str) and isinstance(pair[1], dict)):
                        return
                    yield pair[0], pair[1]
    except (OSError, ValueError):
        return


def _line_key(line: bytes) -> str | None:
    """The key of a whole ``["key",{...}]`` cache line, read without decoding the line."""
    end = line.find(b'"', 2)
    if line.startswith(b'["') and end > 2 and line.endswith(b"]\n"):
        return line[2:end].decode("ascii", "replace")
    return None


def _cache_header(line: bytes) -> Any:
    try:
        header = json.loads(line)
    except ValueError:
        return None
    return header.get("version") if isinstance(header, dict) else None


def load_cache(path: Path | None, version: int) -> dict[str, dict[str, Any]]:
    """A whole cache file as ``{key: entry}`` (see :func:`iter_cache`)."""
    return dict(iter_cache(path, version))


def write_cache(
    path: Path,
    version: int,
    entries: Iterable[tuple[str, Any]],
    default: Any = None,
    keep: frozenset[str] = frozenset(),
) -> None:
    """Write a cache file of that version from ``(key, entry)`` pairs, one entry per line.

    A header line ``{"version": v}``, then ``[key, entry]`` lines, written as they come:
    neither the entries nor the text are ever all in memory (at 10,000 runs those copies were
    the planning's peak). ``keep``: keys whose line of the current file is copied as it is,
    before ``entries`` (one new run among 10,000 re-encoded them all: 1.2 s). Atomic like every
    write (a temporary file renamed over the old one, which is read until then).
    """
    encode = json.JSONEncoder(separators=(",", ":"), default=default).encode
    with atomic_open(path, "wb") as out:
        out.write((encode({"version": version}) + "\n").encode())
        for line in _lines_of(path, version, keep):
            out.write(line)
        for key, entry in entries:
            out.write((encode([key, entry]) + "\n").encode())


def _lines_of(path: Path, version: int, keys: frozenset[str]) -> Iterator[bytes]:
    """The lines of the cache file at ``path`` whose key is in ``keys``, as they are."""
    if not keys:
        return
    try:
        with open(path, "rb") as lines:
            if _cache_header(lines.readline()) != version:
                return
            for line in lines:
                if _line_key(line) in keys:
                    yield line
    except OSError:
        return


def discover_runs(
    root: Path | str,
    cache_path: Path | None = None,
    workers: int = 1,
    save: bool = True,
    state: RepositoryState | None = None,
    only: Collection[str] | None = None,
    metrics: bool = True,
) -> dict[str, RunInfo]:
    """Every Aim run of the repository, re-reading only runs that changed since the cache.

    Props come from SQLite each time and the status of every run without an
    end time is decided again (a writer may have died without changing a file).
    With ``save=False`` the cache is only read (a cluster job re-parsing the workflow).
    ``state``: :func:`repository_state` of ``root`` when the caller already has it.
    ``only``: just these runs (those the repository has): the other entries of the cache
    are neither decoded nor dropped (a plan that knows which campaigns a change touches
    reads those campaigns' runs only: 2,500 of 10,000 records for one new run).
    ``metrics=False``: runs from the cache come without their metric values, for callers
    that need identity, status and hparams only (``tcsummary ls``: 0.27 s of 10,000 runs).
    """
    root = Path(root)
    state = state or repository_state(root, workers)
    aim_dir, props, fingerprints = state.aim_dir, state.props, state.fingerprints
    hashes = state.hashes if only is None else [h for h in state.hashes if h in only]
    # records turn into runs as the cache streams by (only the runs are ever all in memory)
    cached: dict[str, RunInfo] = {}
    entries_in_cache = 0
    with gc_paused():
        wanted = None if only is None else frozenset(hashes)
        for run_hash, entry in iter_cache(cache_path, CACHE_VERSION, keys=wanted):
            entries_in_cache += 1
            if fingerprints.get(run_hash) is not None and (
                entry.get("fingerprint") == fingerprints[run_hash]
            ):
                try:
                    cached[run_hash] = RunInfo.from_record(entry["run"], metrics)
                except (KeyError, TypeError, ValueError, AttributeError):
                    continue  # a record of another shape: the run is read again
    stale = [h for h in hashes if h not in cached]
    fresh = (
        {run.hash: run for run in read_runs(root, stale, workers=workers, props=props)}
        if stale else {}
    )

    runs: dict[str, RunInfo] = {}
    with gc_paused():
        for run_hash in hashes:
            if run_hash in fresh:
                run = fresh[run_hash]
            else:
                run = cached[run_hash]
                apply_props(run, props.get(run_hash))
                run.status = run_status(aim_dir, run_hash, run.end_time)
            run.state = state.run_state(run_hash, run.status)
            runs[run_hash] = run

    if save and cache_path is not None and (stale or entries_in_cache != len(cached)):
        # runs found in the cache keep their line as it is: a cached record's SQLite props and
        # status are stale by design, since both are applied afresh on every load (above)
        entries = (
            (h, {"fingerprint": fingerprints[h], "run": runs[h].to_record()})
            for h in stale
            if fingerprints[h]
        )
        keep = frozenset(cached)
        if only is not None:  # the lines of the runs not asked for stay as they are
            keep |= frozenset(state.hashes).difference(hashes)
        write_cache(cache_path, CACHE_VERSION, entries, keep=keep)
    return runs
