"""The workflow's stages as functions of paths: what each Snakemake rule calls.

Rules only wire files together; each calls one function here. Every file is
written atomically (temporary sibling, then rename), and nothing depends on the
clock, so ``--forceall`` rebuilds are byte-identical.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from . import aggregate as agg
from . import stats
from .atomic import write_bytes, write_text
from .errors import TcsummaryError
from .extract import encode, extract_batch, read_extractions, read_memo
from .model import RunInfo
from .plan import read_snapshot
from .tables import campaign_grid


class StrictError(TcsummaryError):
    """``strict=true`` and something was excluded."""


PACKAGES = ("tcsummary", "pandas", "numpy", "pyarrow", "scipy", "jinja2", "pyyaml", "aimrocks")


def memo_path(output: Path) -> Path:
    """Where a batch keeps its previous records (Snakemake deletes outputs before a job)."""
    return output.parent.parent / "extract-memo" / output.name


def run_extraction(manifest: Path | str, output: Path | str, workers: int = 1) -> str:
    """Rule ``extract``: parse the artifact CSVs of a batch of runs into one JSON file.

    The batch's runs and contexts come from its manifest (see
    :func:`plan.batch_manifest`). Runs whose input bytes are unchanged since the
    last extraction of the batch are taken from its memo, so one new or edited
    run costs one run's parsing.
    """
    batch = json.loads(Path(manifest).read_bytes())
    artifacts_dir, hashes, contexts = batch["artifacts"], list(batch["runs"]), batch["contexts"]
    output = Path(output)
    memo = read_memo(memo_path(output))
    records = extract_batch(Path(artifacts_dir), hashes, contexts, memo, workers)
    data = encode(records)
    write_bytes(output, data)
    write_bytes(memo_path(output), data)
    problems = sum(
        1 for r in records for c in r["contexts"].values() if "problem" in c
    ) + sum(1 for r in records if "folder_problem" in r)
    return f"extracted {len(records)} runs x {len(contexts)} contexts; {problems} problems"


def _csv(frame: Any) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def _clean(value: Any) -> Any:
    """JSON has no NaN: write null (the renderers show it as a dash)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def package_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def provenance(
    snapshot: dict[str, Any],
    rows: Sequence[agg.RunRow],
    config: dict[str, Any],
    root: Path,
    snapshot_path: Path,
) -> dict[str, Any]:
    """Versions, effective settings, runs used and a checksum of every input file.

    Artifact checksums were taken by the extraction when it read the files; the
    Aim side is covered by the checksum of the campaign snapshot it was read into.
    """
    checksums = {}
    for row in rows:
        for name, digest in sorted((row.extraction or {}).get("sha256", {}).items()):
            checksums[f"artifacts/{row.hash}/{name}"] = digest
    return {
        "aim_snapshot_sha256": sha256_file(snapshot_path),
        "tool": "tcsummary",
        "versions": package_versions(),
        "repository": str(root),
        "campaign": snapshot["campaign"],
        "config": config,
        "settings": snapshot["settings"],
        "runs_used": sorted(r.hash for r in rows if r.included),
        "runs_excluded": [
            {"hash": r.hash, "reason": r.reason} for r in rows if not r.included
        ],
        "input_checksums": checksums,
    }


def _first_of(found: Sequence[str], hint: str = "") -> str:
    """The first problem, and how many more there are."""
    more = f" (and {len(found) - 1} more{hint})" if len(found) > 1 else ""
    return f"{found[0]}{more}"


def check_strict(campaign: str, rows: Sequence[agg.RunRow]) -> None:
    """Raise on the first exclusions, naming how many there are."""
    found = [f"run {r.hash} excluded: {r.reason}" for r in rows if not r.included]
    found += [
        f"run {r.hash}, {context}: {problem}"
        for r in rows if r.included
        for context, problem in sorted(r.context_problems.items())
    ]
    if found:
        raise StrictError(f"campaign {campaign}: {_first_of(found, '; runs.csv lists them')}")


def run_problems(problems_json: Path | str, output: Path | str, strict: bool = False) -> str:
    """Rule ``problems``: the repository's problems that belong to no campaign, as CSV."""
    problems = json.loads(Path(problems_json).read_bytes())
    if strict and problems:
        raise StrictError(_first_of([f"{p['path']}: {p['problem']}" for p in problems]))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["hash", "path", "problem"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(problems)
    write_text(output, buffer.getvalue())
    return f"{len(problems)} repository problems"


def run_tcbench_files(
    snapshot_path: Path | str,
    key: str,
    value: str,
    summary_path: Path | str,
    runsinfo_path: Path | str,
) -> str:
    """Rule ``tcbench_files``: tcbench's summary CSV and runsinfo parquet of one split value.

    Same names, columns, order and statistics as ``tcbench aimrepo report``, over
    the campaign's finished runs, so existing notebooks keep reading them.
    """
    snapshot = read_snapshot(snapshot_path)
    rows = agg.classify_runs(snapshot, {})
    frame = agg.long_frame(snapshot, rows)
    summary = agg.tcbench_summary(snapshot, frame)
    write_text(summary_path, _csv(agg.tcbench_split(summary, key, value)))
    subset = frame[frame[key].astype(str) == value].reset_index(drop=True)
    buffer = io.BytesIO()
    subset.to_parquet(buffer)
    write_bytes(runsinfo_path, buffer.getvalue())
    return f"{key}={value}: {len(subset)} rows (run x context)"


def run_aggregation(
    snapshot_path: Path | str,
    extraction_paths: Sequence[Path | str],
    out_dir: Path | str,
    work_file: Path | str,
    root: Path | str,
    config: dict[str, Any],
    tcbench_files: Sequence[str] = (),
    strict: bool = False,
) -> str:
    """Rule ``aggregate``: the tables of one campaign, its provenance, and what the report shows.

    With ``strict``, any excluded run or context fails the job instead.
    """
    out_dir, root = Path(out_dir), Path(root)
    snapshot = read_snapshot(snapshot_path)
    extractions = read_extractions(Path(p) for p in extraction_paths)
    rows = agg.classify_runs(snapshot, extractions)
    if strict:
        check_strict(snapshot["campaign"], rows)
    settings = snapshot["settings"]
    keys = list(settings["groupby"])

    metrics = agg.metrics_table(snapshot, rows)
    per_class = agg.per_class_table(snapshot, rows)
    confusions = agg.confusion_summaries(snapshot, rows)
    write_text(out_dir / "runs.csv", _csv(agg.runs_table(snapshot, rows)))
    write_text(out_dir / "metrics.csv", _csv(metrics))
    write_text(out_dir / "per_class.csv", _csv(per_class))
    write_text(out_dir / "confusion_matrices.csv", _csv(agg.confusion_table(confusions, keys)))

    runs = [RunInfo.from_record(r) for r in snapshot["runs"]]
    grid = campaign_grid(snapshot["campaign"], runs)
    durations = [r.duration for r in rows if r.included and r.duration is not None]
    view = {
        "campaign": snapshot["campaign"],
        "settings": settings,
        "grid": {
            **{k: v for k, v in grid.as_dict().items() if k != "grid"},
            "axes": grid.axes,
            "cells": grid.cells,
            "describe": grid.describe(),
        },
        "duration": stats.describe(durations).__dict__,
        "metrics": metrics.to_dict(orient="records"),
        "per_class": per_class.to_dict(orient="records"),
        "confusions": [c.__dict__ for c in confusions],
        "excluded": [
            {"hash": r.hash, "status": r.record["status"], "reason": r.reason}
            for r in rows if not r.included
        ],
        "partial": [
            {"hash": r.hash, "problems": sorted(r.context_problems.items())}
            for r in rows if r.included and r.context_problems
        ],
        "warnings": [
            {"hash": r.hash, "warnings": r.extraction.get("warnings", [])}
            for r in rows if r.extraction and r.extraction.get("warnings")
        ],
        "tcbench_files": list(tcbench_files),
    }
    write_text(work_file, json.dumps(_clean(view), sort_keys=True, default=str))
    record = provenance(snapshot, rows, config, root, Path(snapshot_path))
    write_text(out_dir / "provenance.json", json.dumps(_clean(record), indent=1, sort_keys=True))
    used = sum(1 for r in rows if r.included)
    return f"{snapshot['campaign']}: {used} runs used, {len(rows) - used} excluded"


def run_rendering(work_file: Path | str, out_dir: Path | str) -> str:
    """Rule ``render``: report.html, report.md, LaTeX tables and SVG figures."""
    from .render import render_campaign

    view = json.loads(Path(work_file).read_bytes())
    figures = render_campaign(view, Path(out_dir))
    return f"rendered {Path(out_dir) / 'report.html'} with {figures} figures"
