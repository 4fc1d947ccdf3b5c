"""Turn a repository scan into the tables people and scripts look at.

Pure functions over the run model: no I/O, so the CLI and the workflow (and the
tests) share one definition of what a run row, a property or a grid cell is.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .model import (
    CAMPAIGN_KEYS,
    FINISHED,
    STATUSES,
    ArtifactInventory,
    RepositoryScan,
    RunInfo,
)

#: Columns every run row has, before its hparams.
RUN_COLUMNS = (
    "hash", "campaign", "experiment", "status", "created", "duration", "artifacts", "problems",
)


def iso_utc(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")


def artifact_summary(inventory: ArtifactInventory | None) -> str:
    """A short human summary: how many contexts have both CSVs, and whether weights exist."""
    if inventory is None:
        return "no folder"
    parts = [f"{len(inventory.contexts)} ctx"]
    parts.append("model" if inventory.model_files else "no model")
    return ", ".join(parts)


def run_problems(run: RunInfo, inventory: ArtifactInventory | None) -> list[str]:
    problems = list(run.problems)
    if inventory is None:
        problems.append("no artifact folder")
    else:
        problems.extend(inventory.problems)
    return problems


def _cell(value: Any) -> Any:
    """hparam values as table cells: tuples (list hparams) become readable strings."""
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return value


def runs_frame(scan: RepositoryScan, campaign: str | None = None) -> pd.DataFrame:
    """One row per Aim run: identity, status, timing, artifacts, problems, every hparam."""
    records = []
    for run in sorted(scan.runs.values(), key=lambda r: (r.campaign, r.creation_time or 0, r.hash)):
        if campaign is not None and run.campaign != campaign:
            continue
        inventory = scan.artifacts.get(run.hash)
        problems = run_problems(run, inventory)
        record: dict[str, Any] = {
            "hash": run.hash,
            "campaign": run.campaign,
            "experiment": run.experiment,
            "status": run.status,
            "created": iso_utc(run.creation_time),
            "duration": run.duration,
            "artifacts": artifact_summary(inventory),
            "problems": "; ".join(problems),
        }
        for key, value in run.hparams.items():
            if key not in record:
                record[key] = _cell(value)
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=None if records else list(RUN_COLUMNS))
    hparam_columns = sorted(c for c in frame.columns if c not in RUN_COLUMNS)
    frame = frame[list(RUN_COLUMNS) + hparam_columns]
    # Integer hparams stay integers even where some runs lack them (nullable Int64).
    for column in hparam_columns:
        if _integer_column(frame[column]):
            frame[column] = frame[column].astype("Int64")
    return frame


def _integer_column(series: pd.Series) -> bool:
    """Ints, or ints turned float by pandas because some runs lack the hparam."""
    values = series.dropna()
    if not len(values) or any(isinstance(v, bool) for v in values):
        return False
    if all(isinstance(v, int) for v in values):
        return True
    has_gaps = len(values) < len(series)
    return has_gaps and all(isinstance(v, float) and v.is_integer() for v in values)


def varying_hparams(frame: pd.DataFrame, exclude: Iterable[str] = CAMPAIGN_KEYS) -> list[str]:
    """hparam columns with more than one distinct value (missing counts as a value)."""
    excluded = set(exclude) | set(RUN_COLUMNS)
    return [
        column
        for column in frame.columns
        if column not in excluded and frame[column].astype(str).nunique(dropna=False) > 1
    ]


def _sort_values(values: Iterable[Any]) -> list[Any]:
    unique = {_cell(v) for v in values if not _is_missing(v)}
    try:
        return sorted(unique)
    except TypeError:
        return sorted(unique, key=str)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@dataclass
class Properties:
    """What tcbench's ``aimrepo properties`` shows, for a set of runs."""

    runs: int
    by_status: dict[str, int]
    duration_mean: float | None
    duration_std: float | None
    metrics: list[str]
    contexts: list[str]
    hparams: dict[str, list[Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "by_status": self.by_status,
            "run_duration": {"mean": self.duration_mean, "std": self.duration_std},
            "metrics": self.metrics,
            "contexts": self.contexts,
            "hparams": {k: {"count": len(v), "values": v} for k, v in self.hparams.items()},
        }


def properties(runs: Sequence[RunInfo]) -> Properties:
    """Runs, durations, metrics, contexts and hparams with their distinct values."""
    durations = [r.duration for r in runs if r.duration is not None]
    status = Counter(r.status for r in runs)
    names = sorted({k for r in runs for k in r.hparams})
    return Properties(
        runs=len(runs),
        by_status={s: status.get(s, 0) for s in STATUSES},
        duration_mean=statistics.fmean(durations) if durations else None,
        duration_std=statistics.stdev(durations) if len(durations) > 1 else None,
        metrics=sorted({m for r in runs for m, _ in r.metrics}),
        contexts=sorted({c for r in runs for _, c in r.metrics if c}),
        hparams={k: _sort_values(r.hparams.get(k) for r in runs) for k in names},
    )


@dataclass
class CampaignGrid:
    """A campaign's hparam grid and the cells that are missing or run more than once."""

    campaign: str
    runs: int
    by_status: dict[str, int]
    experiments: list[str]
    axes: dict[str, list[Any]]
    missing: list[dict[str, Any]] = field(default_factory=list)
    duplicated: list[tuple[dict[str, Any], list[str]]] = field(default_factory=list)

    @property
    def cells(self) -> int:
        return math.prod(len(v) for v in self.axes.values()) if self.axes else 1

    def describe(self) -> str:
        if not self.axes:
            return "1 cell"
        axes = " x ".join(f"{k}({len(v)})" for k, v in self.axes.items())
        return f"{axes} = {self.cells} cells"

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "runs": self.runs,
            "by_status": self.by_status,
            "experiments": self.experiments,
            "grid": {"axes": self.axes, "cells": self.cells},
            "missing_cells": self.missing,
            "duplicated_cells": [{"cell": c, "runs": h} for c, h in self.duplicated],
        }


def campaign_grid(campaign: str, runs: Sequence[RunInfo]) -> CampaignGrid:
    """The grid of a campaign: every hparam with more than one value (seed and split included).

    Expected cells are the product of the axes' values. A cell is *missing* when
    no finished run covers it, and *duplicated* when more than one finished run
    does (unfinished attempts are counted in ``by_status``, not as cells).
    """
    status = Counter(r.status for r in runs)
    names = sorted({k for r in runs for k in r.hparams} - set(CAMPAIGN_KEYS))
    axes: dict[str, list[Any]] = {}
    for name in names:
        values = {_cell(r.hparams.get(name)) for r in runs}
        if len(values) > 1:
            has_missing = any(_is_missing(v) for v in values)
            axes[name] = _sort_values(values) + ([None] if has_missing else [])
    present: dict[tuple[Any, ...], list[str]] = {}
    for run in runs:
        if run.status != FINISHED:
            continue
        cell = tuple(_cell(run.hparams.get(name)) for name in axes)
        present.setdefault(cell, []).append(run.hash)
    grid = CampaignGrid(
        campaign=campaign,
        runs=len(runs),
        by_status={s: status.get(s, 0) for s in STATUSES},
        experiments=sorted({r.experiment or "" for r in runs}),
        axes=axes,
    )
    for cell in itertools.product(*axes.values()):
        hashes = present.get(cell, [])
        if not hashes:
            grid.missing.append(dict(zip(axes, cell, strict=True)))
        elif len(hashes) > 1:
            grid.duplicated.append((dict(zip(axes, cell, strict=True)), sorted(hashes)))
    return grid


def campaign_grids(scan: RepositoryScan) -> list[CampaignGrid]:
    return [
        campaign_grid(label, [scan.runs[h] for h in hashes])
        for label, hashes in scan.campaigns().items()
    ]
