"""One campaign's tables: which runs count, and metrics, per-class and confusion statistics.

Pure functions over plain data and DataFrames; :mod:`tcsummary.jobs` does the I/O.
Sources are kept apart on purpose: final metrics come from Aim (as tcbench's
report does), per-class scores and confusion matrices from the artifact CSVs.
A run that did not finish is left out of every statistic; a broken or missing
artifact context is left out of the per-class and confusion statistics of that
context only. Every exclusion is kept with its reason.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..core import values as hv
from ..core.errors import StrictError, first_of, shorten
from ..core.model import FINISHED
from . import stats

CLASS_SCORES = ("precision", "recall", "f1")


@dataclass
class RunRow:
    """One run of the campaign with what aggregation decided about it."""

    record: dict[str, Any]
    extraction: dict[str, Any] | None
    included: bool
    reason: str
    #: context -> why that context's artifacts are left out.
    context_problems: dict[str, str] = field(default_factory=dict)
    #: what is odd but excludes nothing (a non-finite metric value, an unreadable params.yml).
    warnings: list[str] = field(default_factory=list)
    _metrics: dict[tuple[str, str], float] | None = field(default=None, repr=False)

    @property
    def hash(self) -> str:
        return self.record["hash"]

    @property
    def duration(self) -> float | None:
        start, end = self.record.get("creation_time"), self.record.get("end_time")
        return None if start is None or end is None else end - start

    def metric(self, name: str, context: str) -> float | None:
        """The last tracked value; None when missing or not finite (inf is no measurement)."""
        if self._metrics is None:
            self._metrics = {
                (m, c): float(v) for m, c, v, _step in self.record["metrics"]
                if v is not None and math.isfinite(float(v))
            }
        return self._metrics.get((name, context))

    def raw_hparam(self, name: str, campaign: str) -> Any:
        """The hparam as tracked; a run without ``campaign_id`` belongs to ``campaign``."""
        value = self.record["hparams"].get(name)
        return campaign if value is None and name == "campaign_id" else value

    def hparam(self, name: str, campaign: str) -> Any:
        return hv.cell(self.raw_hparam(name, campaign))


def exclusion_reason(status: str) -> str:
    """Why a run of that status is left out of every table and comparison ("" when it counts)."""
    if status == FINISHED:
        return ""
    if status == "active":
        return "still running (a live writer holds the run)"
    return "did not finish (no end time: crashed or killed)"


def non_finite_warnings(record: dict[str, Any], wanted: set[tuple[str, str]]) -> list[str]:
    """A warning per selected (``wanted``) metric x context whose value is inf, -inf or NaN."""
    return [
        f"{metric} on {context} is {value}: treated as missing"
        for metric, context, value, _step in record["metrics"]
        if value is not None and not math.isfinite(float(value)) and (metric, context) in wanted
    ]


def classify_runs(
    snapshot: dict[str, Any], extractions: dict[str, dict[str, Any]]
) -> list[RunRow]:
    """Decide, for every run of the campaign, whether and where it counts."""
    settings = snapshot["settings"]
    contexts = settings["contexts"]
    wanted = {(m, c) for m in settings["metrics"] for c in contexts}
    rows = []
    for record in snapshot["runs"]:
        extraction = extractions.get(record["hash"])
        reason = exclusion_reason(record["status"])
        row = RunRow(record, extraction, included=not reason, reason=reason)
        row.warnings = non_finite_warnings(record, wanted)
        if extraction is not None:
            row.warnings += extraction.get("warnings", [])
        for context in contexts:
            if extraction is None or "folder_problem" in extraction:
                row.context_problems[context] = "no artifact folder"
                continue
            found = extraction["contexts"].get(context, {"problem": "not extracted"})
            if "problem" in found:
                row.context_problems[context] = found["problem"]
        rows.append(row)
    _align_classes(rows, contexts)
    return rows


def realign(context: dict[str, Any], order: Sequence[str]) -> dict[str, Any]:
    """One run's extracted context with its classes (and matrix rows, columns) in ``order``."""
    index = [context["classes"].index(name) for name in order]
    aligned = dict(context)
    aligned["classes"] = list(order)
    for score in ("precision", "recall", "f1", "support"):
        aligned[score] = [context[score][i] for i in index]
    aligned["matrix"] = [[context["matrix"][i][j] for j in index] for i in index]
    return aligned


def _class_difference(classes: Sequence[str], common: frozenset[str]) -> str:
    missing = sorted(common - set(classes))
    extra = sorted(set(classes) - common)
    parts = [f"lacks {missing}" if missing else "", f"has extra {extra}" if extra else ""]
    return shorten(
        "classes differ from the campaign's: " + ", ".join(p for p in parts if p)
    )


def _align_classes(rows: list[RunRow], contexts: Sequence[str]) -> None:
    """Reports are keyed by class name: the same classes in another order are realigned.

    A run whose *set* of classes in a context differs from the campaign's (the
    most common set) cannot be averaged with the others: that context of that
    run is excluded, with the difference named.
    """
    for context in contexts:
        usable = [r for r in rows if r.included and context not in r.context_problems]
        if not usable:
            continue
        listed = {r.hash: r.extraction["contexts"][context]["classes"] for r in usable}
        sets = Counter(frozenset(classes) for classes in listed.values())
        common = max(sets, key=lambda s: (sets[s], sorted(s)))
        orders = Counter(tuple(c) for c in listed.values() if frozenset(c) == common)
        reference = orders.most_common(1)[0][0]
        for row in usable:
            classes = listed[row.hash]
            if frozenset(classes) != common:
                row.context_problems[context] = _class_difference(classes, common)
            elif tuple(classes) != reference:
                extracted = row.extraction["contexts"]
                row.extraction = {
                    **row.extraction,
                    "contexts": {**extracted, context: realign(extracted[context], reference)},
                }


def key_values(
    rows: Sequence[RunRow], keys: Sequence[str], campaign: str
) -> dict[str, tuple[Any, ...]]:
    """Each included run's values of ``keys`` as tables show them (:func:`core.values.column`).

    Table cells, except for a key whose values mix kinds: there each value's
    JSON text, as tcbench's files show it, so ``1`` and ``"1"`` stay apart.
    """
    included = [row for row in rows if row.included]
    columns = [hv.column([row.raw_hparam(k, campaign) for row in included]) for k in keys]
    return {
        row.hash: tuple(column[i] for column in columns) for i, row in enumerate(included)
    }


def groups(
    rows: Sequence[RunRow], keys: Sequence[str], campaign: str
) -> list[tuple[tuple[Any, ...], list[RunRow]]]:
    """Included runs by group (values compared as written: 1, 1.0, True and "1" are four
    groups), groups in a stable, natural order."""
    values_of = key_values(rows, keys, campaign)
    found: dict[tuple[str, ...], tuple[tuple[Any, ...], list[RunRow]]] = {}
    for row in rows:
        if row.included:
            values = values_of[row.hash]
            key = tuple(hv.identity(v) for v in values)
            found.setdefault(key, (values, []))[1].append(row)
    return sorted(found.values(), key=lambda item: [hv.sort_key(v) for v in item[0]])


def metrics_table(snapshot: dict[str, Any], rows: Sequence[RunRow]) -> pd.DataFrame:
    """group x context x metric: n, mean, std, ci95, median, min, max (from Aim)."""
    settings = snapshot["settings"]
    keys = list(settings["groupby"])
    records = []
    for values, members in groups(rows, keys, snapshot["campaign"]):
        for context in settings["contexts"]:
            for metric in settings["metrics"]:
                summary = stats.describe([r.metric(metric, context) for r in members])
                records.append({
                    **dict(zip(keys, values, strict=True)),
                    "context": context,
                    "metric": metric,
                    **summary.__dict__,
                })
    columns = [*keys, "context", "metric", "n", "mean", "std", "ci95", "median", "min", "max"]
    return pd.DataFrame.from_records(records, columns=columns)


def _usable(members: Sequence[RunRow], context: str) -> list[dict[str, Any]]:
    return [
        r.extraction["contexts"][context]
        for r in members
        if context not in r.context_problems
    ]


def artifact_groups(
    snapshot: dict[str, Any], rows: Sequence[RunRow]
) -> Iterator[tuple[dict[str, Any], str, list[dict[str, Any]]]]:
    """(group keys, context, the usable extracted reports) for every group x context."""
    settings = snapshot["settings"]
    keys = list(settings["groupby"])
    for values, members in groups(rows, keys, snapshot["campaign"]):
        for context in settings["contexts"]:
            reports = _usable(members, context)
            if reports:
                yield dict(zip(keys, values, strict=True)), context, reports


def per_class_table(snapshot: dict[str, Any], rows: Sequence[RunRow]) -> pd.DataFrame:
    """group x context x class: precision, recall, f1 (mean, std, ci95), support, runs."""
    keys = list(snapshot["settings"]["groupby"])
    records = []
    for group, context, reports in artifact_groups(snapshot, rows):
        for index, name in enumerate(reports[0]["classes"]):
            record: dict[str, Any] = {
                **group,
                "context": context,
                "class": name,
                "runs": len(reports),
            }
            for score in CLASS_SCORES:
                summary = stats.describe([rep[score][index] for rep in reports])
                record[f"{score}_mean"] = summary.mean
                record[f"{score}_std"] = summary.std
                record[f"{score}_ci95"] = summary.ci95
            record["support"] = stats.mean([rep["support"][index] for rep in reports])
            records.append(record)
    columns = [*keys, "context", "class", "runs"]
    columns += [f"{s}_{x}" for s in CLASS_SCORES for x in ("mean", "std", "ci95")] + ["support"]
    return pd.DataFrame.from_records(records, columns=columns)


@dataclass
class ConfusionSummary:
    """One group x context: summed counts and the row-normalised mean and std over runs."""

    keys: dict[str, Any]
    context: str
    classes: list[str]
    runs: int
    counts: list[list[int]]
    mean: list[list[float]]
    std: list[list[float]]


def _normalised(matrix: list[list[int]]) -> list[list[float]]:
    out = []
    for row in matrix:
        total = sum(row)
        out.append([v / total if total else math.nan for v in row])
    return out


def confusion_summaries(
    snapshot: dict[str, Any], rows: Sequence[RunRow]
) -> list[ConfusionSummary]:
    out = []
    for group, context, reports in artifact_groups(snapshot, rows):
        classes = reports[0]["classes"]
        size = len(classes)
        matrices = [rep["matrix"] for rep in reports]
        normalised = [_normalised(m) for m in matrices]
        counts = [[sum(m[i][j] for m in matrices) for j in range(size)] for i in range(size)]
        cells = [[stats.finite([n[i][j] for n in normalised]) for j in range(size)]
                 for i in range(size)]
        out.append(ConfusionSummary(
            keys=group,
            context=context,
            classes=list(classes),
            runs=len(reports),
            counts=counts,
            mean=[[stats.mean(c) for c in row] for row in cells],
            std=[[stats.std(c) for c in row] for row in cells],
        ))
    return out


def confusion_table(summaries: Sequence[ConfusionSummary], keys: Sequence[str]) -> pd.DataFrame:
    records = []
    for item in summaries:
        for i, true in enumerate(item.classes):
            for j, predicted in enumerate(item.classes):
                records.append({
                    **item.keys,
                    "context": item.context,
                    "true": true,
                    "predicted": predicted,
                    "runs": item.runs,
                    "count_sum": item.counts[i][j],
                    "normalised_mean": item.mean[i][j],
                    "normalised_std": item.std[i][j],
                })
    columns = [*keys, "context", "true", "predicted", "runs", "count_sum",
               "normalised_mean", "normalised_std"]
    return pd.DataFrame.from_records(records, columns=columns)


def runs_table(snapshot: dict[str, Any], rows: Sequence[RunRow]) -> pd.DataFrame:
    """One row per run: identity, status, inclusion and why not, hparams, final metrics."""
    settings = snapshot["settings"]
    hparam_names = sorted({k for r in rows for k in r.record["hparams"]})
    records = []
    for row in rows:
        rec = row.record
        warnings = list(rec["problems"]) + row.warnings
        record: dict[str, Any] = {
            "hash": rec["hash"],
            "status": rec["status"],
            "included": row.included,
            "excluded_because": row.reason,
            "artifact_problems": "; ".join(
                f"{ctx}: {problem}" for ctx, problem in sorted(row.context_problems.items())
            ),
            "warnings": "; ".join(warnings),
            "experiment": rec["experiment"],
            "creation_time": rec["creation_time"],
            "run_duration": row.duration,
        }
        for name in hparam_names:
            record[name] = rec["hparams"].get(name)
        for context in settings["contexts"]:
            for metric in settings["metrics"]:
                record[f"{metric}.{context}"] = row.metric(metric, context)
        records.append(record)
    for name in hparam_names:  # as tables show them; mixed kinds as JSON text (1 vs "1")
        values = hv.column([r[name] for r in records])
        for record, value in zip(records, values, strict=True):
            record[name] = value
    frame = pd.DataFrame.from_records(records)
    return frame.sort_values(["included", "hash"], ascending=[False, True], kind="stable")


def check_strict(campaign: str, rows: Sequence[RunRow]) -> None:
    """``strict=true``: raise on the first exclusion, naming how many there are."""
    found = [f"run {r.hash} excluded: {r.reason}" for r in rows if not r.included]
    found += [
        f"run {r.hash}, {context}: {problem}"
        for r in rows if r.included
        for context, problem in sorted(r.context_problems.items())
    ]
    if found:
        raise StrictError(f"campaign {campaign}: {first_of(found, '; runs.csv lists them')}")
