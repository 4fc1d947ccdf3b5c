"""Read runs out of an Aim 3.x repository without changing one byte of it.

Aim's public query API (``Repo.iter_runs``, ``query_runs``, read-only ``Run``)
goes through ``meta/index`` whenever that folder exists; aim >= 3.28 no longer
updates the index when runs close, so on repositories written by current aim it
silently returns nothing, and on partially indexed ones it drops the newer runs.
This module therefore reads every run's *own* RocksDB containers
(``meta/chunks/<hash>``, ``seqs/chunks/<hash>``) with
``skip_read_optimization=True`` (which leaves the files byte-identical) and the
SQLite metadata with the stdlib driver in read-only mode.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import re
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import RepositoryError
from ..core.model import (
    ACTIVE,
    FINISHED,
    MISSING_FROM_SQLITE,
    UNFINISHED,
    UNREADABLE,
    MetricValue,
    RunInfo,
    metric_key,
    shared,
)
from ..core.parallel import map_chunks
from ..core.progress import Progress
from .aim_format import open_run_db, read_subtrees, read_trace_fields

RUN_HASH = re.compile(r"^[0-9a-f]{24}$")
#: A run locked from another machine counts as active if it wrote this recently (s).
FOREIGN_WRITER_WINDOW = 900.0
#: What a report needs of each metric trace's statistics.
TRACE_FIELDS = frozenset({"last", "last_step", "version"})


@dataclass(frozen=True)
class RunProps:
    """The SQLite row of a run: what Aim keeps outside RocksDB."""

    name: str | None
    experiment: str | None
    creation_time: float | None
    archived: bool
    description: str | None = None
    tags: tuple[str, ...] = ()


def aim_dir_of(root: Path | str) -> Path:
    """Return ``<root>/.aim`` after checking it is an Aim repository; never creates anything."""
    root = Path(root)
    if not root.exists():
        raise RepositoryError(root, "no such directory")
    if not root.is_dir():
        raise RepositoryError(root, "not a tcbench repository (a file, not a folder)")
    aim_dir = root / ".aim"
    if not aim_dir.is_dir():
        raise RepositoryError(root, "not a tcbench repository (no .aim folder)")
    if not (aim_dir / "meta").is_dir() and not (aim_dir / "run_metadata.sqlite").exists():
        raise RepositoryError(aim_dir, "not an Aim repository (no meta/ nor run_metadata.sqlite)")
    return aim_dir


def list_run_hashes(aim_dir: Path) -> list[str]:
    """Hashes of every run that has a metadata container (a directory listing, no index)."""
    chunks = aim_dir / "meta" / "chunks"
    if not chunks.is_dir():
        return []
    return sorted(entry.name for entry in os.scandir(chunks) if RUN_HASH.match(entry.name))


def _utc_timestamp(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=dt.UTC).timestamp()


def read_run_props(aim_dir: Path) -> dict[str, RunProps]:
    """Run name, experiment, creation time and archived flag from ``run_metadata.sqlite``.

    Opened through a read-only URI: the stdlib driver then neither writes a
    journal nor migrates the schema (aim's own SQLAlchemy engine may do both).
    """
    db = aim_dir / "run_metadata.sqlite"
    if not db.exists():
        return {}
    try:
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise RepositoryError(db, f"cannot open Aim's run database ({exc})") from None
    try:
        rows = con.execute(
            "SELECT run.hash, run.name, experiment.name, run.created_at, run.is_archived, "
            "run.description FROM run LEFT JOIN experiment ON run.experiment_id = experiment.id"
        ).fetchall()
        tags: dict[str, list[str]] = {}
        for run_hash, tag in con.execute(
            "SELECT run.hash, tag.name FROM run_tag JOIN run ON run_tag.run_id = run.id "
            "JOIN tag ON run_tag.tag_id = tag.id ORDER BY tag.name"
        ):
            tags.setdefault(run_hash, []).append(tag)
    except sqlite3.Error as exc:
        raise RepositoryError(db, f"cannot read Aim's run database ({exc})") from None
    finally:
        con.close()
    return {
        row[0]: RunProps(
            name=row[1],
            experiment=row[2],
            creation_time=_utc_timestamp(row[3]),
            archived=bool(row[4]),
            description=row[5],
            tags=tuple(tags.get(row[0], ())),
        )
        for row in rows
    }


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    """Flatten nested hparams with dotted keys; lists become tuples so they stay hashable."""
    if isinstance(value, dict):
        for key, sub in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), sub, out)
    elif isinstance(value, list):
        out[prefix] = tuple(value)
    else:
        out[prefix] = value


def flatten_hparams(hparams: dict[str, Any]) -> dict[str, Any]:
    """Flatten a run's ``hparams`` dict, leaving out Aim's ``__system*`` entries."""
    out: dict[str, Any] = {}
    for key, value in hparams.items():
        if str(key).startswith("__system"):
            continue
        _flatten(str(key), value, out)
    return out


def _context_name(context: Any) -> str:
    """tcbench tracks ``context={"subset": <name>}``; other contexts keep a readable form."""
    if not context:
        return ""
    if isinstance(context, dict) and set(context) == {"subset"}:
        return str(context["subset"])
    if isinstance(context, dict):
        return ",".join(f"{k}={context[k]}" for k in sorted(context))
    return str(context)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _latest_write(aim_dir: Path, run_hash: str) -> float:
    latest = 0.0
    for container in ("meta", "seqs"):
        folder = aim_dir / container / "chunks" / run_hash
        try:
            for entry in os.scandir(folder):
                latest = max(latest, entry.stat().st_mtime)
        except OSError:
            continue
    return latest


def run_status(aim_dir: Path, run_hash: str, end_time: float | None) -> str:
    """``finished`` (has end_time), ``active`` (a live writer holds the lock) or ``unfinished``.

    Aim writes ``<machine_id>-<pid>-<time>`` into ``locks/<hash>.softlock`` and
    leaves it behind when the writer is killed. On this machine the pid tells
    whether the writer lives; a lock from another machine (a cluster node on a
    shared filesystem) counts as live while the run's containers keep changing.
    """
    if end_time is not None:
        return FINISHED
    lock = aim_dir / "locks" / f"{run_hash}.softlock"
    legacy = [aim_dir / c / "locks" / f"{run_hash}.softlock" for c in ("meta", "seqs")]
    present = [p for p in [lock, *legacy] if p.exists()]
    if not present:
        return UNFINISHED
    try:
        machine, pid, *_ = present[0].read_text().split("-")
        machine_id, pid_number = int(machine), int(pid)
    except (OSError, ValueError):
        machine_id, pid_number = -1, -1
    node = uuid.getnode()
    node_is_stable = not (node >> 40) & 1  # a random node id has the multicast bit set
    if node_is_stable and machine_id == node:
        return ACTIVE if pid_number > 0 and _pid_alive(pid_number) else UNFINISHED
    recent = time.time() - _latest_write(aim_dir, run_hash) < FOREIGN_WRITER_WINDOW
    return ACTIVE if recent else UNFINISHED


@contextlib.contextmanager
def run_container(aim_dir: Path, kind: str, run_hash: str) -> Iterator[Any]:
    """Open one run's RocksDB (``meta`` or ``seqs``) read-only, and close it afterwards.

    Opened directly rather than through ``Repo.request_tree``: the Repo keeps every
    container it opened in a pool, which at 10,000 runs means tens of thousands of
    open files. ``skip_read_optimization`` keeps RocksDB from compacting a live or
    crashed run's write-ahead log into new files, i.e. from writing into the repo.
    """
    from aim.storage.rockscontainer import RocksContainer

    path = aim_dir / kind / "chunks" / run_hash
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is missing")
    container = RocksContainer(str(path), read_only=True, skip_read_optimization=True)
    try:
        yield container.tree()
    finally:
        container.close()


def read_meta(aim_dir: Path, run_hash: str) -> dict[str, Any]:
    """What a report needs of one run's metadata: hparams, contexts, traces, end_time.

    Decoded straight from the run's RocksDB (see :mod:`aim_format`), leaving out
    ``__system_params`` (environment, packages) that aim logs with every run.
    """
    path = aim_dir / "meta" / "chunks" / run_hash
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is missing")
    db = open_run_db(path)
    try:
        base = ("meta", "chunks", run_hash)
        meta = read_subtrees(db, base, ("contexts", "end_time"))
        meta.update(read_trace_fields(db, base, TRACE_FIELDS))
        attrs = read_subtrees(db, (*base, "attrs"), ("hparams",))
    finally:
        del db
    if attrs:
        meta["attrs"] = attrs
    return meta


def read_series_points(
    aim_dir: Path, run_hash: str, ctx_idx: int, metric: str, version: int = 2
) -> list[tuple[int, float]]:
    """All (step, value) points of one series, sorted by step.

    Aim stores points under hashed step keys, so iteration order is not step
    order (aimhubio/aim#3318); sorting by the stored step restores it. Series
    of trace ``version`` 1 live under ``seqs/chunks``, later ones under ``seqs/v<N>``.
    """
    prefix = ("seqs",) if version == 1 else ("seqs", f"v{version}")
    with run_container(aim_dir, "seqs", run_hash) as tree:
        series = tree.subtree((*prefix, "chunks", run_hash, ctx_idx, metric))
        try:
            step_keys, steps = series.array("step").sparse_list()
            value_keys, values = series.array("val").sparse_list()
        except (KeyError, IndexError):
            return []
    by_key = dict(zip(value_keys, values, strict=True))
    points = [(int(step), by_key[key]) for key, step in zip(step_keys, steps, strict=True)]
    return sorted(points, key=lambda point: point[0])


def _last_value(
    aim_dir: Path, run_hash: str, ctx_idx: int, metric: str, info: Any
) -> MetricValue | None:
    """Aim's per-trace ``last``/``last_step``; the series' highest step where they are absent."""
    if isinstance(info, dict) and "last" in info and "last_step" in info:
        last = info["last"]
        if isinstance(last, (int, float)) and not isinstance(last, bool):
            return MetricValue(float(last), int(info["last_step"]))
    version = int(info.get("version", 1)) if isinstance(info, dict) else 1
    try:
        points = read_series_points(aim_dir, run_hash, ctx_idx, metric, version)
    except Exception:  # noqa: BLE001 - a missing series is not fatal
        return None
    if not points:
        return None
    step, value = points[-1]
    return MetricValue(float(value), int(step))


def apply_props(run: RunInfo, props: RunProps | None) -> None:
    """Copy what SQLite knows of a run onto it, or record that it has no row there.

    SQLite can change without RocksDB changing, so a cached run gets this again
    on every discovery; the missing-row problem is therefore replaced, not added.
    """
    run.problems = [p for p in run.problems if p != MISSING_FROM_SQLITE]
    if props is None:
        run.problems.insert(0, MISSING_FROM_SQLITE)
        return
    run.name, run.experiment, run.creation_time = props.name, props.experiment, props.creation_time
    run.description, run.archived, run.tags = props.description, props.archived, props.tags


def read_run(aim_dir: Path, run_hash: str, props: RunProps | None) -> RunInfo:
    """Read one run from its own containers; a broken container becomes a recorded problem."""
    run = RunInfo(hash=run_hash)
    apply_props(run, props)
    try:
        meta = read_meta(aim_dir, run_hash)
    except Exception as exc:  # RocksDB and aim raise many types; any means unreadable
        run.problems.append(f"{UNREADABLE} ({type(exc).__name__}: {exc})")
        run.status = run_status(aim_dir, run_hash, None)
        return run
    end_time = meta.get("end_time")
    run.end_time = float(end_time) if isinstance(end_time, (int, float)) else None
    attrs = meta.get("attrs") or {}
    hparams = attrs.get("hparams") if isinstance(attrs, dict) else None
    if isinstance(hparams, dict):
        run.hparams = {sys.intern(k): shared(v) for k, v in flatten_hparams(hparams).items()}
    contexts = meta.get("contexts") or {}
    for ctx_idx, traces in (meta.get("traces") or {}).items():
        context = _context_name(contexts.get(ctx_idx))
        for metric, info in (traces or {}).items():
            if str(metric).startswith("__system"):
                continue
            value = _last_value(aim_dir, run_hash, ctx_idx, metric, info)
            if value is not None:
                run.metrics[metric_key(str(metric), context)] = value
    run.status = run_status(aim_dir, run_hash, run.end_time)
    return run


def _read_chunk(aim_dir: Path, chunk: list[tuple[str, RunProps | None]]) -> list[RunInfo]:
    return [read_run(aim_dir, h, props) for h, props in chunk]


def read_runs(
    root: Path | str,
    hashes: Iterable[str] | None = None,
    workers: int = 1,
    props: dict[str, RunProps] | None = None,
) -> list[RunInfo]:
    """Read the given runs (default: all) of the repository at ``root``, in hash order.

    With ``workers > 1`` and enough runs, chunks are read in parallel processes:
    opening RocksDB and decoding its tree is CPU-bound, so threads would not help.
    A slow read shows its progress on stderr (:mod:`core.progress`). ``props``: the SQLite
    rows when the caller has read them already (default: read them here).
    """
    aim_dir = aim_dir_of(root)
    wanted = sorted(hashes) if hashes is not None else list_run_hashes(aim_dir)
    props = read_run_props(aim_dir) if props is None else props
    with Progress(f"reading {len(wanted)} Aim runs of {root}", len(wanted)) as progress:
        # each chunk carries only its own runs' SQLite rows: a worker's arguments are pickled
        # per chunk, and all 10,000 rows per chunk cost 6 s of pickling at 10,000 runs
        items = [(h, props.get(h)) for h in wanted]
        return map_chunks(
            functools.partial(_read_chunk, aim_dir), items, workers, progress=progress
        )
