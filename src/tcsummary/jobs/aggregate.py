"""Rules ``aggregate`` and ``tcbench_files`` (aggregate.smk): one campaign's tables and view."""

from __future__ import annotations

import io
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.files import write_bytes, write_text
from ..core.logs import logged_job
from ..core.model import RunInfo
from ..plan.campaigns import read_snapshot
from ..plan.grid import campaign_grid
from ..summarise import campaign as agg
from ..summarise import ranking, stats, tcbench
from ..summarise.extract import read_extractions
from ..summarise.provenance import provenance
from .common import csv_text, json_text, read_stats_memo, stats_memo_path


@logged_job
def aggregate(
    snapshot_path: Path | str,
    extraction_paths: Sequence[Path | str],
    out_dir: Path | str,
    work_file: Path | str,
    root: str | list[str],
    config: dict[str, Any],
    tcbench_files: Sequence[str] = (),
    strict: bool = False,
) -> str:
    """Rule ``aggregate``: the tables of one campaign, its provenance, and what the report shows.

    With ``strict``, any excluded run or context fails the job instead.
    """
    out_dir = Path(out_dir)
    snapshot = read_snapshot(snapshot_path)
    extractions = read_extractions(Path(p) for p in extraction_paths)
    rows = agg.classify_runs(snapshot, extractions)
    if strict:
        agg.check_strict(snapshot["campaign"], rows)
    settings = snapshot["settings"]
    keys = list(settings["groupby"])

    metrics = agg.metrics_table(snapshot, rows)
    per_class = agg.per_class_table(snapshot, rows)
    confusions = agg.confusion_summaries(snapshot, rows)
    write_text(out_dir / "runs.csv", csv_text(agg.runs_table(snapshot, rows)))
    write_text(out_dir / "metrics.csv", csv_text(metrics))
    write_text(out_dir / "per_class.csv", csv_text(per_class))
    write_text(out_dir / "confusion_matrices.csv", csv_text(agg.confusion_table(confusions, keys)))
    compare = ranking.CompareSettings.from_config(config["compare"])
    memo = read_stats_memo(work_file)
    ranked = ranking.rank_campaign(snapshot, rows, metrics, compare, memo)
    write_bytes(stats_memo_path(work_file), memo.encode())
    for name, table in ranking.ranking_tables(ranked, keys).items():
        write_text(out_dir / name, csv_text(table))

    runs = [RunInfo.from_record(r, metrics=False) for r in snapshot["runs"]]  # for the grid
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
        "warnings": [{"hash": r.hash, "warnings": r.warnings} for r in rows if r.warnings],
        "tcbench_files": list(tcbench_files),
        "answers": ranked.answers,
        "paper_tables": ranked.tables,
        "diagrams": ranked.diagrams,
        "blocks": ranked.blocks,
        "variance": ranked.variance,
        **compare.view(settings["metrics"]),
    }
    write_text(work_file, json_text(view, default=str))
    card = campaign_card(view, rows, grid.by_status, len(grid.missing))
    # the view's record dicts and the run objects are the job's largest: gone before the
    # long table is built (2,500 runs: the job's peak was all of them at once)
    del view, runs, per_class, confusions
    frame = tcbench.long_frame(snapshot, rows)
    tables = {"frame": frame, "summary": tcbench.tcbench_summary(snapshot, frame)}
    write_bytes(Path(work_file).with_name("tcbench.pkl"), pickle.dumps(tables, protocol=5))
    del frame, tables
    write_text(Path(work_file).with_name("card.json"), json_text(card, indent=1, default=str))
    record = provenance(snapshot, rows, config, root, Path(snapshot_path))
    write_text(out_dir / "provenance.json", json_text(record, indent=1))
    used = sum(1 for r in rows if r.included)
    return (f"{snapshot['campaign']}: {used} runs used, {len(rows) - used} excluded; "
            f"{memo.summary()}")


def campaign_card(
    view: dict[str, Any], rows: Sequence[agg.RunRow], by_status: dict[str, int], missing: int
) -> dict[str, Any]:
    """The campaign's line of the output folder's index: small, so the index reads it fast."""
    ends = [r.record["end_time"] for r in rows if r.record.get("end_time") is not None]
    return {
        "campaign": view["campaign"],
        "runs": len(rows),
        "used": sum(1 for r in rows if r.included),
        "by_status": by_status,
        "missing_cells": missing,
        "grid": view["grid"]["describe"],
        "last_end": max(ends) if ends else None,
        "answers": view["answers"],
    }


@logged_job
def tcbench_files(
    tables_path: Path | str,
    key: str,
    value: str,
    summary_path: Path | str,
    runsinfo_path: Path | str,
) -> str:
    """Rule ``tcbench_files``: tcbench's summary CSV and runsinfo parquet of one split value.

    Same names, columns, order and statistics as ``tcbench aimrepo report``, over
    the campaign's finished runs, so existing notebooks keep reading them. The
    campaign's long table and summary come from its aggregation (``tcbench.pkl``),
    computed once for all its split values.
    """
    with open(tables_path, "rb") as handle:
        tables = pickle.load(handle)  # noqa: S301 - our own intermediate file
    frame, summary = tables["frame"], tables["summary"]
    write_text(summary_path, csv_text(tcbench.tcbench_split(summary, key, value)))
    subset = frame[frame[key].astype(str) == value].reset_index(drop=True)
    buffer = io.BytesIO()
    subset.to_parquet(buffer)
    write_bytes(runsinfo_path, buffer.getvalue())
    return f"{key}={value}: {len(subset)} rows (run x context)"
