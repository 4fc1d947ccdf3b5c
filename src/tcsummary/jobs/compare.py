"""Rules ``compare`` and ``render_comparison`` (compare.smk): a named comparison's tables,
view and report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.files import write_bytes, write_text
from ..core.logs import logged_job
from ..plan.campaigns import read_snapshot
from ..summarise import across, ranking
from ..summarise.provenance import comparison_provenance
from .common import csv_text, json_text, read_stats_memo, stats_memo_path
from .render import render_in_child


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
        write_text(out_dir / name, csv_text(table))
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
    write_text(work_file, json_text(view, default=str))
    record = comparison_provenance(settings, found, config)
    write_text(out_dir / "provenance.json", json_text(record, indent=1))
    runs = sum(s["runs"] for s in result.sources)
    return f"{settings['name']}: {len(found)} sources, {runs} runs; {memo.summary()}"


@logged_job
def render_comparison(work_file: Path | str, out_dir: Path | str) -> str:
    """Rule ``render_comparison``: the comparison's report.html, report.md and figures."""
    return render_in_child("comparison", work_file, out_dir)
