"""What each Snakemake rule calls: one function per rule, from paths to files.

This is the only module that joins the stages (plan -> summarise -> render) and
does their I/O; rules only wire files together. Each function takes
``log=<the rule's log file>`` (see :func:`core.logs.logged_job`), writes every
file atomically (temporary sibling, then rename) and depends on nothing but its
inputs, so ``--forceall`` rebuilds are byte-identical.
"""

from __future__ import annotations

import csv
import io
import json
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .core import values as hv
from .core.child import run_module
from .core.errors import StrictError, first_of
from .core.files import write_bytes, write_text
from .core.logs import logged_job
from .core.model import RunInfo
from .core.workers import close_pools
from .plan.batches import extractions_pending
from .plan.campaigns import read_snapshot
from .plan.grid import campaign_grid
from .summarise import across, ranking, stats, tcbench
from .summarise import campaign as agg
from .summarise.extract import encode, extract_batch, read_extractions, read_memo
from .summarise.memo import StatsMemo
from .summarise.provenance import comparison_provenance, provenance


def memo_path(output: Path) -> Path:
    """Where a batch keeps its previous records (Snakemake deletes outputs before a job)."""
    return output.parent.parent / "extract-memo" / output.name


def stats_memo_path(work_file: Path | str) -> Path:
    """Where a job keeps its statistics for the next build: beside its work file, undeclared
    (Snakemake deletes a job's outputs before it runs)."""
    return Path(work_file).with_name("stats-memo.pkl")


def read_stats_memo(work_file: Path | str) -> StatsMemo:
    """The statistics the job's previous run kept (:mod:`summarise.memo`); empty without."""
    try:
        data = stats_memo_path(work_file).read_bytes()
    except OSError:
        data = None
    return StatsMemo.decode(data)


def _csv(frame: Any) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def _json(data: Any, **kwargs: Any) -> str:
    return json.dumps(hv.plain(data), sort_keys=True, **kwargs)


@logged_job
def extract(
    manifest: Path | str,
    output: Path | str,
    workers: int = 1,
    batches: Sequence[tuple[str, str]] = (),
) -> str:
    """Rule ``extract``: parse the artifact CSVs of a batch of runs into one JSON file.

    The batch's runs and contexts come from its manifest (see
    :func:`plan.batches.batch_manifest`). Runs whose files the manifest lists as
    they were at the batch's last extraction (or whose bytes are unchanged) are
    taken from its memo, so one new or edited run costs one run's reading and
    parsing. ``batches`` (the build's every batch, this one included): when none is
    left to extract, the worker processes end now.
    """
    batch = json.loads(Path(manifest).read_bytes())
    artifacts_dir, hashes, contexts = batch["artifacts"], list(batch["runs"]), batch["contexts"]
    output = Path(output)
    memo = read_memo(memo_path(output))
    records = extract_batch(Path(artifacts_dir), hashes, contexts, memo, workers, batch["runs"])
    data = encode(records)
    write_bytes(output, data)
    write_bytes(memo_path(output), data)
    if batches and not extractions_pending(batches):
        close_pools()
    problems = sum(
        1 for r in records for c in r["contexts"].values() if "problem" in c
    ) + sum(1 for r in records if "folder_problem" in r)
    return f"extracted {len(records)} runs x {len(contexts)} contexts; {problems} problems"


@logged_job
def problems(problems_json: Path | str, output: Path | str, strict: bool = False) -> str:
    """Rule ``problems``: the repository's problems that belong to no campaign, as CSV."""
    found = json.loads(Path(problems_json).read_bytes())
    if strict and found:
        raise StrictError(first_of([f"{p['path']}: {p['problem']}" for p in found]))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["hash", "path", "problem"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(found)
    write_text(output, buffer.getvalue())
    return f"{len(found)} repository problems"


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
    write_text(summary_path, _csv(tcbench.tcbench_split(summary, key, value)))
    subset = frame[frame[key].astype(str) == value].reset_index(drop=True)
    buffer = io.BytesIO()
    subset.to_parquet(buffer)
    write_bytes(runsinfo_path, buffer.getvalue())
    return f"{key}={value}: {len(subset)} rows (run x context)"


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
    write_text(out_dir / "runs.csv", _csv(agg.runs_table(snapshot, rows)))
    write_text(out_dir / "metrics.csv", _csv(metrics))
    write_text(out_dir / "per_class.csv", _csv(per_class))
    write_text(out_dir / "confusion_matrices.csv", _csv(agg.confusion_table(confusions, keys)))
    compare = ranking.CompareSettings.from_config(config["compare"])
    memo = read_stats_memo(work_file)
    ranked = ranking.rank_campaign(snapshot, rows, metrics, compare, memo)
    write_bytes(stats_memo_path(work_file), memo.encode())
    for name, table in ranking.ranking_tables(ranked, keys).items():
        write_text(out_dir / name, _csv(table))

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
    write_text(work_file, _json(view, default=str))
    card = campaign_card(view, rows, grid.by_status, len(grid.missing))
    # the view's record dicts and the run objects are the job's largest: gone before the
    # long table is built (2,500 runs: the job's peak was all of them at once)
    del view, runs, per_class, confusions
    frame = tcbench.long_frame(snapshot, rows)
    tables = {"frame": frame, "summary": tcbench.tcbench_summary(snapshot, frame)}
    write_bytes(Path(work_file).with_name("tcbench.pkl"), pickle.dumps(tables, protocol=5))
    del frame, tables
    write_text(Path(work_file).with_name("card.json"), _json(card, indent=1, default=str))
    record = provenance(snapshot, rows, config, root, Path(snapshot_path))
    write_text(out_dir / "provenance.json", _json(record, indent=1))
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
def render(work_file: Path | str, out_dir: Path | str) -> str:
    """Rule ``render``: report.html, report.md, LaTeX tables and SVG figures."""
    return _render("campaign", work_file, out_dir)


def _render(kind: str, work_file: Path | str, out_dir: Path | str) -> str:
    """Render a view (the JSON an aggregation or comparison wrote) into ``out_dir``.

    In a child process (``python -m tcsummary.render``, :func:`render.report.render_view`):
    rendering needs no pandas, so it starts in ~0.1 s and runs on another core than the
    in-process jobs. One new run among 1,000: 4.1-4.3 -> 3.7 s.
    """
    figures = run_module("tcsummary.render", kind, str(work_file), str(out_dir)).strip()
    return f"rendered {Path(out_dir) / 'report.html'} with {figures} figures"


@logged_job
def compare(
    values_paths: Sequence[Path | str],
    out_dir: Path | str,
    work_file: Path | str,
    settings: dict[str, Any],
    config: dict[str, Any],
) -> str:
    """Rule ``compare``: a named comparison's tables, provenance and what its report shows.

    ``settings`` is :meth:`plan.comparisons.ComparisonPlan.settings` (sources in
    the order of ``values_paths``, each source's ``CampaignPlan.values``).
    """
    out_dir = Path(out_dir)
    # one source in memory at a time: each is cut to what the comparison uses, then dropped
    found = [
        across.source_runs(source, read_snapshot(path), settings["metrics"])
        for source, path in zip(settings["sources"], values_paths, strict=True)
    ]
    options = ranking.CompareSettings.from_config(config["compare"])
    memo = read_stats_memo(work_file)
    result = across.compare_sources(settings, found, options, memo)
    write_bytes(stats_memo_path(work_file), memo.encode())
    for name, table in across.cross_tables(result).items():
        write_text(out_dir / name, _csv(table))
    view = {
        "name": settings["name"],
        "settings": settings,
        "axes": result.axes.__dict__,
        "sources": result.sources,
        "answers": result.answers,
        "diagrams": result.ranking.diagrams,
        "tests": result.ranking.tests,
        "by_source": result.by_source,
        "side_by_side": result.side_by_side,
        "names": options.names,
        **options.view(settings["metrics"]),
    }
    write_text(work_file, _json(view, default=str))
    record = comparison_provenance(settings, found, config)
    write_text(out_dir / "provenance.json", _json(record, indent=1))
    runs = sum(s["runs"] for s in result.sources)
    return f"{settings['name']}: {len(found)} sources, {runs} runs; {memo.summary()}"


@logged_job
def render_comparison(work_file: Path | str, out_dir: Path | str) -> str:
    """Rule ``render_comparison``: the comparison's report.html, report.md and figures."""
    return _render("comparison", work_file, out_dir)


@logged_job
def index(
    card_paths: Sequence[Path | str],
    problems_json: Path | str,
    out_dir: Path | str,
    repository: dict[str, Any],
    comparisons: Sequence[dict[str, str]] = (),
) -> str:
    """Rule ``index``: the output folder's index.html and index.md, one line per campaign."""
    from .render.report import render_index

    cards = [json.loads(Path(p).read_bytes()) for p in card_paths]
    problems = json.loads(Path(problems_json).read_bytes())
    render_index(cards, problems, repository, list(comparisons), Path(out_dir))
    return f"index of {len(cards)} campaigns"


@logged_job
def top_index(
    card_paths: Sequence[Path | str],
    out_dir: Path | str,
    repositories: Sequence[dict[str, Any]],
    comparisons: Sequence[dict[str, str]] = (),
) -> str:
    """Rule ``top_index``: index.html and index.md of an output holding several repositories.

    ``repositories``: name, ``folder`` (relative to ``out_dir``), roots and the paths of
    its campaigns' cards (among ``card_paths``, the rule's input) of each.
    """
    from .render.report import render_top_index

    cards = {str(p): json.loads(Path(p).read_bytes()) for p in card_paths}
    shown = [
        {**repository, "cards": [cards[str(p)] for p in repository["cards"]]}
        for repository in repositories
    ]
    render_top_index(shown, list(comparisons), Path(out_dir))
    return f"index of {len(shown)} repositories"
