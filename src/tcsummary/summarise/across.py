"""Comparisons across campaigns and repositories: one factor over pooled sources.

What the tcbench paper's notebooks do for Figures 4, 5 and 9: pool the runs of
several campaigns (the *sources*, e.g. one dataset each), pair them by blocks
that may include the source itself ("blocks are (dataset, split, seed)"), and
compare the factor's levels with the same statistics as inside a campaign
(:func:`ranking.compare_factor`: mean ranks, Friedman, Nemenyi CD, Holm-adjusted
Wilcoxon). Added here: the average rank of each level per source (Figure 5)
and the side-by-side table of configurations x sources (mean +- ci95).

An hparam constant inside every source describes the source (its dataset, its
dropout), not a configuration: it is neither a factor nor a stratum. Inclusion
follows the campaign's rule (finished runs; metrics from Aim).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..core import values as hv
from ..core.model import CAMPAIGN_KEYS, is_replicate_key
from ..plan.comparisons import PSEUDO_KEYS, REPOSITORY, SOURCE
from ..plan.grid import varying_keys
from . import comparisons as cmp
from . import stats
from .campaign import exclusion_reason
from .memo import StatsMemo, floats, memo_key
from .ranking import (
    CampaignRanking,
    CompareSettings,
    Strata,
    compare_factor,
    labelled,
    object_frame,
    table_frame,
)

BY_SOURCE_COLUMNS = ("source", *cmp.RANK_COLUMNS)


@dataclass
class Axes:
    """How a comparison's hparams are used: compared, paired by, or splitting the pool."""

    factors: list[str]
    blocks: list[str]
    #: hparams that vary inside some source and are neither a factor nor a block.
    configuration: list[str]


@dataclass
class CrossComparison:
    """Everything a comparison's files and report need."""

    axes: Axes
    sources: list[dict[str, Any]]
    ranking: CampaignRanking = field(default_factory=CampaignRanking)
    by_source: list[dict[str, Any]] = field(default_factory=list)
    side_by_side: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SourceRuns:
    """What a comparison keeps of one source's campaign (its snapshot's values file).

    ``runs``: the included runs with only their hash, hparams and ``values``, their finite
    compared metrics by compared context (``{context: {metric: value}}``); ``hashes``:
    every run of the campaign (sorted, for provenance); ``snapshot_sha256``: the snapshot's
    digest (provenance). Sources are read one at a time and cut to this.
    """

    runs: list[dict[str, Any]]
    hashes: list[str]
    snapshot_sha256: str


def source_runs(
    source: dict[str, Any], document: dict[str, Any], metrics: Sequence[str]
) -> SourceRuns:
    """A source's :class:`SourceRuns` from its campaign's values file (``plan.campaigns.
    values_document``); ``source``: one of the comparison's settings' sources."""
    contexts = set(source["contexts"].values())
    wanted = set(metrics)
    picked = [(i, metric, context) for i, (metric, context) in enumerate(document["columns"])
              if metric in wanted and context in contexts]
    runs = []
    for run_hash, status, hparams, row in document["runs"]:
        if exclusion_reason(status):
            continue
        values: dict[str, dict[str, float]] = {}
        for i, metric, context in picked:
            if row[i] is not None:
                number = float(row[i])
                if math.isfinite(number):
                    values.setdefault(context, {})[metric] = number
        runs.append({"hash": run_hash, "hparams": hparams, "values": values})
    hashes = sorted(run[0] for run in document["runs"])
    return SourceRuns(runs, hashes, document["snapshot_sha256"])


def choose_axes(settings: dict[str, Any], per_source: Sequence[list[dict[str, Any]]]) -> Axes:
    """Factors, blocks and configuration keys: configured, else from what varies inside sources."""
    inside: set[str] = set()
    for records in per_source:
        inside |= set(varying_keys([r["hparams"] for r in records], exclude=CAMPAIGN_KEYS))
    replicate = sorted(k for k in inside if is_replicate_key(k))
    configuration = sorted(k for k in inside if not is_replicate_key(k))
    factor = settings["factor"]
    factors = [factor] if factor else list(configuration)
    if settings["blocks"] is not None:
        blocks = [b for b in settings["blocks"] if b not in factors]
    else:
        pooled = [] if SOURCE in factors or len(per_source) < 2 else [SOURCE]
        blocks = [*pooled, *[k for k in replicate if k not in factors]]
    configuration = [k for k in configuration if k not in blocks]
    if factor and factor not in configuration:
        configuration = [factor, *configuration]
    return Axes(factors=factors, blocks=blocks, configuration=configuration)


def pooled_keys(
    settings: dict[str, Any], per_source: Sequence[list[dict[str, Any]]], columns: Sequence[str]
) -> list[dict[str, Any]]:
    """One record per included run of every source: source, repository and ``columns``.

    Values show as tables show them across the pool (:func:`core.values.column`:
    ``1`` in one campaign and ``"1"`` in another stay two values). The same for every
    context: :func:`pooled_frame` adds a context's metrics.
    """
    records = []
    for source, runs in zip(settings["sources"], per_source, strict=True):
        for record in runs:
            row = {SOURCE: source["label"], REPOSITORY: source["repository"]}
            for name in columns:
                if name not in PSEUDO_KEYS:
                    row[name] = record["hparams"].get(name)
            records.append(row)
    for name in columns:
        if name not in PSEUDO_KEYS and records:
            for record, value in zip(records, hv.column([r[name] for r in records]), strict=True):
                record[name] = value
    return records


def pooled_frame(
    settings: dict[str, Any],
    per_source: Sequence[list[dict[str, Any]]],
    columns: Sequence[str],
    context: str,
    keyed: Sequence[dict[str, Any]],
) -> pd.DataFrame:
    """One row per included run of every source: source, repository, ``columns``, metrics.

    ``keyed``: :func:`pooled_keys` of the same runs (the same for every context: the
    caller computes them once).
    """
    records = []
    rows = iter(keyed)
    for source, runs in zip(settings["sources"], per_source, strict=True):
        theirs = source["contexts"][context]
        for record in runs:
            metrics = record["values"].get(theirs, {})
            row = dict(next(rows))
            for metric in settings["metrics"]:
                row[metric] = metrics.get(metric, math.nan)
            records.append(row)
    names = [SOURCE, REPOSITORY, *[c for c in columns if c not in PSEUDO_KEYS],
             *settings["metrics"]]
    return object_frame(records, names, settings["metrics"])


def by_source(
    frame: pd.DataFrame, before: Sequence[tuple[str, Strata]] = ()
) -> list[tuple[str, Strata]]:
    """Each source's runs of a pooled frame, in order of appearance, split on demand.

    ``before``: the same of another context's frame (same rows): its groups are reused.
    """
    found = list(frame.groupby(SOURCE, sort=False))
    if before:
        return [(label, groups.rebind(members))
                for (label, members), (_, groups) in zip(found, before, strict=True)]
    return [(label, Strata(members)) for label, members in found]


def ranks_by_source(
    sources: Sequence[tuple[str, Strata]], axes: Axes, factor: str, metric: str, context: str,
    settings: CompareSettings, memo: StatsMemo | None = None,
) -> list[dict[str, Any]]:
    """Mean rank of each level inside each source (the tcbench paper's Figure 5).

    ``sources``: :func:`by_source` of the context's pooled frame (shared by its metrics);
    ``memo``: the previous build's statistics.
    """
    if factor in PSEUDO_KEYS:
        return []
    blocks = [b for b in axes.blocks if b not in PSEUDO_KEYS]
    if not blocks:
        return []
    others = [k for k in axes.configuration if k != factor]
    lower = settings.lower(metric)
    rows = []
    for label, groups in sources:
        for values, stratum in groups(others):
            levels = settings.level_order(factor, groups.levels(stratum, factor))
            if len(levels) < 2:
                continue
            layout = groups.layout(stratum, factor, blocks, levels)
            numbers = cmp.numbers_of(stratum[metric])
            compute = functools.partial(_source_ranks, layout, numbers, lower)
            ranked = compute() if memo is None else memo.get(
                memo_key("source ranks", layout.digest, floats(numbers), repr(lower)), compute)
            head = {"source": label, "metric": metric, "context": context, "factor": factor,
                    "stratum": labelled(others, values)}
            rows += [{**head, "level": level, "mean_rank": rank, "blocks": blocks_used}
                     for level, rank, blocks_used in ranked]
    return rows


def _source_ranks(layout: cmp.BlockLayout, numbers: list[float],
                  lower: bool) -> list[tuple[Any, float, int]]:
    """Each level's mean rank over one source's complete blocks, and their number."""
    filled = cmp.fill_values(layout, numbers)
    means = cmp.level_mean_ranks(filled.values, lower)
    return [(level, float(rank), len(filled.values))
            for level, rank in zip(filled.levels, means, strict=True)]


def configuration_cells(
    groups: Strata, axes: Axes
) -> list[tuple[tuple[Any, ...], list[tuple[str, list[int]]]]]:
    """Each configuration's runs per source (positions in the pooled frame), in table order."""
    keys = [k for k in axes.configuration if k not in PSEUDO_KEYS]
    sources = groups.frame[SOURCE].tolist()
    cells = []
    for values, positions in groups.positions(keys):
        per_source: dict[str, list[int]] = {}
        for position in positions:
            per_source.setdefault(sources[position], []).append(position)
        cells.append((values, list(per_source.items())))
    return cells


def side_by_side(
    frame: pd.DataFrame,
    cells: Sequence[tuple[tuple[Any, ...], list[tuple[str, list[int]]]]],
    axes: Axes,
    metric: str,
    context: str,
) -> list[dict[str, Any]]:
    """Each configuration x source: n, mean and ci95 of ``metric`` (long form).

    ``cells``: :func:`configuration_cells` of ``frame`` (the same for every metric).
    """
    keys = [k for k in axes.configuration if k not in PSEUDO_KEYS]
    column = frame[metric].tolist()
    rows = []
    for values, per_source in cells:
        for label, positions in per_source:
            summary = stats.describe([column[p] for p in positions])
            rows.append({
                "metric": metric, "context": context,
                "configuration": labelled(keys, values),
                **dict(zip(keys, values, strict=True)),
                "source": label, "n": summary.n, "mean": summary.mean, "ci95": summary.ci95,
            })
    return rows


def _answer(ranking: CampaignRanking, metric: str, context: str, factor: str,
            settings: CompareSettings) -> list[dict[str, Any]]:
    """Per stratum: the level with the best mean rank, and which levels it does not beat."""
    answers = []
    for diagram in ranking.diagrams:
        if (diagram["metric"], diagram["context"], diagram["factor"]) != (metric, context, factor):
            continue
        test = next(t for t in ranking.tests if t["metric"] == metric and t["context"] == context
                    and t["factor"] == factor and t["stratum"] == diagram["stratum"])
        ranks = dict((label, rank) for label, rank in diagram["ranks"])
        # the best level as the comparison decided it (ties in mean rank: the better mean)
        best = settings.label(factor, diagram["best"]) if diagram["best"] != "None" else ""
        tied = [settings.label(factor, v) for v in diagram["not_worse"]
                if v != diagram["best"]]
        answer = {
            "metric": metric, "context": context, "factor": factor,
            "stratum": diagram["stratum"], "best": best,
            "mean_rank": ranks.get(best, math.nan),
            "levels": len(ranks), "blocks": diagram["blocks"],
            "note": "; ".join(n for n in (diagram["note"] or "").split("; ")
                              if n and n != cmp.TWO_LEVELS),
            "omnibus": test.get("omnibus"), "omnibus_p": test.get("omnibus_p"),
            "tied": tied,
        }
        answer["verdict"] = level_verdict(answer, diagram, settings.alpha)
        answers.append(answer)
    return answers


def level_verdict(answer: dict[str, Any], diagram: dict[str, Any], alpha: float) -> str:
    """What the tests say of a stratum's levels, in the order a reader asks it.

    The omnibus test first (Friedman, or the one Wilcoxon test of two levels); the pairwise
    tests only when it finds a difference (Demšar's procedure: post-hoc tests after a
    rejected omnibus test; otherwise "no detectable difference" and a list of levels "not
    significantly worse" would contradict each other), and only when the blocks allow a
    pairwise difference to be significant at all.
    """
    p = answer["omnibus_p"]
    if p is None or math.isnan(p):
        return ""
    name = str(answer["omnibus"]).capitalize()
    if p >= alpha:
        return (f"{name} p = {p:.3f}: no detectable difference between the levels (the "
                f"pairwise tests in pairwise.csv are not read without one).")
    text = f"{name} p = {p:.3f}: the levels differ."
    if answer["levels"] <= 2:
        return text
    if not diagram["pairs_can_reject"]:
        return (f"{text} Which ones cannot be told with {answer['blocks']} blocks: the "
                f"Holm-adjusted pairwise tests cannot reach alpha {alpha:g} (smallest "
                f"possible p {diagram['smallest_holm_p']:.3g}).")
    if answer["tied"]:
        return f"{text} Not significantly worse than the best: {', '.join(answer['tied'])}."
    return f"{text} Every other level is significantly worse than the best."


def compare_sources(
    settings: dict[str, Any], found: Sequence[SourceRuns], compare: CompareSettings,
    memo: StatsMemo | None = None,
) -> CrossComparison:
    """The whole comparison: pooled ranks and tests, ranks per source, the side-by-side table.

    ``found``: :func:`source_runs` of each source, in the order of ``settings["sources"]``;
    ``memo``: the previous build's statistics (:mod:`.memo`).
    """
    per_source = [f.runs for f in found]
    axes = choose_axes(settings, per_source)
    sources = [
        {**source, "runs": len(f.runs), "campaign_runs": len(f.hashes)}
        for source, f in zip(settings["sources"], found, strict=True)
    ]
    result = CrossComparison(axes=axes, sources=sources)
    result.ranking.blocks = list(axes.blocks)
    columns = list(dict.fromkeys([*axes.configuration, *axes.blocks, *axes.factors]))
    keyed = pooled_keys(settings, per_source, columns)
    # where runs fall depends on their keys only: split once, reused by every context
    placed: Strata | None = None
    sources_of: list[tuple[str, Strata]] = []
    cells: list[tuple[tuple[Any, ...], list[tuple[str, list[int]]]]] = []
    for context in settings["contexts"]:
        frame = pooled_frame(settings, per_source, columns, context, keyed)
        if frame.empty:
            continue
        if placed is None:
            groups = placed = Strata(frame)
            cells = configuration_cells(groups, axes)
        else:
            groups = placed.rebind(frame)
        sources_of = by_source(frame, sources_of)
        for metric in settings["metrics"]:
            result.side_by_side += side_by_side(frame, cells, axes, metric, context)
            if not axes.blocks:
                continue
            for factor in axes.factors:
                keys = list(dict.fromkeys([factor, *axes.configuration]))
                compare_factor(result.ranking, groups, keys, factor, axes.blocks, metric,
                               context, compare, memo)
                result.by_source += ranks_by_source(sources_of, axes, factor, metric, context,
                                                    compare, memo)
                if metric == settings["metrics"][0]:
                    result.answers += _answer(result.ranking, metric, context, factor, compare)
    return result


def cross_tables(result: CrossComparison) -> dict[str, pd.DataFrame]:
    """ranks.csv, tests.csv, pairwise.csv, ranks_by_source.csv and side_by_side.csv."""
    keys = [k for k in result.axes.configuration if k not in PSEUDO_KEYS]
    return {
        "ranks.csv": table_frame(result.ranking.ranks, cmp.RANK_COLUMNS),
        "tests.csv": table_frame(result.ranking.tests, cmp.TEST_COLUMNS),
        "pairwise.csv": table_frame(result.ranking.pairwise, cmp.PAIRWISE_COLUMNS),
        "ranks_by_source.csv": table_frame(result.by_source, BY_SOURCE_COLUMNS),
        "side_by_side.csv": table_frame(
            result.side_by_side,
            ["metric", "context", "configuration", *keys, "source", "n", "mean", "ci95"],
        ),
    }
