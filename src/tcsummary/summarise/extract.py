"""Per-run extraction: a run's class reports and confusion matrices as plain data.

This is the only step that reads artifact CSVs. Its output (one JSON file per
batch of runs) is what aggregation reads, so an edited CSV re-runs the
extraction of its batch and the aggregation of its campaign, nothing else.
Problems are recorded per (run, context), never raised: one broken file excludes
that context of that run, not the build.

A batch keeps a memo of its runs keyed by the SHA-256 of their input bytes, so
re-extracting a batch after one run changed parses only that run. A record also
keeps the name, size and mtime of the files it was parsed from, taken before
reading them: a run whose files still show these (the batch's manifest says so) is
taken from the memo without reading its files again, which is the rule Snakemake
applies to the manifest itself; any other run is read, and reused if its bytes are
unchanged (content-addressed: after a ``touch``, say).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..core.errors import ArtifactFormatError
from ..core.memory import gc_paused
from ..core.parallel import map_chunks
from ..read.artifacts import (
    CLASS_REPORT_SUFFIX,
    CONF_MATRIX_SUFFIX,
    check_context,
    check_params,
    file_entries,
    read_artifact_bytes,
    wanted_files,
)

#: Bump when what a record holds changes, so old memos are not reused.
RECORD_VERSION = 1


def artifact_files(folder: Path, contexts: Iterable[str]) -> list[Path]:
    """The files of a run that extraction reads and that exist in its folder."""
    try:
        names = {entry.name for entry in folder.iterdir()}
    except OSError:
        return []
    return [folder / name for name in wanted_files(contexts) if name in names]


def extract_context(folder: Path, context: str, data: dict[str, bytes]) -> dict[str, Any]:
    """One context of one run: per-class scores, support and matrix, or the problem."""
    names = (f"{context}{CLASS_REPORT_SUFFIX}", f"{context}{CONF_MATRIX_SUFFIX}")
    missing = [n for n in names if n not in data and not os.path.lexists(folder / n)]
    if missing:
        verb = "are" if len(missing) > 1 else "is"
        return {"problem": f"{' and '.join(missing)} {verb} missing"}
    try:
        report, matrix = check_context(folder, context, data)
    except ArtifactFormatError as exc:
        return {"problem": exc.in_folder}
    return {
        "classes": list(report.classes),
        "precision": list(report.precision),
        "recall": list(report.recall),
        "f1": list(report.f1),
        "support": list(report.support),
        "accuracy": report.accuracy,
        "matrix": [list(row) for row in matrix.counts],
    }


def read_inputs(folder: Path, contexts: Sequence[str]) -> tuple[dict[str, bytes], str]:
    """The run's input files as bytes (unreadable ones left for the parsers) and their digest."""
    data: dict[str, bytes] = {}
    digest = hashlib.sha256(f"v{RECORD_VERSION}|{','.join(contexts)}".encode())
    for path in artifact_files(folder, contexts):
        try:
            data[path.name] = read_artifact_bytes(path)
        except ArtifactFormatError:
            digest.update(f"|{path.name}:unreadable".encode())
            continue
        digest.update(f"|{path.name}:{len(data[path.name])}:".encode())
        digest.update(data[path.name])
    return data, digest.hexdigest()


def parse_run(
    folder: Path, run_hash: str, contexts: Sequence[str], data: dict[str, bytes]
) -> dict[str, Any]:
    """Everything aggregation needs from one artifact folder, from its files' bytes."""
    record: dict[str, Any] = {
        "hash": run_hash,
        "warnings": [],
        "contexts": {},
        "sha256": {name: hashlib.sha256(raw).hexdigest() for name, raw in sorted(data.items())},
    }
    _, problem = check_params(folder / "params.yml", data.get("params.yml"))
    if problem:
        record["warnings"].append(problem)
    for context in contexts:
        record["contexts"][context] = extract_context(folder, context, data)
    return record


def extract_run(
    folder: Path,
    run_hash: str,
    contexts: Sequence[str],
    cached: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One run's record; ``cached`` (its previous record) is reused if its inputs are unchanged."""
    if not folder.is_dir():
        return {"hash": run_hash, "warnings": [], "contexts": {}, "sha256": {},
                "folder_problem": "no artifact folder", "digest": "", "files": None}
    files = file_entries(str(folder), wanted_files(contexts))  # before reading: see module
    data, digest = read_inputs(folder, contexts)
    if cached is not None and cached.get("digest") == digest:
        return {**cached, "files": files}
    record = parse_run(folder, run_hash, contexts, data)
    record["digest"] = digest
    record["files"] = files
    return record


#: Fewer runs than this to parse (not in the batch's memo) are parsed without a process pool.
MIN_POOL_RUNS = 64
#: Runs per call to a worker: its memory grows with the records it sends back at once
#: (~40 runs a call held the workers at 15 MB each; ~160 at 18 MB, which took a cold
#: 10,000-run build over 300 MB summed).
WORKER_CHUNK_RUNS = 50


def _extract_chunk(
    artifacts_dir: Path,
    contexts: tuple[str, ...],
    chunk: list[tuple[str, dict[str, Any] | None]],
) -> list[dict[str, Any]]:
    return [
        extract_run(artifacts_dir / h, h, contexts, cached) for h, cached in chunk
    ]


def extract_batch(
    artifacts_dir: Path,
    hashes: Sequence[str],
    contexts: Sequence[str],
    memo: dict[str, dict[str, Any]] | None = None,
    workers: int = 1,
    files: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Records of a batch of runs, in hash order; parsing is spread over ``workers`` processes.

    ``files``: each run's files as the batch's manifest lists them (name, size, mtime);
    a memo record made from exactly these is reused without reading them.
    """
    memo, files = memo or {}, files or {}
    records: dict[str, dict[str, Any]] = {}
    items = []
    for run_hash in sorted(hashes):
        cached = memo.get(run_hash)
        if cached is not None and run_hash in files and cached.get("files") == files[run_hash]:
            records[run_hash] = cached
        else:  # each chunk carries only its own runs' memo entries (arguments are pickled)
            items.append((run_hash, cached))
    work = functools.partial(_extract_chunk, artifacts_dir, tuple(contexts))
    for record in map_chunks(work, items, pool_size(items, workers), min_items=MIN_POOL_RUNS,
                             max_chunk=WORKER_CHUNK_RUNS):
        records[record["hash"]] = record
    return [records[h] for h in sorted(hashes)]


def pool_size(items: Sequence[tuple[str, dict[str, Any] | None]], workers: int) -> int:
    """Processes for a batch's ``(hash, memo entry)`` items: 1 (no pool) when few need parsing.

    Parsing a run costs ~1 ms; workers pay off from ~64 runs to parse. ``items`` are the
    runs the manifest's file entries did not match to the memo: new runs (no entry) and runs
    whose files show another size or mtime, read again and reused if their bytes are
    unchanged. A batch with few new runs is done in this process (shipping its memo records
    to workers and back costs about what it saves), so a one-new-run build starts no worker.
    """
    to_parse = sum(1 for _, cached in items if cached is None)
    return workers if to_parse >= MIN_POOL_RUNS else 1


def encode(records: list[dict[str, Any]]) -> bytes:
    return json.dumps(records, sort_keys=True, separators=(",", ":")).encode()


def read_memo(path: Path) -> dict[str, dict[str, Any]]:
    """A previous batch's records by run hash; an unreadable memo is an empty one."""
    try:
        records = json.loads(path.read_bytes())
        return {r["hash"]: r for r in records if isinstance(r, dict) and "hash" in r}
    except (OSError, ValueError, TypeError):
        return {}


def read_extractions(paths: Iterable[Path]) -> dict[str, dict[str, Any]]:
    """The batches' records by run hash; equal class lists are one shared list.

    Every run of a campaign names the same classes in every context: 2,500 runs held
    37,500 copies of five names (3 MB of an aggregation's peak). Nothing modifies a
    record's class list (realignment builds a new one). What only the memo needs (the
    files a record was parsed from, its inputs' digest) is dropped: 2,500 runs' file
    entries held ~4 MB.
    """
    records: dict[str, dict[str, Any]] = {}
    shared: dict[tuple[str, ...], list[str]] = {}
    with gc_paused():
        for path in paths:
            for record in json.loads(Path(path).read_bytes()):
                for context in record.get("contexts", {}).values():
                    names = context.get("classes")
                    if isinstance(names, list):
                        context["classes"] = shared.setdefault(tuple(names), names)
                record.pop("files", None)
                record.pop("digest", None)
                records[record["hash"]] = record
    return records
