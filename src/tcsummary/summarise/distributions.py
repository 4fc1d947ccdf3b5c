"""The ranks, null distributions and p-values of the comparisons, without importing scipy.stats.

Why this module exists: importing ``scipy.stats`` costs 0.8-1.1 s (measured with pandas
already loaded; ``scipy.special`` alone 0.13 s), paid by every build that aggregates a campaign
or compares sources, a one-new-run rebuild included, and more than the statistics themselves
take. Each function here performs the floating-point operations of the scipy 1.17 function it
stands for, in the same order, so its result is the same float (tests/test_distributions.py
compares them bit for bit on random inputs, ties and zeros included). ``scipy.stats`` is
imported only on the rare paths left to it: a studentized-range quantile outside the bundled
table (:mod:`.q_table`), and, in :mod:`.comparisons`, Wilcoxon on non-finite input.

Regenerate the table with ``python -m tcsummary.summarise.distributions > q_table.py``.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import special

from .q_table import Q_TABLE

#: The numbers of levels the bundled studentized-range table covers (for each of its alphas).
Q_TABLE_LEVELS = range(2, 101)


def average_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks along the last axis (tied values share the mean of their ranks), and ties.

    The ranks are ``scipy.stats.rankdata(values, method="average", axis=-1)`` except that NaN
    is not special-cased (see :func:`row_ranks`); the second array is scipy's private tie
    format: per row, the size of each group of equal values at the group's sorted position and
    0 elsewhere, so ``sum(t**3 - t)`` is the tie correction. Ranks are half-integers: exact.
    """
    x = np.asarray(values, dtype=float)
    shape = x.shape
    if x.size == 0:
        return np.empty(shape), np.zeros(shape)
    order = np.argsort(x, axis=-1, kind="stable")
    ordered = np.take_along_axis(x, order, axis=-1)
    first = np.ones(shape[:-1] + (1,), dtype=bool)
    starts = np.concatenate([first, ordered[..., :-1] != ordered[..., 1:]], axis=-1)
    counts = np.diff(np.flatnonzero(starts), append=x.size)
    ordinal = np.broadcast_to(np.arange(1, shape[-1] + 1, dtype=float), shape)
    group_ranks = ordinal[starts] + (counts.astype(float) - 1) / 2
    ranks = np.empty(shape)
    np.put_along_axis(ranks, order, np.repeat(group_ranks, counts).reshape(shape), axis=-1)
    ties = np.zeros(shape)
    ties[starts] = counts
    return ranks, ties


def average_ranks_list(values: list[float]) -> tuple[list[float], list[int]]:
    """:func:`average_ranks` of one short row without NaN, in Python, and its tie groups' sizes.

    Why twice: a paired test ranks a handful of differences, and numpy's ~15 array calls per
    row cost ~60 us where this costs ~5 (a one-new-run rebuild ranks ~2,000 rows). The ranks
    are the same half-integers, ``(first + last) / 2`` of each group's sorted positions.
    """
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    groups: list[int] = []
    start = 0
    while start < len(order):
        end = start + 1
        value = values[order[start]]
        while end < len(order) and values[order[end]] == value:
            end += 1
        rank = (start + 1 + end) / 2
        for position in range(start, end):
            ranks[order[position]] = rank
        groups.append(end - start)
        start = end
    return ranks, groups


def row_ranks(values: np.ndarray) -> np.ndarray:
    """``scipy.stats.rankdata(values, axis=1)``: average ranks per row, NaN rows all NaN."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return np.empty(x.shape)
    ranks, _ = average_ranks(x)
    ranks[np.isnan(x).any(axis=-1)] = np.nan
    return ranks


def chi2_sf(x: float, df: float) -> float:
    """Survival function of the chi-squared distribution (what ``stats.chi2.sf`` evaluates)."""
    return float(special.chdtrc(df, x))


def f_sf(x: float, dfn: float, dfd: float) -> float:
    """Survival function of the F distribution (what ``stats.f.sf`` evaluates)."""
    return float(special.fdtrc(dfn, dfd, x))


def friedman(values: np.ndarray) -> tuple[float, float]:
    """``scipy.stats.friedmanchisquare(*values.T)`` on a blocks x levels array without NaN.

    Tie-corrected chi2 = (12 / (k n (k+1)) * sum_j R_j**2 - 3 n (k+1)) / c, with R_j the rank
    sum of level j over the n blocks and c = 1 - sum(t**3 - t) / (k (k**2 - 1) n); p from
    chi2 with k - 1 degrees of freedom. Every block tying every level gives NaN (0/0), as scipy.
    """
    data = np.asarray(values, dtype=float)
    n, k = data.shape
    ranks, t = average_ranks(data)
    ties = np.sum(t * (t * t - 1), axis=(0, -1))
    c = 1 - ties / (k * (k * k - 1) * n)
    ssbn = np.sum(np.sum(ranks, axis=0) ** 2, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = (12.0 / (k * n * (k + 1)) * ssbn - 3 * n * (k + 1)) / c
    return float(statistic), float(special.chdtrc(np.float64(k - 1), statistic))


@functools.cache
def _wilcoxon_pmf(n: int) -> np.ndarray:
    """P(r_plus = r), r = 0..n(n+1)/2, for n untied nonzero differences (scipy's recursion)."""
    c = np.ones(1, dtype=np.float64)
    for k in range(1, n + 1):
        prev = c
        c = np.zeros(k * (k + 1) // 2 + 1, dtype=np.float64)
        m = len(prev)
        c[:m] = prev * 0.5
        c[-m:] += prev * 0.5
    c.flags.writeable = False
    return c


def wilcoxon_exact_p(n: int, r_plus: int) -> float:
    """Two-sided exact Wilcoxon p of n untied nonzero differences, positive ranks summing r_plus.

    scipy's ``wilcoxon(method="exact")``: 2 * min(P(R <= r), P(R >= r)) clipped to 1, each tail
    summed from the nearer end of the distribution (as its ``WilcoxonDistribution``).
    """
    pmf = _wilcoxon_pmf(n)
    mean = n * (n + 1) / 4
    cdf = pmf[: r_plus + 1].sum() if r_plus <= mean else 1 - pmf[r_plus + 1 :].sum()
    sf = pmf[r_plus:].sum() if r_plus <= mean else 1 - pmf[:r_plus].sum()
    return float(np.clip(2 * np.minimum(sf, cdf), 0, 1))


def normal_two_sided_p(z: float) -> float:
    """2 * Phi(-|z|), as scipy's normal approximations compute it."""
    return float(2 * special.ndtr(-abs(z)))


@functools.lru_cache(maxsize=256)
def studentized_range_q(levels: int, alpha: float) -> float:
    """q(1 - alpha; k, inf): from the bundled table, else scipy (~15 ms, and its import)."""
    table = Q_TABLE.get(alpha)
    if table is not None and levels in Q_TABLE_LEVELS:
        return table[levels - Q_TABLE_LEVELS.start]
    return _scipy_studentized_range_q(levels, alpha)


def _scipy_studentized_range_q(levels: int, alpha: float) -> float:
    from scipy import stats  # only here: its import costs ~1 s (see the module docstring)

    return float(stats.studentized_range.ppf(1.0 - alpha, levels, np.inf))


def q_table_source(alphas: tuple[float, ...] = (0.01, 0.05, 0.1)) -> str:
    """The text of :mod:`.q_table`, recomputed with scipy."""
    lines = [
        '"""q(1 - alpha; k, inf), the studentized range quantile of the Nemenyi critical '
        'difference.',
        "",
        "Generated by ``python -m tcsummary.summarise.distributions`` with scipy "
        f"{_scipy_version()}: each value",
        "is ``float(scipy.stats.studentized_range.ppf(1.0 - alpha, k, numpy.inf))`` written with",
        "``repr``, so it reads back as the same float; tests/test_distributions.py recomputes",
        "every entry. Keys are alpha, then the number of levels k = 2..100.",
        '"""',
        "",
        "Q_TABLE: dict[float, tuple[float, ...]] = {",
    ]
    for alpha in alphas:
        values = [_scipy_studentized_range_q(k, alpha) for k in Q_TABLE_LEVELS]
        lines.append(f"    {alpha!r}: (")
        for i in range(0, len(values), 4):
            lines.append("        " + " ".join(f"{v!r}," for v in values[i : i + 4]))
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _scipy_version() -> str:
    import scipy

    return str(scipy.__version__)


if __name__ == "__main__":
    print(q_table_source(), end="")
