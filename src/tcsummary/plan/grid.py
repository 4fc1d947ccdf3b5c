"""A campaign's grid: the hparams that vary, the cells it should have, the cells it lacks.

"An hparam with more than one value" is defined here once (values compared as
written, see :func:`core.values.identity`); tcbench's default group keys, the
CLI's ``campaigns`` and ``ls`` views and the report's grid summary all use it.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core import values as hv
from ..core.model import CAMPAIGN_KEYS, FINISHED, STATUSES, RunInfo


def varying_hparams(runs: Sequence[RunInfo], exclude: Iterable[str] = CAMPAIGN_KEYS) -> list[str]:
    """hparams with more than one distinct value among ``runs`` (missing counts as a value)."""
    return varying_keys([r.hparams for r in runs], exclude)


def varying_keys(
    hparams: Sequence[Mapping[str, Any]], exclude: Iterable[str] = CAMPAIGN_KEYS
) -> list[str]:
    """:func:`varying_hparams` of runs given by their hparams (no run objects to build:
    a comparison asks it of 10,000 records)."""
    excluded = set(exclude)
    names = sorted({k for h in hparams for k in h} - excluded)
    return [name for name in names if _varies(hparams, name)]


def _varies(hparams: Sequence[Mapping[str, Any]], name: str) -> bool:
    """Whether ``name`` has two distinct values (identities computed once per distinct text
    or integer: a column repeats a few values over thousands of runs)."""
    return len(set(hv.identities(h.get(name) for h in hparams))) > 1


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

    Expected cells are the product of the axes' values (shown as table cells,
    missing last). A cell is *missing* when no finished run covers it, and
    *duplicated* when more than one finished run does (unfinished attempts are
    counted in ``by_status``, not as cells).
    """
    status = Counter(r.status for r in runs)
    axes = {
        name: [hv.cell(v) for v in hv.sorted_values(r.hparams.get(name) for r in runs)]
        for name in varying_hparams(runs)
    }
    identities = {name: [hv.identity(hv.cell(v)) for v in axis] for name, axis in axes.items()}
    present: dict[tuple[str, ...], list[str]] = {}
    for run in runs:
        if run.status != FINISHED:
            continue
        key = tuple(hv.identity(hv.cell(run.hparams.get(name))) for name in axes)
        present.setdefault(key, []).append(run.hash)
    grid = CampaignGrid(
        campaign=campaign,
        runs=len(runs),
        by_status={s: status.get(s, 0) for s in STATUSES},
        experiments=sorted({r.experiment or "" for r in runs}),
        axes=axes,
    )
    for cell, key in zip(
        itertools.product(*axes.values()), itertools.product(*identities.values()), strict=True
    ):
        hashes = present.get(key, [])
        if not hashes:
            grid.missing.append(dict(zip(axes, cell, strict=True)))
        elif len(hashes) > 1:
            grid.duplicated.append((dict(zip(axes, cell, strict=True)), sorted(hashes)))
    return grid
