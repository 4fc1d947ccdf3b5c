"""The statistics of a report, defined once: tcbench's semantics without its quirks.

ci95 is the half-width of the two-sided 95% Student-t interval of the mean,
``t(0.975, n-1) * s / sqrt(n)`` with the sample standard deviation (ddof=1), as
tcbench computes through statsmodels. Missing values are left out first (tcbench
turns the whole interval into NaN when one run lacks the metric; infinities
count as missing too); fewer than two values give NaN.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

NAN = float("nan")
#: From this many values on, :func:`finite` filters in numpy (~4 us a call, then ~2 ns a
#: value) rather than in Python (~0.35 us a value); 2,500-run groups are common.
_VECTOR_FROM = 16


@functools.cache
def t_quantile(p: float, dof: int) -> float:
    """Student-t quantile; scipy.special's stdtrit is what scipy.stats.t.ppf calls.

    Cached: every ci95 asks for it and the group sizes repeat (a 2,500-run campaign asks
    ~4,000 times for a few dozen values, ~15 us each).
    """
    from scipy.special import stdtrit

    return float(stdtrit(dof, p))


def finite(values: Sequence[float | None]) -> list[float]:
    """The values that are measurements: None, NaN and infinities are left out.

    Both ways give the same floats: numpy converts each value with ``float`` semantics
    and turns None into NaN, which the filter then drops.
    """
    if len(values) < _VECTOR_FROM:
        return [float(v) for v in values if v is not None and math.isfinite(float(v))]
    array = np.array(values, dtype=float)
    return array[np.isfinite(array)].tolist()


def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else NAN


def std(values: Sequence[float]) -> float:
    """Sample standard deviation (ddof=1); NaN below two values."""
    n = len(values)
    if n < 2:
        return NAN
    m = mean(values)
    return math.sqrt(math.fsum([(v - m) ** 2 for v in values]) / (n - 1))


def ci95(values: Sequence[float | None]) -> float:
    data = finite(values)
    return _ci95(len(data), std(data))


def _ci95(n: int, sd: float) -> float:
    """ci95 of a mean of ``n`` finite values whose sample sd is ``sd``."""
    if n < 2:
        return NAN
    return t_quantile(0.975, n - 1) * sd / math.sqrt(n)


def median(values: Sequence[float]) -> float:
    if not values:
        return NAN
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@dataclass(frozen=True)
class Summary:
    """n, mean, std, ci95, median, min and max of the finite values given."""

    n: int
    mean: float
    std: float
    ci95: float
    median: float
    min: float
    max: float


def describe(values: Sequence[float | None]) -> Summary:
    data = finite(values)
    if not data:
        return Summary(0, NAN, NAN, NAN, NAN, NAN, NAN)
    sd = std(data)
    return Summary(
        n=len(data),
        mean=mean(data),
        std=sd,
        ci95=_ci95(len(data), sd),
        median=median(data),
        min=min(data),
        max=max(data),
    )
