"""Per-run extraction: a run's class reports and confusion matrices as plain data.

This is the only step that reads artifact CSVs. Its output (one JSON file per
batch of runs) is what aggregation reads, so an edited CSV re-runs the
extraction of its batch and the aggregation of its campaign, nothing else.
Problems are recorded per (run, context), never raised: one broken file excludes
that context of that run, not the build.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .artifacts import (
    CLASS_REPORT_SUFFIX,
    CONF_MATRIX_SUFFIX,
    check_context,
    read_params,
)
from .atomic import write_bytes
from .errors import ArtifactFormatError


def artifact_files(folder: Path, contexts: Iterable[str]) -> list[Path]:
    """The files of a run that extraction reads and that exist (they are the job's inputs)."""
    try:
        names = {entry.name for entry in folder.iterdir()}
    except OSError:
        return []
    wanted = ["params.yml"]
    for context in contexts:
        wanted += [f"{context}{CLASS_REPORT_SUFFIX}", f"{context}{CONF_MATRIX_SUFFIX}"]
    return [folder / name for name in wanted if name in names]


def extract_context(folder: Path, context: str) -> dict[str, Any]:
    """One context of one run: per-class scores, support and matrix, or the problem."""
    report_name = f"{context}{CLASS_REPORT_SUFFIX}"
    matrix_name = f"{context}{CONF_MATRIX_SUFFIX}"
    missing = [n for n in (report_name, matrix_name) if not (folder / n).is_file()]
    if missing:
        verb = "are" if len(missing) > 1 else "is"
        return {"problem": f"{' and '.join(missing)} {verb} missing"}
    try:
        report, matrix = check_context(folder, context)
    except ArtifactFormatError as exc:
        return {"problem": f"{exc.path.name}: {exc.problem}"}
    return {
        "classes": list(report.classes),
        "precision": list(report.precision),
        "recall": list(report.recall),
        "f1": list(report.f1),
        "support": list(report.support),
        "accuracy": report.accuracy,
        "matrix": [list(row) for row in matrix.counts],
    }


def extract_run(folder: Path, run_hash: str, contexts: Sequence[str]) -> dict[str, Any]:
    """Everything aggregation needs from one artifact folder."""
    record: dict[str, Any] = {"hash": run_hash, "warnings": [], "contexts": {}, "sha256": {}}
    if not folder.is_dir():
        record["folder_problem"] = "no artifact folder"
        return record
    for path in artifact_files(folder, contexts):
        with contextlib.suppress(OSError):  # the parsers below say what is wrong with it
            record["sha256"][path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    params = folder / "params.yml"
    if not params.exists():
        record["warnings"].append("params.yml is missing")
    else:
        try:
            read_params(params)
        except ArtifactFormatError as exc:
            record["warnings"].append(f"params.yml: {exc.problem}")
    for context in contexts:
        record["contexts"][context] = extract_context(folder, context)
    return record


def extract_batch(
    artifacts_dir: Path, hashes: Sequence[str], contexts: Sequence[str]
) -> list[dict[str, Any]]:
    return [extract_run(artifacts_dir / h, h, contexts) for h in sorted(hashes)]


def write_extraction(path: Path, records: list[dict[str, Any]]) -> None:
    write_bytes(path, json.dumps(records, sort_keys=True, separators=(",", ":")).encode())


def read_extractions(paths: Iterable[Path]) -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    for path in paths:
        for record in json.loads(Path(path).read_bytes()):
            records[record["hash"]] = record
    return records
