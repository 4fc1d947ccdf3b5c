"""The scipy.stats stand-ins of summarise.distributions give scipy's floats, bit for bit.

They exist so that a build never imports scipy.stats (~1 s); each test here calls the real
scipy function on the same input and compares with ``==``, NaN with NaN.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import fresh_python_prints
from scipy import stats

from tcsummary.summarise import distributions as dist
from tcsummary.summarise.q_table import Q_TABLE


def _same(got: float, want: float) -> bool:
    return (math.isnan(got) and math.isnan(want)) or got == want


def _tables(rng: np.random.Generator) -> list[np.ndarray]:
    """Blocks x levels arrays: continuous, rounded (ties within rows), tiny integer ranges."""
    tables = []
    for n in (2, 3, 5, 8, 13, 40):
        for k in (2, 3, 4, 7, 12):
            base = rng.normal(90.0, 3.0, size=(n, k))
            tables += [base, np.round(base), np.round(base / 4.0), rng.integers(0, 3, (n, k))]
    return [t.astype(float) for t in tables]


def test_row_ranks_equal_rankdata_with_ties_and_nan():
    rng = np.random.default_rng(1)
    for table in _tables(rng):
        assert np.array_equal(dist.row_ranks(table), stats.rankdata(table, axis=1))
        with_nan = table.copy()
        with_nan[0, -1] = np.nan
        assert np.array_equal(
            dist.row_ranks(with_nan), stats.rankdata(with_nan, axis=1), equal_nan=True
        )
    assert dist.row_ranks(np.empty((0, 3))).shape == (0, 3)


def test_average_ranks_of_one_row_and_tie_counts():
    values = np.array([3.0, 2.0, 1.0, 2.0, 2.0, 2.0, 1.0])
    ranks, ties = dist.average_ranks(values)
    assert np.array_equal(ranks, stats.rankdata(values))
    # scipy's documented tie format: two 1s, four 2s and one 3, at sorted positions
    assert ties.tolist() == [2.0, 0.0, 4.0, 0.0, 0.0, 0.0, 1.0]


def test_average_ranks_of_a_list_equal_the_array_version_bit_for_bit():
    rng = np.random.default_rng(23)
    for _ in range(500):
        n = int(rng.integers(0, 160))  # past ARRAY_RANKS_FROM, where rows go to numpy
        row = rng.choice(rng.normal(size=max(1, n // 2)), size=n)  # ties on purpose
        if rng.random() < 0.3:
            row = np.round(row * 3)
        if rng.random() < 0.2:  # -0.0 and 0.0 are one value, as == has them
            row = np.where(row == 0, -0.0, row) if n % 2 else np.round(row) * 0.0
        ranks, groups = dist.average_ranks_list(row.tolist())
        expected, ties = dist.average_ranks(row)
        assert ranks == expected.tolist()
        assert groups == [int(t) for t in ties.ravel() if t] and sum(groups) == n
        assert ranks == stats.rankdata(row).tolist()


def test_friedman_equals_friedmanchisquare():
    rng = np.random.default_rng(2)
    checked = 0
    for table in _tables(rng):
        if table.shape[1] < 3:
            continue
        want = stats.friedmanchisquare(*table.T)
        chi2, p = dist.friedman(table)
        assert _same(chi2, float(want.statistic)), table
        assert _same(p, float(want.pvalue)), table
        checked += 1
    assert checked > 50
    tied = np.ones((4, 3))
    assert all(math.isnan(v) for v in dist.friedman(tied))  # 0/0, as scipy


def _untied_diff(n: int, r_plus: int) -> np.ndarray:
    """Differences +-1..+-n whose positive ranks sum to r_plus (greedy from the top)."""
    chosen, remaining = set(), r_plus
    for rank in range(n, 0, -1):
        if remaining >= rank:
            chosen.add(rank)
            remaining -= rank
    return np.array([r if r in chosen else -r for r in range(1, n + 1)], dtype=float)


def test_wilcoxon_exact_p_equals_scipy_exact_null():
    rng = np.random.default_rng(3)
    for n in range(1, 51):
        top = n * (n + 1) // 2
        sums = {0, 1, top // 2, (top + 1) // 2, top - 1, top, *rng.integers(0, top + 1, 12)}
        for r_plus in sorted(s for s in sums if 0 <= s <= top):
            want = float(stats.wilcoxon(_untied_diff(n, r_plus)).pvalue)
            assert dist.wilcoxon_exact_p(n, int(r_plus)) == want, (n, r_plus)


def test_chi2_and_f_survival_functions_equal_scipy():
    for df in (1, 2, 3, 6, 11, 40):
        for x in (0.0, 0.3, 1.0, 2.5, 7.0, 19.0, 80.0, math.inf):
            assert dist.chi2_sf(x, df) == float(stats.chi2.sf(x, df))
            for dfd in (2, 9, 30, 390):
                assert dist.f_sf(x, df, dfd) == float(stats.f.sf(x, df, dfd))


def test_every_bundled_studentized_range_quantile_is_scipys():
    for alpha, row in Q_TABLE.items():
        assert len(row) == len(dist.Q_TABLE_LEVELS)
        for k, q in zip(dist.Q_TABLE_LEVELS, row, strict=True):
            assert q == float(stats.studentized_range.ppf(1.0 - alpha, k, np.inf)), (alpha, k)


def test_studentized_range_outside_the_table_asks_scipy():
    dist.studentized_range_q.cache_clear()
    for k, alpha in ((5, 0.02), (101, 0.05)):
        assert dist.studentized_range_q(k, alpha) == float(
            stats.studentized_range.ppf(1.0 - alpha, k, np.inf)
        )


@pytest.mark.parametrize(
    "module", ["tcsummary.jobs.aggregate", "tcsummary.jobs.compare", "tcsummary.cli.main"]
)
def test_a_campaign_comparison_never_imports_scipy_stats(module):
    """The point of the module: aggregation and comparison stay clear of the ~1 s import."""
    code = (
        "import sys, numpy as np, pandas as pd\n"
        f"import {module}\n"
        "from tcsummary.summarise import comparisons as cmp\n"
        "rng = np.random.default_rng(0)\n"
        "for k in (2, 3, 5):\n"
        "    table = pd.DataFrame(rng.normal(90, 2, size=(12, k)), columns=list('abcde'[:k]))\n"
        "    cmp.omnibus(table)\n"
        "    cmp.pairwise(table, lower_is_better=False)\n"
        "    cmp.mean_ranks(table, lower_is_better=False)\n"
        "    cmp.pairwise(table.round(), lower_is_better=False)\n"
        "print(sorted(m for m in sys.modules if m.startswith('scipy.stats')))\n"
    )
    assert fresh_python_prints(code) == "[]"
