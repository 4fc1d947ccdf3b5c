"""tcbench's own report files, same names, columns and statistics as ``aimrepo report``.

Users' notebooks read ``summary_<key>_<value>.csv`` and ``runsinfo_<key>_<value>.parquet``;
this module builds exactly those tables (see ``tcbench-repository.md`` in the
project's reference notes), without tcbench's quirks (ci95 over the values that
exist, default group keys per campaign).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..core import values as hv
from . import stats
from .campaign import RunRow, key_values

#: Columns tcbench's runsinfo parquet starts with (aim's Run.dataframe() props).
RUN_PROPS = (
    "hash", "name", "description", "archived", "creation_time", "end_time",
    "active", "experiment", "tags",
)
STAT_NAMES = ("count", "mean", "std", "ci95")
DURATION_STATS = ("mean", "std", "ci95")


def long_frame(snapshot: dict[str, Any], rows: Sequence[RunRow]) -> pd.DataFrame:
    """tcbench's (run x context) table of the included runs: props, hparams, metrics."""
    settings = snapshot["settings"]
    campaign = snapshot["campaign"]
    hparam_names = sorted(
        {k for r in rows for k in r.record["hparams"]} | set(settings["groupby"])
    )
    # hparams as tables show them; a column mixing kinds holds JSON text (1 vs "1")
    values_of = key_values(rows, hparam_names, campaign)
    records = []
    for row in rows:
        if not row.included:
            continue
        rec = row.record
        base: dict[str, Any] = {
            "hash": rec["hash"],
            "name": rec["name"],
            "description": rec["description"],
            "archived": rec["archived"],
            "creation_time": rec["creation_time"],
            "end_time": rec["end_time"],
            "active": rec["end_time"] is None,
            "experiment": rec["experiment"],
            "tags": json.dumps(rec["tags"]),
        }
        base.update(zip(hparam_names, values_of[row.hash], strict=True))
        for context in settings["contexts"]:
            item = dict(base)
            for metric in settings["metrics"]:
                value = row.metric(metric, context)
                item[metric] = math.nan if value is None else value
            item["test_split_name"] = context
            item["run_duration"] = row.duration
            records.append(item)
    columns = [*RUN_PROPS, *hparam_names, *settings["metrics"], "test_split_name", "run_duration"]
    frame = pd.DataFrame.from_records(records, columns=columns)
    if frame.empty:
        return frame
    return frame.astype({m: float for m in settings["metrics"]})


def _ci95(series: pd.Series) -> float:
    return stats.ci95(series.tolist())


def tcbench_summary(snapshot: dict[str, Any], frame: pd.DataFrame) -> pd.DataFrame:
    """tcbench's summary table: count/mean/std/ci95 per metric and run_duration per group."""
    settings = snapshot["settings"]
    keys = ["test_split_name", *[k for k in settings["groupby"] if k != "test_split_name"]]
    agg: dict[str, Any] = {
        m: ["count", "mean", "std", ("ci95", _ci95)] for m in settings["metrics"]
    }
    agg["run_duration"] = ["mean", "std", ("ci95", _ci95)]
    if frame.empty:
        columns = pd.MultiIndex.from_tuples(
            [(k, "") for k in keys]
            + [(m, s) for m in settings["metrics"] for s in STAT_NAMES]
            + [("run_duration", s) for s in DURATION_STATS]
        )
        return pd.DataFrame(columns=columns)
    # dropna=False: a run lacking a group key (None) is a group of its own, never dropped
    grouped = frame[keys + list(settings["metrics"]) + ["run_duration"]].groupby(
        by=keys, dropna=False, sort=False
    )
    table = grouped.agg(agg)
    order = sorted(range(len(table)), key=lambda i: _key_order(table.index[i]))
    return table.iloc[order].reset_index()


def _key_order(key: Any) -> list[tuple[int, Any]]:
    """Groups in natural order (numbers numerically, missing last), as tcbench's sorted groupby."""
    return [hv.sort_key(v) for v in (key if isinstance(key, tuple) else (key,))]


def tcbench_split(summary: pd.DataFrame, key: str, value: str) -> pd.DataFrame:
    """The rows of one flowpic_dim (or max_n_pkts) value, that column dropped, as tcbench does.

    ``value`` is compared as text: it comes from a file name (a rule wildcard).
    """
    if (key, "") in summary.columns:
        summary = summary[summary[(key, "")].astype(str) == value].drop([(key, "")], axis=1)
    return summary.reset_index(drop=True)
