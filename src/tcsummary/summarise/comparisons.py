"""Statistical comparison of the levels of one factor over a campaign grid (pure, no I/O).

This module owns the numbers behind ranks.csv, tests.csv and pairwise.csv and the paper-table
marks: pivoting runs to blocks x levels, mean ranks, the Friedman / Iman-Davenport omnibus tests
with the Nemenyi critical difference (Demšar 2006), pairwise Wilcoxon signed-rank tests with
Holm's step-down adjustment, and the seeds-versus-splits variance components of one
configuration. Rendering (the CD diagram) lives in ``tcsummary.render.cd_diagram``; reading and
writing files belongs to the callers.

Conventions shared by every function here:

* rank 1 is the best level; ties get the average of the tied ranks;
* a *block* is one combination of the block columns (by default ``(split_index, seed)``), the
  unit over which levels are paired;
* floats are never rounded, NaN marks what is undefined, and an explanation goes to a ``note``
  instead of a p-value whenever the data cannot support the test;
* a test is only run when it could reject at ``alpha`` with the blocks at hand (the Wilcoxon
  test needs 6 pairs at alpha 0.05 because its smallest two-sided p with 5 pairs is 0.0625; the
  Friedman test needs as many blocks as make its smallest chi2 p-value reach alpha).
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..core.values import is_missing
from . import distributions as dist
from .memo import StatsMemo, floats, memo_key
from .stats import ci95

RANK_COLUMNS: tuple[str, ...] = (
    "metric", "context", "factor", "stratum", "level", "mean_rank", "blocks",
)
TEST_COLUMNS: tuple[str, ...] = (
    "metric", "context", "factor", "stratum", "blocks", "levels",
    "friedman_chi2", "friedman_p", "iman_davenport_f", "iman_davenport_p", "nemenyi_cd",
    "dropped_blocks", "note", "omnibus", "omnibus_p", "smallest_holm_p",
)
PAIRWISE_COLUMNS: tuple[str, ...] = (
    "metric", "context", "factor", "stratum", "a", "b", "pairs", "nonzero", "mean_diff",
    "diff_ci95", "wilcoxon_p", "holm_p", "better", "note",
)
PAIR_FRAME_COLUMNS: tuple[str, ...] = (
    "a", "b", "pairs", "nonzero", "mean_diff", "diff_ci95", "wilcoxon_p", "holm_p", "better",
    "note",
)
DEFAULT_ALPHA = 0.05
# variance share above which one source "dominates" the spread in spread_verdict
DOMINANT_SHARE = 2.0 / 3.0

NAN = float("nan")


# --------------------------------------------------------------------------- block table


@dataclass(frozen=True)
class BlockTable:
    """Blocks x levels table of one metric, restricted to complete blocks.

    ``table`` has one row per complete block (index: the block's value, or its tuple of values
    with several block columns; sorted) and one column
    per level (in level order, ``columns.name`` = the factor). ``dropped`` counts the blocks
    that lacked a value for at least one level; ``unplaced`` counts runs that could not be
    placed because their factor or block key is missing; ``missing_levels`` are requested
    levels without a single value in the data (they are left out of ``table`` so that one
    absent level does not empty the whole comparison).
    """

    table: pd.DataFrame
    dropped: int
    factor: str
    blocks: tuple[str, ...]
    value: str
    unplaced: int = 0
    missing_levels: tuple[Hashable, ...] = ()


def sort_levels(values: Iterable[Hashable]) -> list[Hashable]:
    """Distinct values in a stable, human order: numbers numerically, anything mixed by str.

    Levels such as ``flowpic_dim`` (32, 64, 1500) must not sort as text ("1500" < "32"), while
    a column mixing numbers and names has no natural order, so it falls back to ``str``.
    """
    distinct = list(dict.fromkeys(values))
    if all(isinstance(v, numbers.Real) for v in distinct):
        return sorted(distinct)  # type: ignore[type-var]
    if all(isinstance(v, str) for v in distinct):
        return sorted(distinct)  # type: ignore[type-var]
    return sorted(distinct, key=lambda v: (str(v), type(v).__name__))


def _as_tuple(columns: str | Sequence[str]) -> tuple[str, ...]:
    return (columns,) if isinstance(columns, str) else tuple(columns)


def _number(value: Any) -> float:
    """A cell as a float, NaN when it is no number (``pd.to_numeric(errors="coerce")``)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, numbers.Real):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return NAN


def numbers_of(column: pd.Series) -> list[float]:
    """:func:`_number` of every cell; one conversion when the column is numeric already."""
    if column.dtype.kind in "biuf":
        return column.to_numpy(dtype=float, na_value=np.nan).tolist()
    return [_number(v) for v in column.tolist()]


def _placeable(value: Any) -> bool:
    """Whether a factor or block value can place a run (not None, not NaN)."""
    return not is_missing(value)


def _cell_mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return NAN
    return finite[0] if len(finite) == 1 else float(np.mean(finite))


def _sorted_blocks(blocks: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Blocks numerically where possible, else by their text, so output is stable."""
    try:
        return sorted(blocks)
    except TypeError:
        return sorted(blocks, key=lambda k: tuple(map(str, k)))


def _block_key(block: tuple[Any, ...]) -> tuple[Any, ...]:
    """A sort key for blocks of one kind per position (numbers, or text)."""
    return tuple((0, v, "") if isinstance(v, numbers.Real) else (1, 0, str(v)) for v in block)


@dataclass(frozen=True)
class BlockLayout:
    """Where each run of one slice falls in its blocks x levels table, whatever the metric.

    ``keys``: every block that holds a placed run, sorted as tables list blocks; ``levels``:
    the columns (the requested levels, else those seen); ``slots[i, j]``: the row of the
    slice holding block i's run of level j, -1 for none; ``shared``: the cells holding
    several runs (their rows), averaged when filled. Placing runs is most of the cost of a
    :func:`block_table` and the same for every metric of a slice: comparisons build the
    layout once per slice (:meth:`ranking.Strata.layout`) and fill it per metric.
    """

    factor: str
    blocks: tuple[str, ...]
    wanted: bool
    unplaced: int
    keys: tuple[tuple[Any, ...], ...]
    levels: tuple[Hashable, ...]
    slots: np.ndarray
    shared: dict[tuple[int, int], list[int]]

    @functools.cached_property
    def digest(self) -> bytes:
        """Everything filling this layout reads besides the numbers (a :class:`StatsMemo` key)."""
        placed = (self.factor, self.blocks, self.wanted, self.unplaced, self.keys, self.levels,
                  sorted(self.shared.items()), self.slots.shape)
        return memo_key("block layout", self.slots.tobytes(), repr(placed))


def block_layout(
    frame: pd.DataFrame,
    factor: str,
    blocks: str | Sequence[str],
    levels: Sequence[Hashable] | None = None,
) -> BlockLayout:
    """Place the runs of ``frame`` by block and level of ``factor`` (see :func:`block_table`)."""
    block_cols = _as_tuple(blocks)
    columns = [frame[c].tolist() for c in (*block_cols, factor)]
    wanted = None if levels is None else list(dict.fromkeys(levels))
    allowed = None if wanted is None else set(wanted)
    cells: dict[tuple[Any, ...], dict[Hashable, list[int]]] = {}
    placed = [
        all(flags)
        for flags in zip(*([v is not None and not (isinstance(v, float) and v != v) for v in col]
                           for col in columns), strict=True)
    ]  # _placeable (core.values.is_missing) inlined: this runs per run of every comparison
    unplaced = placed.count(False)
    seen: dict[Hashable, None] = {}
    for position, (key, ok) in enumerate(zip(zip(*columns, strict=True), placed, strict=True)):
        if not ok:
            continue
        level = key[-1]
        if allowed is not None and level not in allowed:
            continue
        seen[level] = None
        cells.setdefault(key[:-1], {}).setdefault(level, []).append(position)
    names = wanted if wanted is not None else list(seen)
    column = {level: j for j, level in enumerate(names)}
    keys = _sorted_blocks(list(cells))
    slots = np.full((len(keys), len(names)), -1, dtype=np.intp)
    shared: dict[tuple[int, int], list[int]] = {}
    for i, block in enumerate(keys):
        for level, positions in cells[block].items():
            slots[i, column[level]] = positions[0]
            if len(positions) > 1:
                shared[(i, column[level])] = positions
    return BlockLayout(factor=factor, blocks=block_cols, wanted=wanted is not None,
                       unplaced=unplaced, keys=tuple(keys), levels=tuple(names), slots=slots,
                       shared=shared)


@dataclass(frozen=True)
class Filled:
    """A slice's blocks x levels numbers of one metric, without pandas (what the tests read).

    ``values``: the complete blocks (rows, in :attr:`BlockLayout.keys` order) x the levels
    with a value (``levels``, in column order); ``rows``: which of the layout's blocks those
    are; ``dropped`` and ``missing_levels`` as in :class:`BlockTable`.
    """

    values: np.ndarray
    levels: list[Hashable]
    rows: np.ndarray
    dropped: int
    missing_levels: tuple[Hashable, ...]


def fill_values(layout: BlockLayout, numbers: Sequence[float]) -> Filled:
    """The slice's :class:`Filled` table of one metric; ``numbers``: its value per row.

    The numbers of :func:`fill_layout` without building a frame: a campaign fills hundreds
    of small tables, and the frames were half of each comparison's cost.
    """
    cells = np.array([*numbers, NAN], dtype=float)  # slot -1: the NaN
    grid = cells[layout.slots]
    for (i, j), positions in layout.shared.items():
        # several runs in one cell: their mean, NaN ignored (a NaN alone stays NaN)
        grid[i, j] = _cell_mean([float(cells[p]) for p in positions])
    measured = ~np.isnan(grid)
    present = [lv for lv, any_value in zip(layout.levels, measured.any(axis=0), strict=True)
               if any_value]
    if layout.wanted:
        order = present
        found = set(present)
        missing = tuple(lv for lv in layout.levels if lv not in found)
    else:
        order = sort_levels(present)
        missing = ()
    column = {level: j for j, level in enumerate(layout.levels)}
    chosen = [column[lv] for lv in order]
    if order:
        complete = measured[:, chosen].all(axis=1)
        dropped = len(layout.keys) - int(complete.sum())
    else:
        complete = np.zeros(len(layout.keys), dtype=bool)
        dropped = 0
    rows = np.flatnonzero(complete)
    return Filled(values=grid[np.ix_(rows, chosen)], levels=order, rows=rows,
                  dropped=int(dropped), missing_levels=missing)


def fill_frame(layout: BlockLayout, frame: pd.DataFrame, value: str) -> Filled:
    """:func:`fill_values` of ``frame``'s column ``value`` (the slice ``layout`` was built from)."""
    return fill_values(layout, numbers_of(frame[value]))


def fill_layout(layout: BlockLayout, frame: pd.DataFrame, value: str) -> BlockTable:
    """:func:`block_table` of ``value`` for the slice ``layout`` was built from."""
    filled = fill_frame(layout, frame, value)
    kept = [layout.keys[i] for i in filled.rows]
    block_cols = layout.blocks
    if len(block_cols) == 1:
        index = pd.Index([b[0] for b in kept], name=block_cols[0])
    else:  # one label per block, the tuple itself (a MultiIndex costs more than the tests)
        index = pd.Index(kept, dtype=object, tupleize_cols=False, name=", ".join(block_cols))
    table = pd.DataFrame(filled.values, index=index,
                         columns=pd.Index(filled.levels, name=layout.factor, dtype=object))
    return BlockTable(
        table=table,
        dropped=filled.dropped,
        factor=layout.factor,
        blocks=block_cols,
        value=value,
        unplaced=int(layout.unplaced),
        missing_levels=filled.missing_levels,
    )


def block_table(
    frame: pd.DataFrame,
    factor: str,
    blocks: str | Sequence[str],
    value: str,
    levels: Sequence[Hashable] | None = None,
) -> BlockTable:
    """Pivot runs to blocks x levels of ``factor``, keeping only complete blocks.

    Runs are paired by block (e.g. the same ``split_index`` and ``seed``), so a level is only
    compared with another on the data both saw. When a block holds several runs of one level
    (merged campaigns, repeated runs) their values are *averaged* into one cell, NaN values
    ignored, so that every block weighs the same in ranks and tests. A block missing any level
    is dropped (counted in ``dropped``): rank-based tests need every level in every block.

    ``levels`` restricts and orders the columns; without it the levels present are sorted by
    :func:`sort_levels`. Runs whose factor or block key is missing cannot be paired and are
    counted in ``unplaced``.

    Plain Python over the columns' lists: a campaign runs hundreds of these on a few dozen
    runs each, where pandas' per-call overhead (groupby, unstack) was most of the build.
    The two halves, :func:`block_layout` and :func:`fill_layout`, let a slice compared on
    several metrics place its runs once.
    """
    return fill_layout(block_layout(frame, factor, blocks, levels), frame, value)


# --------------------------------------------------------------------------- ranks


def block_ranks(table: pd.DataFrame, lower_is_better: bool) -> pd.DataFrame:
    """Rank the levels within every block: 1 = best, ties get the average rank.

    Ranks within a block remove the block's own difficulty (an easy split lifts every level
    alike), which is why Demšar's tests work on them instead of on raw values.
    """
    values = table.to_numpy(dtype=float)
    signed = values if lower_is_better else -values
    ranks = dist.row_ranks(signed)
    return pd.DataFrame(ranks, index=table.index, columns=table.columns)


def mean_ranks(table: pd.DataFrame, lower_is_better: bool) -> pd.Series:
    """Mean rank of each level over the complete blocks (1 = best); NaN without blocks.

    Higher values are better unless ``lower_is_better`` (losses): this matches
    ``autorank(order="descending")`` and ``order="ascending"`` respectively. Expects a
    complete table (see :func:`block_table`): a block holding a NaN gets NaN ranks and is
    left out of the mean.
    """
    ranks = block_ranks(table, lower_is_better)
    means = ranks.mean(axis=0) if len(ranks) else pd.Series(NAN, index=table.columns)
    return pd.Series(means.to_numpy(dtype=float), index=table.columns, name="mean_rank")


def level_mean_ranks(values: np.ndarray, lower_is_better: bool) -> np.ndarray:
    """:func:`mean_ranks` of a complete table's numbers (:attr:`Filled.values`), as an array.

    Ranks are half-integers, so their sums are exact in any order: the same floats as
    pandas' mean over the frame.
    """
    if not len(values):
        return np.full(values.shape[1], NAN)
    return dist.row_ranks(values if lower_is_better else -values).mean(axis=0)


# --------------------------------------------------------------------------- thresholds


def smallest_wilcoxon_p(nonzero: int) -> float:
    """The smallest two-sided p a Wilcoxon test of ``nonzero`` nonzero differences can give.

    Zero differences are dropped (scipy's default), so it is the nonzero ones that count: the
    most extreme outcome, every difference of one sign, has exact p = 2 / 2**n.
    """
    return min(1.0, 2.0 / 2.0**nonzero) if nonzero > 0 else 1.0


def min_wilcoxon_pairs(alpha: float = DEFAULT_ALPHA) -> int:
    """Fewest pairs with which a two-sided Wilcoxon test can reach ``alpha`` (6 at 0.05).

    With n pairs and no ties the most extreme outcome has exact two-sided p = 2 / 2**n
    (:func:`smallest_wilcoxon_p`), so below this count a p-value could never be significant
    and would only mislead.
    """
    n = 1
    while smallest_wilcoxon_p(n) > alpha:
        n += 1
    return n


def smallest_holm_p(pairs: Sequence[dict[str, Any]]) -> float:
    """The smallest Holm-adjusted p that a family of pairwise tests could give, whatever the data.

    Holm multiplies the smallest p by the number of tested pairs m, so no pair can be
    significant unless m x (the smallest attainable p) is below alpha. With 6 blocks and 3
    levels that is 3 x 2/64 = 0.094: at alpha 0.05 "not significantly worse" would then hold
    of every level, whatever the numbers, and says nothing. NaN when no pair was tested.
    """
    tested = [row for row in pairs if not math.isnan(row["wilcoxon_p"])]
    if not tested:
        return NAN
    return min(1.0, len(tested) * min(smallest_wilcoxon_p(row["nonzero"]) for row in tested))


def min_friedman_blocks(levels: int, alpha: float = DEFAULT_ALPHA) -> int:
    """Fewest blocks (>= 2) with which the Friedman chi2 test can reach ``alpha``.

    The statistic is at most N(k-1) (every block ranks the levels identically), so with fewer
    blocks than returned here even perfect agreement would not be significant. For k = 3 at
    alpha 0.05 this is 3 blocks (smallest p with 2 is exp(-2) = 0.135).
    """
    if levels < 3:
        raise ValueError("the Friedman test needs at least 3 levels")
    n = 2
    while dist.chi2_sf(n * (levels - 1), levels - 1) > alpha:
        n += 1
    return n


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


# --------------------------------------------------------------------------- pairwise


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (monotone, capped at 1); NaN stays NaN.

    The family is the non-NaN p-values only: a pair that could not be tested does not inflate
    the correction of the others. Sorted ascending, p_(i) becomes
    max_{j <= i} min(1, (m - j + 1) p_(j)), so tied p-values get the same adjusted value.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(~np.isnan(p))
    if idx.size == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    m = order.size
    scaled = (m - np.arange(m)) * p[order]
    out[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return out


# scipy 1.17 ``wilcoxon(method="auto")`` with ties or zero differences runs an exact permutation
# test over all 2**n sign flips when 2**n <= 9999 (its default n_resamples), i.e. n <= 13 pairs
# (n counts the zero differences too), and the normal approximation above that.
SIGN_FLIP_MAX_PAIRS = 13
# permutation_test's relative tolerance for null statistics equal to the observed one
_PERMUTATION_RTOL = 100 * float(np.finfo(np.float64).eps)


@functools.cache
def _subset_matrix(m: int) -> np.ndarray:
    """(2**m, m) 0/1 matrix: row k selects the observations whose bit is set in k (read-only)."""
    codes = np.arange(2**m, dtype=np.int64)[:, None]
    matrix = ((codes >> np.arange(m, dtype=np.int64)) & 1).astype(float)
    matrix.flags.writeable = False
    return matrix


def _sign_flip_p(observed: float, ranks: Sequence[float]) -> float:
    """Exact two-sided sign-flip p of the Wilcoxon statistic, as scipy's permutation path.

    scipy computes r_plus (sum of the average ranks of |d| over the positive d, zeros dropped)
    for every one of the 2**n sign vectors and returns 2 * min(P(null <= obs), P(null >= obs))
    clipped to 1, with a relative tolerance of 100 eps on obs. Flipping signs leaves the ranks
    unchanged, so the null values are the sums of every subset of the nonzero ranks: zeros
    only repeat each value 2**zeros times, which leaves the proportions unchanged. Ranks are
    half-integers, so every sum is exact and the p-value is bit-for-bit scipy's.
    ``observed``: r_plus of the data; ``ranks``: the average ranks of the nonzero |d|.
    """
    null = _subset_matrix(len(ranks)) @ np.asarray(ranks)
    gamma = abs(_PERMUTATION_RTOL * observed)
    less = np.count_nonzero(null <= observed + gamma) / null.size
    greater = np.count_nonzero(null >= observed - gamma) / null.size
    return min(1.0, 2.0 * min(less, greater))


def _signed_ranks(diff: np.ndarray) -> tuple[Sequence[float], float, int, float]:
    """The Wilcoxon test's view of paired differences without NaN.

    The average ranks of the nonzero |d|, r_plus (the sum of those of the positive d), the
    number of tie groups among them and the tie term ``sum(t**3 - t)``. Short rows are ranked
    in Python lists, from :data:`ARRAY_RANKS_FROM` pairs on in numpy: ranks are half-integers
    and group sizes integers, so every sum is exact and both give the same numbers.
    """
    if diff.size >= ARRAY_RANKS_FROM:
        nonzero_array = diff[diff != 0]
        array_ranks, ties = dist.average_ranks(np.abs(nonzero_array))
        sizes = ties[ties > 0]
        return (array_ranks, float(array_ranks[nonzero_array > 0].sum()), int(sizes.size),
                float((sizes**3 - sizes).sum()))
    nonzero = [d for d in diff.tolist() if d != 0]
    ranks, groups = dist.average_ranks_list([abs(d) for d in nonzero])
    r_plus = float(sum(r for d, r in zip(nonzero, ranks, strict=True) if d > 0))
    return ranks, r_plus, len(groups), float(sum(t**3 - t for t in groups))


def _flips(pairs: int, nonzero: int, groups: int) -> bool:
    """scipy's rule: its exact permutation path for at most 13 pairs with zeros or ties."""
    return pairs <= SIGN_FLIP_MAX_PAIRS and (nonzero < pairs or groups < nonzero)


def _uses_sign_flips(diff: np.ndarray) -> bool:
    """Whether scipy's default ``wilcoxon`` takes its (slow) exact permutation path."""
    if diff.size > SIGN_FLIP_MAX_PAIRS or np.isnan(diff).any():
        return False
    ranks, _, groups, _ = _signed_ranks(diff)
    return _flips(diff.size, len(ranks), groups)


def wilcoxon_p(
    a_values: Sequence[float] | np.ndarray,
    b_values: Sequence[float] | np.ndarray,
    alpha: float = DEFAULT_ALPHA,
) -> tuple[float, str]:
    """Two-sided Wilcoxon signed-rank p of paired values, and a note when there is none.

    The p-value is the one of ``scipy.stats.wilcoxon(a, b)`` with default arguments (zero
    differences dropped, method "auto"). Two cases are decided here instead: fewer pairs than
    :func:`min_wilcoxon_pairs` give NaN (the test could never reject), and all-zero
    differences give p = 1.0: identical results are no evidence of a difference, and scipy's
    answer there depends on its version and sample size (1.0, NaN or an error).
    Cost: with ties or zero differences and at most 13 pairs, scipy 1.17 enumerates all 2**n
    sign flips calling its statistic once per flip (about 1 s per call at n = 13); that case
    is computed here by :func:`_sign_flip_p` with the same result in well under a millisecond.
    Its exact null without ties and its normal approximation are computed here too, with the
    same bits (:mod:`.distributions`); only NaN differences are left to scipy.
    """
    a = np.asarray(a_values, dtype=float)
    b = np.asarray(b_values, dtype=float)
    n = a.size
    needed = min_wilcoxon_pairs(alpha)
    if n < needed:
        return NAN, f"{_plural(n, 'pair')}: too few for a Wilcoxon test at alpha {alpha:g}"
    diff = a - b
    if np.all(diff == 0):
        return 1.0, f"all {n} differences are zero: p set to 1"
    if np.isnan(diff).any():
        from scipy import stats  # rare path; the import costs ~1 s (see distributions)

        return float(stats.wilcoxon(a, b).pvalue), ""
    ranks, r_plus, groups, tie_correct = _signed_ranks(diff)
    if _flips(n, len(ranks), groups):
        return _sign_flip_p(r_plus, ranks), ""
    if len(ranks) == n and groups == n and n <= EXACT_MAX_PAIRS:
        return dist.wilcoxon_exact_p(n, int(r_plus)), ""
    return _asymptotic_p(len(ranks), r_plus, tie_correct), ""


#: scipy 1.17's ``wilcoxon(method="auto")`` uses its exact null up to this many untied pairs.
EXACT_MAX_PAIRS = 50
#: From this many pairs on, :func:`_signed_ranks` ranks in numpy rather than in Python lists
#: (~100 us a call from 140 pairs on, against ~0.6 us a pair): a pooled comparison of 10,000
#: runs tests pairs of hundreds of blocks. Such rows take neither the sign-flip nor the exact
#: path (13 and 50 pairs at most).
ARRAY_RANKS_FROM = 140


def _asymptotic_p(count: int, r_plus: float, tie_correct: float) -> float:
    """scipy's two-sided normal approximation (tie-corrected, no continuity correction).

    The same operations in the same order as ``scipy.stats.wilcoxon`` 1.17 when it
    approximates (more than 50 pairs, or ties or zeros above 13 pairs), so the same bits,
    at a hundredth of the cost of a call (tests compare the two).
    """
    n = float(count)
    mn = n * (n + 1.0) * 0.25
    se = n * (n + 1.0) * (2.0 * n + 1.0)
    se = math.sqrt((se - tie_correct / 2) / 24)
    if se == 0:
        return NAN
    z = (r_plus - mn) / se
    return dist.normal_two_sided_p(z)


def _better(mean_diff: float, a: Hashable, b: Hashable, lower_is_better: bool) -> Hashable:
    if not mean_diff or math.isnan(mean_diff):
        return ""
    a_higher = mean_diff > 0
    return a if a_higher != lower_is_better else b


def pairwise(
    table: pd.DataFrame, lower_is_better: bool, alpha: float = DEFAULT_ALPHA
) -> pd.DataFrame:
    """Paired comparison of every two levels: effect size, Wilcoxon p and Holm-adjusted p.

    One row per pair (a, b) with a before b in the table's level order. ``mean_diff`` is the
    mean of a - b over the blocks where both have a value (all blocks of a complete table),
    ``diff_ci95`` its Student-t half-width: the effect size a reader can judge, which the
    p-value alone is not. The Holm family is the pairs of this one table. ``better`` names the
    level that is significantly better (holm_p < alpha, direction from mean_diff and
    ``lower_is_better``), else "". ``note`` says why a p-value is missing or fixed.
    """
    rows = pairwise_records(table, lower_is_better, alpha)
    return pd.DataFrame(rows, columns=list(PAIR_FRAME_COLUMNS)).astype({"pairs": int})


def pairwise_records(
    table: pd.DataFrame, lower_is_better: bool, alpha: float = DEFAULT_ALPHA
) -> list[dict[str, Any]]:
    """:func:`pairwise`'s rows as plain dicts (what the campaign loops read, without pandas)."""
    return pair_records(table.to_numpy(dtype=float), list(table.columns), lower_is_better,
                        alpha)


def pair_records(
    values: np.ndarray, levels: Sequence[Hashable], lower_is_better: bool,
    alpha: float = DEFAULT_ALPHA,
) -> list[dict[str, Any]]:
    """:func:`pairwise_records` of a table's numbers (blocks x ``levels``)."""
    rows: list[dict[str, Any]] = []
    for i, a in enumerate(levels):
        for j in range(i + 1, len(levels)):
            av, bv = values[:, i], values[:, j]
            both = ~(np.isnan(av) | np.isnan(bv))
            av, bv = av[both], bv[both]
            diff = av - bv
            p, note = wilcoxon_p(av, bv, alpha)
            rows.append(
                {
                    "a": a,
                    "b": levels[j],
                    "pairs": int(diff.size),
                    "nonzero": int(np.count_nonzero(diff)),
                    "mean_diff": float(diff.mean()) if diff.size else NAN,
                    "diff_ci95": ci95(diff.tolist()),
                    "wilcoxon_p": p,
                    "holm_p": NAN,
                    "better": "",
                    "note": note,
                }
            )
    adjusted = holm([row["wilcoxon_p"] for row in rows]) if rows else []
    for row, holm_p in zip(rows, adjusted, strict=True):
        row["holm_p"] = float(holm_p)
        if holm_p < alpha:
            row["better"] = _better(row["mean_diff"], row["a"], row["b"], lower_is_better)
    return rows


# --------------------------------------------------------------------------- omnibus


@dataclass(frozen=True)
class Omnibus:
    """Result of the omnibus test over all levels of one complete-block table.

    ``test`` is "friedman" (k >= 3), "wilcoxon" (k == 2: the Wilcoxon signed-rank test of the
    two levels *is* the omnibus test; the Friedman fields stay NaN) or "" (nothing tested), and
    ``p`` is that test's p-value. Every field that cannot be computed is NaN and ``note`` says
    why.
    """

    blocks: int
    levels: int
    test: str = ""
    p: float = NAN
    friedman_chi2: float = NAN
    friedman_p: float = NAN
    iman_davenport_f: float = NAN
    iman_davenport_p: float = NAN
    nemenyi_cd: float = NAN
    note: str = ""


def nemenyi_cd(levels: int, blocks: int, alpha: float = DEFAULT_ALPHA) -> float:
    """Nemenyi critical difference q(1-alpha; k, inf)/sqrt(2) * sqrt(k(k+1)/(6N)).

    q is the exact studentized range quantile from scipy. autorank uses statsmodels' qsturng,
    an interpolated table: for k <= 20 its q differs by up to ~2.5e-4, so autorank's CD agrees
    with this one to a relative 5e-5 (measured), not exactly; k == 2 agrees to rounding.
    """
    if levels < 2 or blocks < 1:
        return NAN
    q = dist.studentized_range_q(levels, alpha)
    return q / math.sqrt(2.0) * math.sqrt(levels * (levels + 1) / (6.0 * blocks))


def iman_davenport(chi2: float, levels: int, blocks: int) -> tuple[float, float]:
    """Iman-Davenport F = (N-1) chi2 / (N(k-1) - chi2) and its F(k-1, (k-1)(N-1)) p-value.

    When every block ranks the levels identically chi2 reaches N(k-1): F is infinite and p 0.
    """
    if math.isnan(chi2) or levels < 3 or blocks < 2:
        return NAN, NAN
    denominator = blocks * (levels - 1) - chi2
    if denominator <= 0:
        return math.inf, 0.0
    f = (blocks - 1) * chi2 / denominator
    p = dist.f_sf(f, levels - 1, (levels - 1) * (blocks - 1))
    return float(f), p


#: The note of every two-level comparison (it explains tests.csv, not a problem of the data).
TWO_LEVELS = "2 levels: the omnibus test is the Wilcoxon signed-rank test (see pairwise)"


def omnibus(
    table: pd.DataFrame,
    alpha: float = DEFAULT_ALPHA,
    two_levels: tuple[float, str] | None = None,
) -> Omnibus:
    """Friedman + Iman-Davenport test over all levels and the Nemenyi CD of a complete table.

    chi2 and p are exactly ``scipy.stats.friedmanchisquare(*columns)`` (tie-corrected, what
    autorank calls). Thresholds, chosen so that no p-value is shown that could never be
    significant: fewer than 2 levels or blocks -> nothing; k == 2 -> the Wilcoxon test (needs
    :func:`min_wilcoxon_pairs` blocks); k >= 3 -> Friedman, Iman-Davenport and the CD need
    :func:`min_friedman_blocks` blocks. One deliberate deviation from scipy: if every block ties
    all levels scipy returns NaN (0/0); here chi2 = 0 and p = 1, since the data show no
    difference at all.
    """
    return omnibus_values(table.to_numpy(dtype=float), alpha, two_levels)


def omnibus_values(
    values: np.ndarray, alpha: float = DEFAULT_ALPHA, two_levels: tuple[float, str] | None = None,
) -> Omnibus:
    """:func:`omnibus` of a complete table's numbers (blocks x levels)."""
    n, k = values.shape
    if k < 2:
        return Omnibus(n, k, note=f"{_plural(k, 'level')}: nothing to compare")
    if n == 0:
        return Omnibus(n, k, note="no complete block: nothing to rank or test")
    if k == 2:
        if two_levels is None:
            two_levels = wilcoxon_p(values[:, 0], values[:, 1], alpha)
        p, why = two_levels
        note = TWO_LEVELS
        return Omnibus(n, k, test="wilcoxon", p=p, note="; ".join(filter(None, [note, why])))
    needed = min_friedman_blocks(k, alpha)
    if n < needed:
        best_p = dist.chi2_sf(n * (k - 1), k - 1)
        note = (
            f"{_plural(n, 'complete block')}: too few for a Friedman test at alpha {alpha:g} "
            f"(need >= {needed}; the smallest possible p with {n} is {best_p:.3g})"
        )
        return Omnibus(n, k, note=note)
    note = ""
    if bool(np.all(values == values[:, :1])):  # every block ties all its levels
        chi2, p = 0.0, 1.0
        note = "every block ties all levels: Friedman chi2 set to 0 and p to 1"
    else:
        chi2, p = dist.friedman(values)
    f, f_p = iman_davenport(chi2, k, n)
    return Omnibus(
        blocks=n,
        levels=k,
        test="friedman",
        p=p,
        friedman_chi2=chi2,
        friedman_p=p,
        iman_davenport_f=f,
        iman_davenport_p=f_p,
        nemenyi_cd=nemenyi_cd(k, n, alpha),
        note=note,
    )


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class Comparison:
    """Everything computed for one factor on one metric: the rows of ranks/tests/pairwise.csv.

    ``rank_records`` (and the frame ``ranks``) hold level, mean_rank (1 = best) and mean (the
    metric's mean over the complete blocks), in level order; ``pair_records`` (``pairwise``)
    one row per pair of levels. ``blocks`` is N (complete blocks), ``levels`` is k. The rows
    are plain dicts because a campaign reads hundreds of these; the frames are built on demand.
    The blocks x levels table itself is not kept (:func:`block_table` builds it).
    """

    factor: str
    metric: str
    lower_is_better: bool
    alpha: float
    blocks: int
    dropped: int
    levels: int
    friedman_chi2: float
    friedman_p: float
    iman_davenport_f: float
    iman_davenport_p: float
    nemenyi_cd: float
    note: str
    omnibus: str = ""
    omnibus_p: float = NAN
    rank_records: list[dict[str, Any]] = field(default_factory=list)
    pair_records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ranks(self) -> pd.DataFrame:
        return pd.DataFrame(self.rank_records, columns=["level", "mean_rank", "mean"])

    @property
    def smallest_holm_p(self) -> float:
        """:func:`smallest_holm_p` of the pairs: at or above alpha, no pair can be significant."""
        return smallest_holm_p(self.pair_records)

    @property
    def pairs_can_reject(self) -> bool:
        """Whether the blocks allow any pairwise difference to be significant at alpha."""
        return self.smallest_holm_p < self.alpha

    @property
    def pairwise(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.pair_records, columns=list(PAIR_FRAME_COLUMNS))
        return frame.astype({"pairs": int})


def compare(
    frame: pd.DataFrame,
    factor: str,
    blocks: str | Sequence[str],
    metric: str,
    lower_is_better: bool,
    alpha: float = DEFAULT_ALPHA,
    levels: Sequence[Hashable] | None = None,
    layout: BlockLayout | None = None,
    memo: StatsMemo | None = None,
) -> Comparison:
    """Compare the levels of ``factor`` on ``metric``, pairing runs by ``blocks``.

    The whole Demšar procedure on one slice of a campaign (callers choose the slice: one
    context, one stratum such as flowpic_dim=32): complete-block table, mean ranks, omnibus
    test with CD, and Holm-adjusted pairwise Wilcoxon tests on the same complete blocks, so
    that every number of one comparison describes the same data. ``layout``: the slice's
    :func:`block_layout` for ``factor``, ``blocks`` and ``levels``, when the caller keeps it
    for several metrics. ``memo``: results of the previous build, taken when this slice's
    runs, numbers and settings are the same.
    """
    if layout is None:
        layout = block_layout(frame, factor, blocks, levels)
    numbers = numbers_of(frame[metric])

    def compute() -> Comparison:
        return compare_filled(fill_values(layout, numbers), factor, metric, lower_is_better,
                              alpha)

    if memo is None:
        return compute()
    key = memo_key("compare", layout.digest, floats(numbers),
                   repr((factor, metric, lower_is_better, alpha)))
    return memo.get(key, compute)


def compare_filled(
    filled: Filled, factor: str, metric: str, lower_is_better: bool,
    alpha: float = DEFAULT_ALPHA,
) -> Comparison:
    """:func:`compare` of a slice's filled table: everything but placing its runs."""
    # column-major, as a frame's numbers come out: the column means sum in the same order
    values = np.asfortranarray(filled.values)
    level_names = filled.levels
    rank_means = level_mean_ranks(values, lower_is_better)
    means = values.mean(axis=0) if len(values) else np.full(len(level_names), NAN)
    rank_records = [
        {"level": lv, "mean_rank": float(r), "mean": float(m)}
        for lv, r, m in zip(level_names, rank_means, means, strict=True)
    ]
    pairs = pair_records(values, level_names, lower_is_better, alpha)
    # two levels: the omnibus test is their one pair's Wilcoxon test, on the same blocks
    pair = pairs[0] if len(pairs) == 1 else None
    test = omnibus_values(values, alpha,
                          None if pair is None else (pair["wilcoxon_p"], pair["note"]))
    notes = []
    if filled.missing_levels:
        missing = ", ".join(map(str, filled.missing_levels))
        notes.append(f"no value for level(s) {missing}")
    if test.note:
        notes.append(test.note)
    return Comparison(
        factor=factor,
        metric=metric,
        lower_is_better=lower_is_better,
        alpha=alpha,
        blocks=test.blocks,
        dropped=filled.dropped,
        levels=test.levels,
        friedman_chi2=test.friedman_chi2,
        friedman_p=test.friedman_p,
        iman_davenport_f=test.iman_davenport_f,
        iman_davenport_p=test.iman_davenport_p,
        nemenyi_cd=test.nemenyi_cd,
        note="; ".join(notes),
        omnibus=test.test,
        omnibus_p=test.p,
        rank_records=rank_records,
        pair_records=pairs,
    )


def best_level(comparison: Comparison) -> Hashable | None:
    """The best level: lowest mean rank, then best mean, then first in level order.

    None when there is no complete block (nothing can be called best).
    """
    ranks = comparison.rank_records
    if not ranks or all(math.isnan(r["mean_rank"]) for r in ranks):
        return None
    sign = 1.0 if comparison.lower_is_better else -1.0
    keyed = [
        (row["mean_rank"], sign * row["mean"], position, row["level"])
        for position, row in enumerate(ranks)
    ]
    return min(keyed, key=lambda item: item[:3])[3]


def not_worse_than_best(comparison: Comparison) -> set[Hashable]:
    """Levels not significantly worse than the best level (used to mark paper-table cells).

    The best level is :func:`best_level`; a level is excluded only when its pair with the best
    has a Holm-adjusted Wilcoxon p below alpha with the best as the better side. A pair that
    could not be tested (too few blocks) therefore keeps the level: absence of evidence is not
    evidence of being worse. Empty when there is no complete block.
    """
    best = best_level(comparison)
    if best is None:
        return set()
    keep = {row["level"] for row in comparison.rank_records}
    for row in comparison.pair_records:
        if best not in (row["a"], row["b"]):
            continue
        other = row["b"] if row["a"] == best else row["a"]
        if row["holm_p"] < comparison.alpha and row["better"] == best:
            keep.discard(other)
    return keep


def significant_pairs(comparison: Comparison) -> list[tuple[Hashable, Hashable]]:
    """(better, worse) for every pair whose Holm-adjusted p is below alpha."""
    found = []
    for row in comparison.pair_records:
        if row["holm_p"] < comparison.alpha and row["better"] != "":
            worse = row["b"] if row["better"] == row["a"] else row["a"]
            found.append((row["better"], worse))
    return found


# --------------------------------------------------------------------------- CSV rows


def _context(
    metric: str, context: str, factor: str, stratum: str
) -> dict[str, Any]:
    return {"metric": metric, "context": context, "factor": factor, "stratum": stratum}


def ranks_rows(
    comparison: Comparison, metric: str, context: str, factor: str, stratum: str
) -> list[dict[str, Any]]:
    """Rows of ranks.csv (columns :data:`RANK_COLUMNS`), in level order."""
    head = _context(metric, context, factor, stratum)
    return [
        {**head, "level": row["level"], "mean_rank": float(row["mean_rank"]),
         "blocks": comparison.blocks}
        for row in comparison.rank_records
    ]


def tests_row(
    comparison: Comparison, metric: str, context: str, factor: str, stratum: str
) -> dict[str, Any]:
    """The row of tests.csv (columns :data:`TEST_COLUMNS`)."""
    return {
        **_context(metric, context, factor, stratum),
        "blocks": comparison.blocks,
        "levels": comparison.levels,
        "friedman_chi2": comparison.friedman_chi2,
        "friedman_p": comparison.friedman_p,
        "iman_davenport_f": comparison.iman_davenport_f,
        "iman_davenport_p": comparison.iman_davenport_p,
        "nemenyi_cd": comparison.nemenyi_cd,
        "dropped_blocks": comparison.dropped,
        "note": comparison.note,
        "omnibus": comparison.omnibus,
        "omnibus_p": comparison.omnibus_p,
        "smallest_holm_p": comparison.smallest_holm_p,
    }


def pairwise_rows(
    comparison: Comparison, metric: str, context: str, factor: str, stratum: str
) -> list[dict[str, Any]]:
    """Rows of pairwise.csv (columns :data:`PAIRWISE_COLUMNS`), in pair order."""
    head = _context(metric, context, factor, stratum)
    rows = []
    for row in comparison.pair_records:
        rows.append(
            {
                **head,
                "a": row["a"],
                "b": row["b"],
                "pairs": int(row["pairs"]),
                "nonzero": int(row["nonzero"]),
                "mean_diff": float(row["mean_diff"]),
                "diff_ci95": float(row["diff_ci95"]),
                "wilcoxon_p": float(row["wilcoxon_p"]),
                "holm_p": float(row["holm_p"]),
                "better": row["better"],
                "note": row["note"],
            }
        )
    return rows


# --------------------------------------------------------------------------- seeds vs splits


@dataclass(frozen=True)
class VarianceLayout:
    """Where each run of one configuration falls in its split x seed grid, whatever the metric.

    ``placed``: per row, whether its split and seed can place it; ``cells``: each (split, seed)
    cell with its rows, in :func:`_block_key` order. Computed once per configuration and
    reused for every metric (sorting the cells was most of a metric's cost).
    """

    placed: list[bool]
    cells: list[tuple[tuple[Any, Any], list[int]]]

    @functools.cached_property
    def digest(self) -> bytes:
        """Where the runs fall, as a :class:`StatsMemo` key part."""
        return memo_key("variance layout", repr((self.placed, self.cells)))


def variance_layout(frame: pd.DataFrame, split: str, seed: str) -> VarianceLayout:
    """:class:`VarianceLayout` of ``frame``'s runs."""
    placed = []
    by_cell: dict[tuple[Any, Any], list[int]] = {}
    for row, (sp, sd) in enumerate(zip(frame[split].tolist(), frame[seed].tolist(),
                                       strict=True)):
        ok = _placeable(sp) and _placeable(sd)
        placed.append(ok)
        if ok:
            by_cell.setdefault((sp, sd), []).append(row)
    cells = sorted(by_cell.items(), key=lambda item: _block_key(item[0]))
    return VarianceLayout(placed=placed, cells=cells)


def variance_components(
    frame: pd.DataFrame, split: str, seed: str, value: str,
    layout: VarianceLayout | None = None,
    memo: StatsMemo | None = None,
) -> dict[str, float | int]:
    """Spread of one configuration's runs, split into a split part and a seed part.

    A split changes the data, a seed only the training randomness; the ci95 of a group pools
    both, but whether more seeds or more splits narrow it depends on which dominates.

    Model: runs are averaged per (split, seed) cell (duplicates, NaN ignored), then seeds are
    treated as *nested* in splits: y_ij = mu + a_i + e_ij, a one-way random-effects ANOVA of
    the splits. The same seed number in another split trains another model on other data, so
    no seed effect shared across splits is assumed. Method of moments, valid for unequal
    numbers of seeds per split (incomplete grids keep all their cells):
    sd_seed^2 = MSW, sd_split^2 = max(0, (MSB - MSW) / n0), n0 = (N - sum n_i^2 / N) / (a - 1).

    Returns ``n_runs`` (runs with a value), ``n_splits``, ``n_seeds`` (distinct seeds),
    ``sd_total`` (sample sd over all runs), ``sd_split`` and ``sd_seed``. With one split the
    split part is NaN; with one seed per split neither part can be told apart: both NaN.
    ``memo``: results of the previous build, taken for the same runs and numbers.
    """
    if layout is None:
        layout = variance_layout(frame, split, seed)
    numbers = numbers_of(frame[value])
    if memo is None:
        return _variance_components(layout, numbers)
    key = memo_key("variance", layout.digest, floats(numbers))
    return dict(memo.get(key, lambda: _variance_components(layout, numbers)))


def _variance_components(layout: VarianceLayout, numbers: list[float]) -> dict[str, float | int]:
    """:func:`variance_components` of one metric's numbers (one per row of the layout)."""
    kept = [n for n, ok in zip(numbers, layout.placed, strict=True) if ok and not math.isnan(n)]
    runs = np.array(kept, dtype=float)
    sd_total = float(np.std(runs, ddof=1)) if runs.size >= 2 else NAN
    by_split: dict[Any, list[float]] = {}
    seeds = set()
    for (sp, sd), rows in layout.cells:
        cell = [numbers[i] for i in rows if not math.isnan(numbers[i])]
        if not cell:
            continue
        seeds.add(sd)
        by_split.setdefault(sp, []).append(cell[0] if len(cell) == 1 else float(np.mean(cell)))
    groups = [np.array(cells, dtype=float) for cells in by_split.values()]
    n_i = np.array([g.size for g in groups], dtype=float)
    a = len(groups)
    total = float(n_i.sum())
    result: dict[str, float | int] = {
        "n_runs": int(runs.size),
        "n_splits": a,
        "n_seeds": len(seeds),
        "sd_total": sd_total,
        "sd_split": NAN,
        "sd_seed": NAN,
    }
    df_within = total - a
    if a == 0 or df_within <= 0:
        return result
    ss_within = float(sum(((g - g.mean()) ** 2).sum() for g in groups))
    ms_within = ss_within / df_within
    result["sd_seed"] = math.sqrt(ms_within)
    if a < 2:
        return result
    grand = float(np.concatenate(groups).mean())
    ss_between = float(sum(g.size * (g.mean() - grand) ** 2 for g in groups))
    ms_between = ss_between / (a - 1)
    n0 = (total - float((n_i**2).sum()) / total) / (a - 1)
    result["sd_split"] = math.sqrt(max(0.0, (ms_between - ms_within) / n0))
    return result


def spread_verdict(components: Mapping[str, float | int]) -> str:
    """One sentence telling whether more splits or more seeds would narrow the interval.

    The mean of a configuration over a splits x b seeds has variance
    sd_split^2 / a + sd_seed^2 / (a b): when the split part dominates only more splits help;
    when the seed part dominates any extra run helps. "Dominates" means at least
    :data:`DOMINANT_SHARE` of the summed variance components.
    """
    sd_split = float(components.get("sd_split", NAN))
    sd_seed = float(components.get("sd_seed", NAN))
    if math.isnan(sd_seed):
        return "one seed per split: the split and seed spread cannot be told apart"
    if math.isnan(sd_split):
        return "one split only: the split spread cannot be estimated, run more splits"
    v_split, v_seed = sd_split**2, sd_seed**2
    if v_split + v_seed == 0:
        return "no spread between runs: neither more seeds nor more splits change the interval"
    share = v_split / (v_split + v_seed)
    if share >= DOMINANT_SHARE:
        return (
            "most of the spread comes from the split: "
            "more splits, not more seeds, narrow the interval"
        )
    if share <= 1.0 - DOMINANT_SHARE:
        return (
            "most of the spread comes from the seed: any extra run narrows the interval, "
            "a new seed as well as a new split"
        )
    return "split and seed contribute about equally"
