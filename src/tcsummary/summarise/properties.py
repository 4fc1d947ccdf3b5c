"""What tcbench's ``aimrepo properties`` shows for a set of runs, with tcsummary's statistics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core import values as hv
from ..core.model import STATUSES, RunInfo
from . import stats


@dataclass
class Properties:
    """Runs by status, run duration, metrics, contexts and every hparam's distinct values."""

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
    """Runs, durations (mean and sample std, as everywhere: :mod:`stats`), metrics, contexts."""
    duration = stats.describe([r.duration for r in runs])
    status = Counter(r.status for r in runs)
    names = sorted({k for r in runs for k in r.hparams})
    return Properties(
        runs=len(runs),
        by_status={s: status.get(s, 0) for s in STATUSES},
        duration_mean=hv.plain(duration.mean),
        duration_std=hv.plain(duration.std),
        metrics=sorted({m for r in runs for m, _ in r.metrics}),
        contexts=sorted({c for r in runs for _, c in r.metrics if c}),
        hparams={
            k: [hv.cell(v) for v in hv.sorted_values(r.hparams.get(k) for r in runs)
                if not hv.is_missing(v)]
            for k in names
        },
    )
