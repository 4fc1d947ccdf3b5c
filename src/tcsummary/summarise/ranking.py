"""Which configuration of a campaign wins, and whether the difference is real.

The campaign-level use of :mod:`summarise.comparisons`: for every metric x
context, every group key as the *factor* and every combination of the other
group keys (the *stratum*), runs are paired by *blocks* (the replicate axes
that vary: ``split_index`` and the seeds, never ``campaign_exp_idx``) and
compared as Demšar does (ranks, Friedman, Nemenyi CD, Holm-adjusted Wilcoxon).
Also here: how much of the spread comes from splits versus seeds, the
paper-shaped tables (levels x the other key, mean +- ci95, best in bold, the
cells not significantly worse than the best marked) and the one-line answer per
context that the report opens with.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..core import values as hv
from ..core.model import CAMPAIGN_KEYS, is_replicate_key
from ..plan.grid import varying_keys
from ..plan.selection import ALL_RUNS, CAMPAIGN_GROUP
from . import comparisons as cmp
from . import stats
from .campaign import RunRow, key_values
from .memo import StatsMemo

CONFIGURATION = "configuration"


@dataclass(frozen=True)
class CompareSettings:
    """The ``compare`` config key, validated by the schema (which holds the defaults)."""

    alpha: float
    lower_is_better: tuple[str, ...] | None
    factors: tuple[str, ...] | None
    blocks: tuple[str, ...] | None
    levels: dict[str, list[Any]]
    names: dict[str, dict[str, str]]

    @classmethod
    def from_config(cls, compare: dict[str, Any]) -> CompareSettings:
        return cls(
            alpha=float(compare["alpha"]),
            lower_is_better=hv.names_of(compare["lower_is_better"]),
            factors=hv.names_of(compare["factors"]),
            blocks=hv.names_of(compare["blocks"]),
            levels={str(k): list(v) for k, v in (compare["levels"] or {}).items()},
            names={
                str(k): {str(a): str(b) for a, b in v.items()}
                for k, v in (compare["names"] or {}).items()
            },
        )

    def lower(self, metric: str) -> bool:
        """Whether smaller is better: the configured metrics, or names containing ``loss``."""
        if self.lower_is_better is not None:
            return metric in self.lower_is_better
        return "loss" in metric

    def view(self, metrics: Sequence[str]) -> dict[str, Any]:
        """What a report view carries of these settings: alpha and each metric's direction."""
        return {"alpha": self.alpha, "lower": {m: self.lower(m) for m in metrics}}

    def level_order(self, key: str, levels: Sequence[Any]) -> list[Any]:
        """Levels in the configured order (matched as text), the rest sorted after them."""
        wanted = [str(v) for v in self.levels.get(key, [])]
        first = [lv for w in wanted for lv in levels if str(lv) == w]
        rest = sorted((lv for lv in levels if lv not in first), key=hv.sort_key)
        return first + rest

    def label(self, key: str, level: Any) -> str:
        """A level's display name (``noaug: No augmentation``), or the level itself."""
        return self.names.get(key, {}).get(str(level), str(level))


def block_keys(
    rows: Sequence[RunRow], groupby: Sequence[str], settings: CompareSettings
) -> list[str]:
    """The grid axes runs are paired by: varying replicate hparams that are not group keys."""
    if settings.blocks is not None:
        return [b for b in settings.blocks if b not in groupby]
    hparams = [r.record["hparams"] for r in rows if r.included]
    return [
        k for k in varying_keys(hparams, exclude=CAMPAIGN_KEYS)
        if is_replicate_key(k) and k not in groupby
    ]


def value_frame(
    snapshot: dict[str, Any],
    rows: Sequence[RunRow],
    keys: Sequence[str],
    blocks: Sequence[str],
    context: str,
    values_of: dict[str, tuple[Any, ...]],
) -> pd.DataFrame:
    """One row per included run: group and block values (as tables show them), the
    configuration's label (its group values) and the metrics of ``context``.

    ``values_of``: :func:`campaign.key_values` of ``keys`` then ``blocks`` (the same for
    every context: the caller computes them once)."""
    columns = [*keys, *blocks]
    records = []
    for row in rows:
        if not row.included:
            continue
        values = values_of[row.hash]
        record = dict(zip(columns, values, strict=True))
        record[CONFIGURATION] = labelled(keys, values[: len(keys)])
        for metric in snapshot["settings"]["metrics"]:
            value = row.metric(metric, context)
            record[metric] = math.nan if value is None else value
        records.append(record)
    names = [*columns, CONFIGURATION, *snapshot["settings"]["metrics"]]
    return object_frame(records, names, snapshot["settings"]["metrics"])


def object_frame(
    records: list[dict[str, Any]], names: Sequence[str], numbers: Sequence[str]
) -> pd.DataFrame:
    """Records as a frame whose key columns stay plain Python objects, metrics as floats.

    pandas 3 stores text as Arrow strings; on the hundreds of small slices a comparison
    takes, converting them back and forth cost more than the statistics.
    """
    data = {
        name: pd.Series([r.get(name) for r in records],
                        dtype=float if name in numbers else object)
        for name in names
    }
    return pd.DataFrame(data, columns=list(names))


def labelled(keys: Sequence[str], values: Sequence[Any]) -> str:
    """``key=value, key=value``: a configuration's label, or a stratum's (empty without keys)."""
    return ", ".join(f"{k}={v}" for k, v in zip(keys, values, strict=True))


@dataclass
class CampaignRanking:
    """Everything the campaign's comparison files and the report's first sections need."""

    ranks: list[dict[str, Any]] = field(default_factory=list)
    tests: list[dict[str, Any]] = field(default_factory=list)
    pairwise: list[dict[str, Any]] = field(default_factory=list)
    variance: list[dict[str, Any]] = field(default_factory=list)
    diagrams: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)


def stratum_positions(
    frame: pd.DataFrame, others: Sequence[str]
) -> list[tuple[tuple[Any, ...], list[int]]]:
    """``frame``'s rows grouped by the values of ``others``: each group's values and row
    positions, sorted by values (one group of every row without keys)."""
    if not others:
        return [((), list(range(len(frame))))]
    found: dict[tuple[str, ...], tuple[tuple[Any, ...], list[int]]] = {}
    columns = [frame[c].tolist() for c in others]
    keys = zip(*(hv.identities(column) for column in columns), strict=True)
    for position, (key, values) in enumerate(zip(keys, zip(*columns, strict=True), strict=True)):
        entry = found.get(key)
        if entry is None:
            entry = found[key] = (values, [])
        entry[1].append(position)
    return sorted(found.values(), key=lambda item: [hv.sort_key(v) for v in item[0]])


class _Placement:
    """What :class:`Strata` learns from key columns only, shared by frames of equal rows."""

    def __init__(self) -> None:
        self.split: dict[tuple[str, ...], list[tuple[tuple[Any, ...], list[int]]]] = {}
        self.levels: dict[tuple[Any, ...], list[Any]] = {}
        self.layouts: dict[tuple[Any, ...], cmp.BlockLayout] = {}


class Strata:
    """:func:`stratum_positions` of one frame, split once per list of keys, as frames.

    Every metric and factor of a context walks the same groups of the same frame
    (a campaign's, or a comparison's pool): splitting it again for each was a fifth
    of a comparison's time. Where runs fall (groups, their levels, their block layouts)
    depends on key columns only: :meth:`rebind` hands it to the next context's frame,
    whose rows and keys are the same and only the metrics differ. The groups are read,
    never modified, by their users.
    """

    def __init__(self, frame: pd.DataFrame, placement: _Placement | None = None) -> None:
        self.frame = frame
        self._placement = placement or _Placement()
        self._groups: dict[tuple[str, ...], list[tuple[tuple[Any, ...], pd.DataFrame]]] = {}
        #: id of a group's frame -> (keys, its number): groups live as long as this object
        self._where: dict[int, tuple[tuple[str, ...], int]] = {}

    def rebind(self, frame: pd.DataFrame) -> Strata:
        """The same groups over ``frame``: the same rows and keys, other metric values."""
        if len(frame) != len(self.frame):
            raise ValueError(f"cannot rebind {len(self.frame)} rows to {len(frame)}")
        return Strata(frame, self._placement)

    def positions(self, keys: Sequence[str]) -> list[tuple[tuple[Any, ...], list[int]]]:
        """The groups of ``keys`` as row positions of the frame (:func:`stratum_positions`)."""
        key = tuple(keys)
        split = self._placement.split.get(key)
        if split is None:
            split = self._placement.split[key] = stratum_positions(self.frame, key)
        return split

    def __call__(self, keys: Sequence[str]) -> list[tuple[tuple[Any, ...], pd.DataFrame]]:
        key = tuple(keys)
        found = self._groups.get(key)
        if found is None:
            found = self._groups[key] = [
                (values, self.frame.take(positions) if key else self.frame)
                for values, positions in self.positions(key)
            ]
            for number, (_, members) in enumerate(found):
                self._where[id(members)] = (key, number)
        return found

    def levels(self, members: pd.DataFrame, factor: str) -> list[Any]:
        """The distinct values of ``factor`` in one of this object's groups (``members``)."""
        key = (*self._where[id(members)], factor)
        found = self._placement.levels.get(key)
        if found is None:
            found = self._placement.levels[key] = hv.distinct(members[factor])
        return found

    def layout(self, members: pd.DataFrame, factor: str, blocks: Sequence[str],
               levels: Sequence[Any]) -> cmp.BlockLayout:
        """:func:`comparisons.block_layout` of one group, kept for every metric and context."""
        key = (*self._where[id(members)], factor, tuple(blocks),
               tuple(hv.identity(v) for v in levels))
        found = self._placement.layouts.get(key)
        if found is None:
            found = self._placement.layouts[key] = cmp.block_layout(members, factor, blocks,
                                                                    levels)
        return found


def _variance(groups: Strata, keys: Sequence[str], blocks: Sequence[str], context: str,
              metrics: Sequence[str], memo: StatsMemo | None = None) -> list[dict[str, Any]]:
    split = "split_index" if "split_index" in blocks else None
    seed = next((b for b in blocks if b.endswith("seed")), None)
    if split is None or seed is None:
        return []
    rows = []
    for values, members in groups(keys):
        layout = cmp.variance_layout(members, split, seed)
        for metric in metrics:
            comp = cmp.variance_components(members, split, seed, metric, layout, memo)
            rows.append({**dict(zip(keys, values, strict=True)), "context": context,
                         "metric": metric, **comp})
    return rows


def pooled_verdict(rows: Sequence[dict[str, Any]]) -> str:
    """One sentence for a context: variance components averaged over its groups.

    Said of all configurations together (the sentence names how many), not of the best one:
    per configuration, three splits and two seeds give estimates too rough to read alone
    (variance.csv has them).
    """
    split = [r["sd_split"] ** 2 for r in rows if not math.isnan(r["sd_split"])]
    seed = [r["sd_seed"] ** 2 for r in rows if not math.isnan(r["sd_seed"])]
    pooled = {
        "sd_split": math.sqrt(stats.mean(split)) if split else math.nan,
        "sd_seed": math.sqrt(stats.mean(seed)) if seed else math.nan,
    }
    verdict = cmp.spread_verdict(pooled)
    return f"over the {len(rows)} configurations, {verdict}" if len(rows) > 1 else verdict


def _answer(frame: pd.DataFrame, metrics_rows: pd.DataFrame, keys: Sequence[str],
            blocks: Sequence[str], metric: str, context: str,
            settings: CompareSettings, memo: StatsMemo | None = None) -> dict[str, Any] | None:
    """The best configuration of a context on ``metric``, and whether it beats the runner-up."""
    table = metrics_rows[(metrics_rows["context"] == context) & (metrics_rows["metric"] == metric)]
    table = table[table["mean"].notna()]
    if table.empty:
        return None
    lower = settings.lower(metric)
    ordered = table.sort_values("mean", ascending=lower, kind="stable")
    best = ordered.iloc[0]
    # nothing varies when tcbench groups by the campaign itself: "campaign_id=..." would
    # only repeat the campaign's own name (or "(no campaign)") as its best configuration
    label = ALL_RUNS if list(keys) == [CAMPAIGN_GROUP] else ", ".join(
        f"{k}={settings.label(k, best[k])}" for k in keys
    )
    answer = {
        "context": context, "metric": metric, "best": label, "mean": best["mean"],
        "ci95": best["ci95"], "n": int(best["n"]), "runner_up": None, "verdict": "",
        "beats": False, "by": "lowest mean" if lower else "highest mean",
    }
    if len(ordered) < 2:
        answer["verdict"] = "the only configuration"
        return answer
    second = ordered.iloc[1]
    answer["runner_up"] = ", ".join(f"{k}={settings.label(k, second[k])}" for k in keys)
    if second["mean"] == best["mean"]:  # the order of the two is the table's, not the data's
        answer["runner_up"] += " (the same mean)"
    answer["runner_up_mean"] = second["mean"]
    if not blocks:
        answer["verdict"] = "runs are not paired (no seed or split axis): no test"
        return answer
    names = {
        labelled(keys, [best[k] for k in keys]),
        labelled(keys, [second[k] for k in keys]),
    }
    pair = frame[frame[CONFIGURATION].isin(names)]
    result = cmp.compare(pair, CONFIGURATION, list(blocks), metric, lower, settings.alpha,
                         memo=memo)
    found = result.pair_records
    if not found or math.isnan(found[0]["wilcoxon_p"]):
        note = found[0]["note"] if found else result.note
        answer["verdict"] = f"too few blocks to decide ({note or 'no paired test'})"
        return answer
    answer.update(runner_up_verdict(found[0], settings.alpha))
    return answer


def runner_up_verdict(row: dict[str, Any], alpha: float) -> dict[str, Any]:
    """The best configuration against the runner-up: one paired Wilcoxon test, unadjusted.

    Zero differences do not count (scipy drops them); when the nonzero ones are too few for
    the test ever to reach alpha, the verdict says so rather than "not significantly worse",
    which would hold whatever the numbers.
    """
    p, pairs, nonzero = row["wilcoxon_p"], int(row["pairs"]), int(row["nonzero"])
    over = f"{pairs} blocks" if nonzero == pairs else f"{pairs} blocks, {nonzero} with a difference"
    smallest = cmp.smallest_wilcoxon_p(nonzero)
    if smallest >= alpha:
        verdict = (f"too few blocks to decide: over {over}, a paired Wilcoxon test cannot "
                   f"reach alpha {alpha:g} (smallest possible p {smallest:.3g}; p = {p:.3g})")
    elif p < alpha:
        verdict = f"significantly worse (paired Wilcoxon p = {p:.3g} over {over})"
    else:
        verdict = f"not significantly worse (paired Wilcoxon p = {p:.3g} over {over})"
    return {"verdict": verdict, "p": p, "beats": bool(p < alpha), "pairs": pairs,
            "nonzero": nonzero}


def rank_campaign(
    snapshot: dict[str, Any],
    rows: Sequence[RunRow],
    metrics_rows: pd.DataFrame,
    settings: CompareSettings,
    memo: StatsMemo | None = None,
) -> CampaignRanking:
    """Comparisons, spread, paper tables and answers of one campaign.

    ``memo``: the previous build's statistics (:mod:`.memo`), for the strata a new run left
    unchanged.
    """
    config = snapshot["settings"]
    keys = list(config["groupby"])
    factors = [k for k in (settings.factors or keys) if k in keys]
    blocks = block_keys(rows, keys, settings)
    result = CampaignRanking(blocks=list(blocks))
    values_of = key_values(rows, [*keys, *blocks], snapshot["campaign"])
    placed: Strata | None = None  # where runs fall: the same in every context
    for context in config["contexts"]:
        frame = value_frame(snapshot, rows, keys, blocks, context, values_of)
        if frame.empty:
            continue
        groups = placed = Strata(frame) if placed is None else placed.rebind(frame)
        result.variance += _variance(groups, keys, blocks, context, config["metrics"], memo)
        primary = config["metrics"][0]
        answer = _answer(frame, metrics_rows, keys, blocks, primary, context, settings, memo)
        if answer is not None:
            context_variance = [
                r for r in result.variance if r["context"] == context and r["metric"] == primary
            ]
            answer["spread"] = pooled_verdict(context_variance) if context_variance else ""
            result.answers.append(answer)
        if not blocks:
            continue
        for metric in config["metrics"]:
            for factor in factors:
                compare_factor(result, groups, keys, factor, blocks, metric, context, settings,
                               memo)
        result.tables += paper_tables(metrics_rows, keys, context, config["metrics"],
                                      result.diagrams, settings)
    return result


def compare_factor(
    result: CampaignRanking,
    groups: Strata,
    keys: Sequence[str],
    factor: str,
    blocks: Sequence[str],
    metric: str,
    context: str,
    settings: CompareSettings,
    memo: StatsMemo | None = None,
) -> None:
    """Compare ``factor``'s levels within every stratum of the other ``keys``; add the rows.

    The one loop behind a campaign's comparisons and those across campaigns:
    ranks, the omnibus test, Holm-adjusted pairs and a CD diagram per stratum.
    ``groups``: the context's frame (:class:`Strata`, shared by its metrics); ``memo``:
    the previous build's statistics.
    """
    lower = settings.lower(metric)
    others = [k for k in keys if k != factor]
    for values, members in groups(others):
        stratum = labelled(others, values)
        levels = settings.level_order(factor, groups.levels(members, factor))
        if len(levels) < 2:
            continue
        comparison = cmp.compare(
            members, factor, list(blocks), metric, lower, settings.alpha, levels=levels,
            layout=groups.layout(members, factor, blocks, levels), memo=memo,
        )
        result.ranks += cmp.ranks_rows(comparison, metric, context, factor, stratum)
        result.tests.append(cmp.tests_row(comparison, metric, context, factor, stratum))
        result.pairwise += cmp.pairwise_rows(comparison, metric, context, factor, stratum)
        result.diagrams.append({
            "metric": metric, "context": context, "factor": factor, "stratum": stratum,
            "ranks": [
                [settings.label(factor, r["level"]), float(r["mean_rank"])]
                for r in comparison.rank_records
            ],
            "cd": comparison.nemenyi_cd, "note": comparison.note,
            "blocks": comparison.blocks, "lower": lower,
            "not_worse": sorted(str(v) for v in cmp.not_worse_than_best(comparison)),
            "best": str(cmp.best_level(comparison)),
            "beaten": [[str(a), str(b)] for a, b in cmp.significant_pairs(comparison)],
            "smallest_holm_p": comparison.smallest_holm_p,
            "pairs_can_reject": comparison.pairs_can_reject,
            "omnibus": comparison.omnibus, "omnibus_p": comparison.omnibus_p,
        })


def paper_tables(
    metrics_rows: pd.DataFrame,
    keys: Sequence[str],
    context: str,
    metrics: Sequence[str],
    diagrams: Sequence[dict[str, Any]],
    settings: CompareSettings,
) -> list[dict[str, Any]]:
    """tcbench's paper Table 3 layout: first key's levels x the other keys' values.

    Cells are ``mean +- ci95``; the best cell of each column (by mean) is bold; a cell is
    marked (``tied``) when no bold level is significantly better than it (Holm-adjusted
    Wilcoxon within that column, i.e. the stratum of the comparison). A column whose blocks
    are too few for any pair to be significant (:func:`cmp.smallest_holm_p` at or above
    alpha) marks no cell: the mark would hold whatever the numbers. It is ``untestable``
    instead, and the report says so.
    """
    if not keys or list(keys) == [CAMPAIGN_GROUP]:
        return []
    row_key, others = keys[0], list(keys[1:])
    found_diagrams: dict[tuple[str, str], dict[str, Any]] = {}
    for diagram in diagrams:  # the first of each metric and stratum, as a scan would find
        if diagram["context"] == context and diagram["factor"] == row_key:
            found_diagrams.setdefault((diagram["metric"], diagram["stratum"]), diagram)
    tables = []
    for metric in metrics:
        data = metrics_rows[(metrics_rows["context"] == context)
                            & (metrics_rows["metric"] == metric)]
        if data.empty:
            continue
        lower = settings.lower(metric)
        levels = settings.level_order(row_key, hv.distinct(data[row_key]))
        columns = [values for values, _ in stratum_positions(data, others)] if others else [()]
        by_cell = {
            tuple(hv.identity(v) for v in (record[row_key], *(record[k] for k in others))):
            record
            for record in data.to_dict("records")
        }
        body = []
        for level in levels:
            cells = []
            for values in columns:
                found = by_cell.get(tuple(hv.identity(v) for v in (level, *values)))
                mean = None if found is None or pd.isna(found["mean"]) else float(found["mean"])
                cells.append({
                    "mean": mean,
                    "ci95": None if mean is None else hv.plain(float(found["ci95"])),
                    "best": False,
                    "tied": False,
                })
            body.append({"level": settings.label(row_key, level), "raw": str(level),
                         "cells": cells})
        untestable = [False] * len(columns)
        smallest: list[float] = [math.nan] * len(columns)
        for j, values in enumerate(columns):
            means = [r["cells"][j]["mean"] for r in body if r["cells"][j]["mean"] is not None]
            if not means:
                continue
            best = min(means) if lower else max(means)
            diagram = found_diagrams.get((metric, labelled(others, values)))
            for r in body:
                cell = r["cells"][j]
                cell["best"] = cell["mean"] is not None and cell["mean"] == best
            if diagram is None:
                continue
            smallest[j] = diagram["smallest_holm_p"]
            if not diagram["pairs_can_reject"]:
                untestable[j] = True
                continue
            bold = {r["raw"] for r in body if r["cells"][j]["best"]}
            beaten = {worse for better, worse in diagram["beaten"] if better in bold}
            for r in body:
                cell = r["cells"][j]
                cell["tied"] = (cell["mean"] is not None and not cell["best"]
                                and r["raw"] not in beaten)
        tables.append({
            "metric": metric, "context": context, "row_key": row_key,
            "columns": [labelled(others, v) or metric for v in columns],
            "rows": body, "lower": lower, "untestable": untestable, "smallest_holm_p": smallest,
        })
    return tables


#: answers.csv: the report's "which configuration wins", one row per context.
ANSWER_COLUMNS: tuple[str, ...] = (
    "context", "metric", "by", "best", "mean", "ci95", "n", "runner_up", "runner_up_mean",
    "pairs", "nonzero", "p", "beats", "verdict", "spread",
)


def table_frame(records: list[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """Rows as a CSV-ready frame: the fixed ``columns`` first, any others after them."""
    frame = pd.DataFrame.from_records(records)
    if frame.empty:
        return pd.DataFrame(columns=list(columns))
    extra = [c for c in frame.columns if c not in columns]
    return frame[[*columns, *extra]]


def ranking_tables(result: CampaignRanking, keys: Sequence[str]) -> dict[str, pd.DataFrame]:
    """answers.csv, ranks.csv, tests.csv, pairwise.csv and variance.csv as DataFrames.

    Fixed columns first. answers.csv is the report's first section as data: the best
    configuration per context, the runner-up test's numbers and the sentence shown.
    """
    variance_columns = [*keys, "context", "metric", "n_runs", "n_splits", "n_seeds",
                        "sd_total", "sd_split", "sd_seed"]
    answers = [{c: a.get(c) for c in ANSWER_COLUMNS} for a in result.answers]
    return {
        "answers.csv": table_frame(answers, ANSWER_COLUMNS),
        "ranks.csv": table_frame(result.ranks, cmp.RANK_COLUMNS),
        "tests.csv": table_frame(result.tests, cmp.TEST_COLUMNS),
        "pairwise.csv": table_frame(result.pairwise, cmp.PAIRWISE_COLUMNS),
        "variance.csv": table_frame(result.variance, variance_columns),
    }
