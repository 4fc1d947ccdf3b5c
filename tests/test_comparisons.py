"""Statistical comparisons (summarise.comparisons) and the CD diagram (render.cd_diagram).

Reference values come from scipy itself, from autorank (what the tcbench paper notebooks
used) and from small hand computations.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import math
import pickle
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tcsummary.render import cd_diagram as cdd
from tcsummary.summarise import comparisons as cmp
from tcsummary.summarise.memo import StatsMemo

BLOCKS = ("split_index", "seed")
AUGS = ("noaug", "rotate", "horizontal-flip", "colorjitter", "packet-loss")
SHIFT = {"noaug": 0.0, "rotate": 2.5, "horizontal-flip": 0.7, "colorjitter": -1.0,
         "packet-loss": 0.2}
SVG = "{http://www.w3.org/2000/svg}"


def _campaign(seed: int = 7) -> pd.DataFrame:
    """5 augmentations x 6 splits x 3 seeds, integer accuracies (many ties), 3 NaN cells,
    one block with a duplicated run (two campaigns merged).

    16 complete blocks: above 13, so scipy's Wilcoxon with ties takes its fast normal
    approximation (at 13 or fewer it enumerates 2**n sign flips, ~1 s per call).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for aug, split, run_seed in itertools.product(AUGS, range(6), range(3)):
        acc = round(90 + SHIFT[aug] + rng.normal(0, 1.2))
        rows.append({"aug_name": aug, "split_index": split, "seed": run_seed,
                     "flowpic_dim": 32, "acc": float(acc), "loss": 1.0 - acc / 100})
    frame = pd.DataFrame(rows)
    missing = [(frame.aug_name == "rotate") & (frame.split_index == 0) & (frame.seed == 1),
               (frame.aug_name == "noaug") & (frame.split_index == 3) & (frame.seed == 2),
               (frame.aug_name == "colorjitter") & (frame.split_index == 3) & (frame.seed == 2)]
    for mask in missing:
        frame.loc[mask, ["acc", "loss"]] = np.nan
    duplicate = frame[(frame.split_index == 4) & (frame.seed == 0) & (frame.aug_name == "noaug")]
    duplicate = duplicate.assign(acc=duplicate.acc + 2.0)
    return pd.concat([frame, duplicate], ignore_index=True)


@pytest.fixture(scope="module")
def campaign() -> pd.DataFrame:
    return _campaign()


def _autorank(table: pd.DataFrame, order: str):
    autorank = pytest.importorskip("autorank")
    # autorank prints its rank table, and its effect sizes divide by zero on tied columns
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return autorank.autorank(table.rename_axis(columns=None), alpha=0.05, verbose=False,
                                 order=order, force_mode="nonparametric")


# --------------------------------------------------------------------------- block table


def test_block_table_averages_duplicates_and_drops_incomplete(campaign):
    built = cmp.block_table(campaign, "aug_name", BLOCKS, "acc")
    assert list(built.table.columns) == sorted(AUGS)
    assert built.table.columns.name == "aug_name"
    assert built.dropped == 2  # (0, 1) and (3, 2); the two NaNs of (3, 2) share a block
    assert len(built.table) == 18 - 2
    assert not built.table.isna().any().any()
    runs = campaign[(campaign.split_index == 4) & (campaign.seed == 0)
                    & (campaign.aug_name == "noaug")].acc
    assert len(runs) == 2
    by_block = dict(zip(built.table.index, built.table["noaug"], strict=True))
    assert by_block[(4, 0)] == pytest.approx(runs.mean())
    assert list(built.table.index) == sorted(built.table.index)


def test_block_table_level_order_and_missing_levels():
    frame = pd.DataFrame({"flowpic_dim": [1500, 32, 64] * 2, "split_index": [0] * 3 + [1] * 3,
                          "acc": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    built = cmp.block_table(frame, "flowpic_dim", "split_index", "acc")
    assert list(built.table.columns) == [32, 64, 1500]  # numerically, not as text
    chosen = cmp.block_table(frame, "flowpic_dim", ["split_index"], "acc", levels=[64, 32, 7])
    assert list(chosen.table.columns) == [64, 32]
    assert chosen.missing_levels == (7,)
    assert cmp.sort_levels(["b", 10, "a", 2]) == [10, 2, "a", "b"]  # mixed: by str


def test_block_table_counts_unplaced_runs():
    frame = pd.DataFrame({"aug": ["a", "b", None, "a", "b"], "seed": [0, 0, 0, 1, np.nan],
                          "acc": [1.0, 2.0, 3.0, 4.0, 5.0]})
    built = cmp.block_table(frame, "aug", "seed", "acc")
    assert built.unplaced == 2
    assert built.dropped == 1  # seed 1 has no "b"
    assert built.table.to_numpy().tolist() == [[1.0, 2.0]]


def _reference_table(frame: pd.DataFrame, factor: str, blocks: list[str], value: str,
                     levels: list) -> pd.DataFrame:
    """The block table by pandas: cell means (NaN ignored), levels with a value, complete rows."""
    placed = frame.dropna(subset=[*blocks, factor])
    placed = placed[placed[factor].isin(levels)]
    table = placed.pivot_table(index=blocks, columns=factor, values=value, aggfunc="mean",
                               dropna=False)
    table = table.reindex(columns=[lv for lv in levels if lv in set(table.columns)])
    table = table.loc[:, table.notna().any(axis=0)]
    return table.dropna(axis=0, how="any")


def test_one_layout_filled_per_metric_equals_block_table_and_pandas():
    rng = np.random.default_rng(7)
    rows = [{"aug": aug, "split_index": split, "seed": seed}
            for aug in ["a", "b", "c"] for split in range(4) for seed in range(3)]
    rows += [{"aug": "b", "split_index": 2, "seed": 1}, {"aug": None, "split_index": 0,
                                                         "seed": 0}]  # a repeat, an unplaced run
    frame = pd.DataFrame(rows)
    frame["acc"] = rng.random(len(frame))
    frame["f1"] = frame["acc"] * 2
    frame.loc[frame.aug == "c", "f1"] = np.nan  # a level without any value on this metric
    frame["loss"] = rng.random(len(frame))
    frame.loc[(frame.split_index == 1) & (frame.aug == "a"), "loss"] = np.nan  # blocks dropped
    frame.loc[len(frame) - 2, "loss"] = np.nan  # the repeated cell keeps its other value
    blocks = ["split_index", "seed"]
    levels = ["c", "a", "b", "z"]
    layout = cmp.block_layout(frame, "aug", blocks, levels)
    for metric in ["acc", "f1", "loss"]:
        filled = cmp.fill_layout(layout, frame, metric)
        alone = cmp.block_table(frame, "aug", blocks, metric, levels)
        pd.testing.assert_frame_equal(filled.table, alone.table)
        assert (filled.dropped, filled.unplaced, filled.missing_levels) == (
            alone.dropped, alone.unplaced, alone.missing_levels)
        expected = _reference_table(frame, "aug", blocks, metric, levels)
        assert list(filled.table.columns) == list(expected.columns)
        assert list(filled.table.index) == list(expected.index)
        np.testing.assert_allclose(filled.table.to_numpy(), expected.to_numpy())
        assert filled.unplaced == 1
    assert cmp.fill_layout(layout, frame, "f1").missing_levels == ("c", "z")
    assert cmp.fill_layout(layout, frame, "loss").dropped == 3  # split 1's three seeds



@pytest.mark.parametrize(("metric", "lower"), [("acc", False), ("loss", True)])
def test_compare_reads_the_numbers_the_frame_functions_read(campaign, metric, lower):
    """compare() fills numbers without a frame; its floats are those of the table functions."""
    result = cmp.compare(campaign, "aug_name", BLOCKS, metric, lower)
    table = cmp.block_table(campaign, "aug_name", BLOCKS, metric).table
    assert len(table) >= 8  # long enough for the column sums' order to matter
    assert result.pair_records == cmp.pairwise_records(table, lower)
    test = cmp.omnibus(table, two_levels=None)
    assert (result.friedman_chi2, result.friedman_p, result.nemenyi_cd, result.blocks) == (
        test.friedman_chi2, test.friedman_p, test.nemenyi_cd, test.blocks)
    ranks = cmp.mean_ranks(table, lower)
    assert [r["mean_rank"] for r in result.rank_records] == ranks.tolist()
    assert [r["mean"] for r in result.rank_records] == table.mean(axis=0).tolist()
    filled = cmp.fill_frame(cmp.block_layout(campaign, "aug_name", BLOCKS), campaign, metric)
    assert cmp.level_mean_ranks(filled.values, lower).tolist() == ranks.tolist()

# --------------------------------------------------------------------------- omnibus


def test_friedman_matches_scipy_and_iman_davenport_formula(campaign):
    table = cmp.block_table(campaign, "aug_name", BLOCKS, "acc").table
    result = cmp.omnibus(table)
    expected = stats.friedmanchisquare(*(table[c].to_numpy() for c in table.columns))
    assert result.test == "friedman"
    assert result.friedman_chi2 == expected.statistic
    assert result.friedman_p == expected.pvalue
    n, k = table.shape
    f = (n - 1) * expected.statistic / (n * (k - 1) - expected.statistic)
    assert result.iman_davenport_f == pytest.approx(f, rel=1e-12)
    assert result.iman_davenport_p == pytest.approx(
        stats.f.sf(f, k - 1, (k - 1) * (n - 1)), rel=1e-12)
    q = stats.studentized_range.ppf(0.95, k, np.inf)
    assert result.nemenyi_cd == pytest.approx(q * math.sqrt(k * (k + 1) / (12 * n)), rel=1e-12)


@pytest.mark.parametrize(("metric", "lower_is_better", "order"),
                         [("acc", False, "descending"), ("loss", True, "ascending")])
def test_mean_ranks_cd_and_p_agree_with_autorank(campaign, metric, lower_is_better, order):
    result = cmp.compare(campaign, "aug_name", BLOCKS, metric, lower_is_better)
    table = cmp.block_table(campaign, "aug_name", BLOCKS, metric).table
    reference = _autorank(table, order)
    assert reference.omnibus == "friedman"
    ours = result.ranks.set_index("level")["mean_rank"]
    theirs = reference.rankdf["meanrank"].reindex(ours.index)
    assert np.abs(ours.to_numpy() - theirs.to_numpy(dtype=float)).max() < 1e-12
    assert result.friedman_p == pytest.approx(reference.pvalue, rel=1e-12)
    # autorank interpolates the studentized range (statsmodels qsturng): ~5e-5 relative
    assert result.nemenyi_cd == pytest.approx(reference.cd, rel=1e-4)
    assert any(block.duplicated().any() for _, block in table.iterrows())  # ties


@pytest.mark.parametrize("k", [3, 4, 6, 8, 12])
def test_cd_agrees_with_autorank_for_several_k(k):
    rng = np.random.default_rng(k)
    table = pd.DataFrame(rng.integers(0, 4, size=(12, k)).astype(float),
                         columns=[f"l{j}" for j in range(k)])
    reference = _autorank(table, "descending")
    result = cmp.omnibus(table)
    assert result.nemenyi_cd == pytest.approx(reference.cd, rel=1e-4)
    assert result.friedman_p == pytest.approx(reference.pvalue, rel=1e-12)
    ours = cmp.mean_ranks(table, lower_is_better=False)
    assert np.allclose(ours.to_numpy(), reference.rankdf["meanrank"].reindex(ours.index)
                       .to_numpy(dtype=float), rtol=0, atol=1e-12)


def test_lower_is_better_inverts_ranks(campaign):
    table = cmp.block_table(campaign, "aug_name", BLOCKS, "acc").table
    higher = cmp.mean_ranks(table, lower_is_better=False)
    lower = cmp.mean_ranks(table, lower_is_better=True)
    k = table.shape[1]
    assert np.allclose(lower.to_numpy(), k + 1 - higher.to_numpy())
    assert higher.idxmin() == "rotate"  # the largest shift wins on accuracy


def test_ties_get_average_ranks():
    table = pd.DataFrame({"a": [1.0, 5.0], "b": [1.0, 5.0], "c": [0.0, 5.0]})
    ranks = cmp.block_ranks(table, lower_is_better=False)
    assert ranks.to_numpy().tolist() == [[1.5, 1.5, 3.0], [2.0, 2.0, 2.0]]


def test_too_few_blocks_gives_note_and_no_p_values():
    table = pd.DataFrame({"a": [1.0, 2.0], "b": [2.0, 3.0], "c": [3.0, 4.0]})
    result = cmp.omnibus(table)
    assert math.isnan(result.friedman_p) and math.isnan(result.friedman_chi2)
    assert math.isnan(result.iman_davenport_p) and math.isnan(result.nemenyi_cd)
    assert result.note.startswith("2 complete blocks: too few for a Friedman test at alpha 0.05")
    assert "need >= 3" in result.note
    assert cmp.min_friedman_blocks(3) == 3
    one = cmp.omnibus(table.iloc[:1])
    assert one.note.startswith("1 complete block: too few")
    assert cmp.omnibus(table.iloc[:0]).note == "no complete block: nothing to rank or test"
    assert cmp.omnibus(table[["a"]]).note == "1 level: nothing to compare"
    pairs = cmp.pairwise(table, lower_is_better=False)
    assert pairs["wilcoxon_p"].isna().all() and pairs["holm_p"].isna().all()
    assert (pairs["note"] == "2 pairs: too few for a Wilcoxon test at alpha 0.05").all()
    assert (pairs["better"] == "").all()


def test_perfect_agreement_and_all_ties():
    agree = pd.DataFrame({"a": [3.0, 4.0, 5.0], "b": [2.0, 3.0, 4.0], "c": [1.0, 2.0, 3.0]})
    result = cmp.omnibus(agree)
    assert result.friedman_chi2 == pytest.approx(6.0)
    assert result.iman_davenport_f == math.inf and result.iman_davenport_p == 0.0
    tied = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0], "c": [1.0, 2.0, 3.0]})
    with np.errstate(all="ignore"):
        assert math.isnan(stats.friedmanchisquare(*tied.to_numpy().T).pvalue)  # scipy: 0/0
    result = cmp.omnibus(tied)
    assert (result.friedman_chi2, result.friedman_p) == (0.0, 1.0)
    assert result.iman_davenport_f == 0.0 and result.iman_davenport_p == 1.0
    assert "every block ties all levels" in result.note


def test_two_levels_use_wilcoxon_as_omnibus(campaign):
    two = campaign[campaign.aug_name.isin(["noaug", "rotate"])]
    result = cmp.compare(two, "aug_name", BLOCKS, "acc", lower_is_better=False)
    assert result.levels == 2 and result.omnibus == "wilcoxon"
    assert math.isnan(result.friedman_chi2) and math.isnan(result.nemenyi_cd)
    assert "the omnibus test is the Wilcoxon signed-rank test" in result.note
    assert len(result.pairwise) == 1
    assert result.omnibus_p == result.pairwise["wilcoxon_p"].iloc[0]
    assert result.pairwise["holm_p"].iloc[0] == result.omnibus_p


# --------------------------------------------------------------------------- pairwise


def test_wilcoxon_and_effect_size_match_scipy(campaign):
    table = cmp.block_table(campaign, "aug_name", BLOCKS, "acc").table
    pairs = cmp.pairwise(table, lower_is_better=False)
    levels = list(table.columns)
    assert list(zip(pairs.a, pairs.b, strict=True)) == list(itertools.combinations(levels, 2))
    for row in pairs.itertuples(index=False):
        a, b = table[row.a].to_numpy(), table[row.b].to_numpy()
        diff = a - b
        if np.all(diff == 0):
            assert row.wilcoxon_p == 1.0
        else:
            assert row.wilcoxon_p == stats.wilcoxon(a, b).pvalue
        assert row.pairs == len(table)
        assert row.mean_diff == pytest.approx(diff.mean())
        half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / math.sqrt(len(diff))
        assert row.diff_ci95 == pytest.approx(half)
    assert np.allclose(pairs.holm_p, cmp.holm(pairs.wilcoxon_p.to_numpy()))


def test_wilcoxon_with_ties_and_zeros_matches_scipy():
    a = np.array([90.0, 91.0, 92.0, 90.0, 89.0, 93.0, 91.0, 90.0])
    b = np.array([89.0, 91.0, 90.0, 88.0, 89.0, 92.0, 89.0, 88.0])  # zeros and tied |d|
    p, note = cmp.wilcoxon_p(a, b)
    assert p == stats.wilcoxon(a, b).pvalue and note == ""
    assert cmp.wilcoxon_p(b, a)[0] == p


def _paired(rng: np.random.Generator, n: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Paired samples whose differences have ties ("ties": integer |d|, no zero), zeros
    ("zeros": otherwise distinct), both ("integers": integer accuracies) or neither."""
    a = rng.normal(90.0, 2.0, size=n)
    if kind == "ties":
        return a, a - rng.choice([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0], size=n)
    if kind == "zeros":
        b = a + rng.normal(0.5, 1.0, size=n)
        zero = rng.permutation(n)[: rng.integers(1, n // 2 + 1)]
        b[zero] = a[zero]
        return a, b
    if kind == "integers":
        a = np.round(a)
        return a, np.round(a - 1 + rng.normal(0.0, 1.5, size=n))
    return a, a + rng.normal(0.3, 1.0, size=n)


WILCOXON_CASES = [
    (n, kind)
    for n in range(6, 31)
    for kind in ("ties", "zeros", "integers", "distinct")
    # scipy's own sign-flip enumeration costs ~0.13 ms * 2**n: fewer reference calls near 13
    if not (n in (12, 13) and kind in ("ties", "zeros"))
] + [(n, kind) for n in (50, 51, 139, 140, 141, 400, 2000)
     for kind in ("ties", "zeros", "integers", "distinct")]  # the list and the array paths


@pytest.mark.parametrize(("n", "kind"), WILCOXON_CASES)
def test_wilcoxon_p_equals_scipy_in_every_regime(n, kind):
    # n <= 13 with ties or zeros: own exact sign-flip enumeration (scipy: permutation test);
    # no ties or zeros: scipy's exact null (n <= 50); ties or zeros above 13: normal approx.
    rng = np.random.default_rng(1000 * n + len(kind))
    a, b = _paired(rng, n, kind)
    diff = a - b
    ties = np.unique(np.abs(diff[diff != 0])).size < np.count_nonzero(diff)
    zeros = bool(np.any(diff == 0))
    assert {"ties": ties and not zeros, "zeros": zeros and not ties, "integers": ties or zeros,
            "distinct": not (ties or zeros)}[kind]
    assert cmp._uses_sign_flips(diff) == (n <= 13 and kind != "distinct")
    expected = stats.wilcoxon(a, b).pvalue
    p, note = cmp.wilcoxon_p(a, b)
    assert p == expected and note == ""
    assert cmp.wilcoxon_p(b, a)[0] == expected


def _r_plus(d: np.ndarray, axis: int) -> np.ndarray:
    """scipy's Wilcoxon statistic (zero_method "wilcox"), vectorised for permutation_test."""
    d = np.moveaxis(d, axis, -1)
    ranks = stats.rankdata(np.where(d == 0, np.nan, np.abs(d)), axis=-1, nan_policy="omit")
    return np.nansum(np.where(d > 0, ranks, 0.0), axis=-1)


def test_sign_flip_p_equals_scipy_permutation_test_on_many_samples():
    # what scipy.stats.wilcoxon runs for n <= 13 with ties or zeros, with a vectorised
    # statistic so that hundreds of references stay cheap
    rng = np.random.default_rng(11)
    for i in range(150):
        n = int(rng.integers(6, 14))
        a, b = _paired(rng, n, ("ties", "zeros", "integers")[i % 3])
        diff = a - b
        if np.all(diff == 0):
            continue
        assert cmp._uses_sign_flips(diff)
        expected = stats.permutation_test((diff,), _r_plus, vectorized=True,
                                          permutation_type="samples").pvalue
        assert cmp.wilcoxon_p(a, b)[0] == expected


def test_wilcoxon_fast_path_does_not_call_scipy(monkeypatch):
    calls = []
    real = stats.wilcoxon

    def counted(*args, **kwargs):
        calls.append(len(args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(stats, "wilcoxon", counted)
    rng = np.random.default_rng(5)
    for n, kind in itertools.product((6, 9, 13), ("ties", "zeros", "integers", "distinct")):
        cmp.wilcoxon_p(*_paired(rng, n, kind))
    cmp.wilcoxon_p(*_paired(rng, 14, "integers"))  # normal approximation: computed here
    cmp.wilcoxon_p(*_paired(rng, 60, "distinct"))  # normal approximation without ties
    assert calls == []
    a, b = _paired(rng, 8, "distinct")
    a[0] = np.nan
    cmp.wilcoxon_p(a, b)  # NaN: left to scipy
    assert calls == [8]


def test_wilcoxon_p_non_finite_values_match_scipy():
    a = np.array([90.0, 91.0, 92.0, 90.0, 89.0, 93.0, 91.0, np.inf])
    b = np.array([89.0, 91.0, 90.0, 88.0, 89.0, 92.0, 89.0, 88.0])
    assert cmp.wilcoxon_p(a, b)[0] == stats.wilcoxon(a, b).pvalue
    a[0] = np.nan
    assert math.isnan(stats.wilcoxon(a, b).pvalue) and math.isnan(cmp.wilcoxon_p(a, b)[0])


def test_all_zero_differences_give_p_one():
    values = [0.9, 0.8, 0.85, 0.7, 0.95, 0.9, 0.88]
    p, note = cmp.wilcoxon_p(values, values)
    assert p == 1.0 and note == "all 7 differences are zero: p set to 1"
    p, note = cmp.wilcoxon_p(values[:5], [v + 1 for v in values[:5]])
    assert math.isnan(p) and note == "5 pairs: too few for a Wilcoxon test at alpha 0.05"
    assert cmp.min_wilcoxon_pairs(0.05) == 6 and cmp.min_wilcoxon_pairs(0.1) == 5


def test_holm_against_hand_computation():
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.06
    adjusted = cmp.holm([0.01, 0.04, 0.03, 0.005])
    assert np.allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    assert cmp.holm([0.3, 0.6]).tolist() == [0.6, 0.6]  # 0.3*2, then max(0.6, 0.6)
    assert cmp.holm([0.9, 0.8]).tolist() == [1.0, 1.0]  # capped at 1
    with_nan = cmp.holm([0.01, np.nan, 0.02])
    assert math.isnan(with_nan[1]) and np.allclose(with_nan[[0, 2]], [0.02, 0.02])
    assert cmp.holm([]).size == 0


def test_holm_matches_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p = np.random.default_rng(3).uniform(0, 0.2, size=15)
    p[4] = p[9]  # a tie
    expected = multitest.multipletests(p, method="holm")[1]
    assert np.allclose(cmp.holm(p), expected, rtol=0, atol=1e-15)


def test_better_and_not_worse_than_best():
    rng = np.random.default_rng(0)
    base = rng.normal(0.5, 0.05, size=12)
    table = pd.DataFrame({"good": base + 0.10 + rng.normal(0, 1e-3, 12),
                          "tie": base + 0.10 + rng.normal(0, 1e-3, 12), "bad": base})
    frame = (table.rename_axis("seed").reset_index()
             .melt(id_vars="seed", var_name="aug", value_name="loss"))
    result = cmp.compare(frame, "aug", "seed", "loss", lower_is_better=True)
    bad_rows = result.pairwise[(result.pairwise.a == "bad") | (result.pairwise.b == "bad")]
    assert (bad_rows.better == "bad").all()  # lower loss is better
    assert cmp.best_level(result) == "bad"
    assert cmp.not_worse_than_best(result) == {"bad"}
    as_acc = cmp.compare(frame, "aug", "seed", "loss", lower_is_better=False)
    assert cmp.not_worse_than_best(as_acc) >= {"good", "tie"}
    assert "bad" not in cmp.not_worse_than_best(as_acc)
    few = cmp.compare(frame[frame.seed < 4], "aug", "seed", "loss", lower_is_better=False)
    assert cmp.not_worse_than_best(few) == {"good", "tie", "bad"}  # nothing is significant
    empty = cmp.compare(frame.iloc[:0], "aug", "seed", "loss", lower_is_better=False)
    assert cmp.not_worse_than_best(empty) == set()


def test_csv_rows_have_the_documented_columns(campaign):
    result = cmp.compare(campaign, "aug_name", BLOCKS, "acc", lower_is_better=False)
    where = ("acc", "test-human", "aug_name", "flowpic_dim=32")
    ranks = cmp.ranks_rows(result, *where)
    assert [tuple(row) for row in ranks] == [cmp.RANK_COLUMNS] * len(AUGS)
    assert [row["level"] for row in ranks] == sorted(AUGS)
    assert all(row["blocks"] == 16 for row in ranks)
    test = cmp.tests_row(result, *where)
    assert tuple(test) == cmp.TEST_COLUMNS
    assert tuple(cmp.TEST_COLUMNS[:11]) == (
        "metric", "context", "factor", "stratum", "blocks", "levels", "friedman_chi2",
        "friedman_p", "iman_davenport_f", "iman_davenport_p", "nemenyi_cd")
    assert test["dropped_blocks"] == 2 and test["levels"] == 5
    pairs = cmp.pairwise_rows(result, *where)
    assert len(pairs) == 10 and all(tuple(row) == cmp.PAIRWISE_COLUMNS for row in pairs)
    assert cmp.PAIRWISE_COLUMNS[:13] == (
        "metric", "context", "factor", "stratum", "a", "b", "pairs", "nonzero", "mean_diff",
        "diff_ci95", "wilcoxon_p", "holm_p", "better")
    again = cmp.compare(campaign.sample(frac=1.0, random_state=1), "aug_name", BLOCKS, "acc",
                        lower_is_better=False)
    assert cmp.pairwise_rows(again, *where) == pairs  # order of runs does not matter
    assert cmp.ranks_rows(again, *where) == ranks


# --------------------------------------------------------------------------- seeds vs splits


def _grid(values: dict[tuple[int, int], float]) -> pd.DataFrame:
    return pd.DataFrame([{"split_index": s, "seed": r, "acc": v}
                         for (s, r), v in values.items()])


def test_variance_components_known_values():
    split_effect = {0: 0.0, 1: 3.0, 2: 6.0}
    seed_effect = {0: -1.0, 1: 0.0, 2: 1.0}
    frame = _grid({(s, r): 80 + split_effect[s] + seed_effect[r]
                   for s in split_effect for r in seed_effect})
    result = cmp.variance_components(frame, "split_index", "seed", "acc")
    # MSW = 1; MSB = 3 * var([0, 3, 6]) = 27; split component = (27 - 1) / 3
    assert result["sd_seed"] == pytest.approx(1.0)
    assert result["sd_split"] == pytest.approx(math.sqrt(26 / 3))
    assert result["sd_total"] == pytest.approx(frame.acc.std(ddof=1))
    assert (result["n_runs"], result["n_splits"], result["n_seeds"]) == (9, 3, 3)
    assert cmp.spread_verdict(result) == (
        "most of the spread comes from the split: more splits, not more seeds, narrow the interval")


def test_variance_components_pure_split_and_pure_seed_effects():
    pure_split = _grid({(s, r): 90.0 + 2 * s for s in range(5) for r in range(3)})
    result = cmp.variance_components(pure_split, "split_index", "seed", "acc")
    assert result["sd_seed"] == pytest.approx(0.0, abs=1e-12)
    assert result["sd_split"] == pytest.approx(np.std([0, 2, 4, 6, 8], ddof=1))
    assert "from the split" in cmp.spread_verdict(result)
    noise = np.random.default_rng(5).normal(0, 1, size=(5, 4))
    pure_seed = _grid({(s, r): 90.0 + noise[s, r] - noise[s].mean() for s in range(5)
                       for r in range(4)})
    result = cmp.variance_components(pure_seed, "split_index", "seed", "acc")
    assert result["sd_split"] == 0.0  # negative estimate truncated
    assert cmp.spread_verdict(result).startswith("most of the spread comes from the seed")
    assert cmp.spread_verdict({"sd_split": 1.0, "sd_seed": 1.1}) == (
        "split and seed contribute about equally")


def test_variance_layout_is_shared_by_every_metric():
    """One layout per configuration serves each metric: NaN, missing blocks and duplicates."""
    rng = np.random.default_rng(11)
    records = []
    for split in [2, 0, 1, None]:
        for seed in [7, 3, float("nan"), 5]:
            for _ in range(2 if split == 1 else 1):
                records.append({"split_index": split, "seed": seed,
                                "acc": float(rng.normal(80, 3)), "f1": float(rng.normal(0.8, 0.1)),
                                "loss": float("nan") if split == 0 else float(rng.normal(1, 0.2))})
    frame = pd.DataFrame(records)
    frame.loc[3, "acc"] = float("nan")
    layout = cmp.variance_layout(frame, "split_index", "seed")
    for metric in ["acc", "f1", "loss"]:
        alone = cmp.variance_components(frame, "split_index", "seed", metric)
        shared = cmp.variance_components(frame, "split_index", "seed", metric, layout)
        assert repr(alone) == repr(shared)
    # split 0 has no loss value at all: its cells leave the loss estimate, not the others
    assert cmp.variance_components(frame, "split_index", "seed", "loss", layout)["n_splits"] == 2
    assert cmp.variance_components(frame, "split_index", "seed", "f1", layout)["n_splits"] == 3


def test_variance_components_degenerate_and_unbalanced():
    one_split = _grid({(0, r): v for r, v in enumerate([1.0, 2.0, 4.0])})
    result = cmp.variance_components(one_split, "split_index", "seed", "acc")
    assert math.isnan(result["sd_split"])
    assert result["sd_seed"] == pytest.approx(np.std([1.0, 2.0, 4.0], ddof=1))
    assert cmp.spread_verdict(result).startswith("one split only")
    one_seed = _grid({(s, 0): v for s, v in enumerate([1.0, 2.0, 4.0])})
    result = cmp.variance_components(one_seed, "split_index", "seed", "acc")
    assert math.isnan(result["sd_split"]) and math.isnan(result["sd_seed"])
    assert cmp.spread_verdict(result).startswith("one seed per split")
    # unbalanced: split 0 has 3 seeds (one duplicated run), split 1 two, split 2 one
    frame = _grid({(0, 0): 1.0, (0, 1): 2.0, (0, 2): 3.0, (1, 0): 5.0, (1, 1): 7.0,
                   (2, 0): 9.0})
    frame = pd.concat([frame, _grid({(0, 0): 3.0})], ignore_index=True)  # cell (0,0) -> 2.0
    result = cmp.variance_components(frame, "split_index", "seed", "acc")
    cells = [[2.0, 2.0, 3.0], [5.0, 7.0], [9.0]]
    n_i = np.array([3, 2, 1])
    grand = np.mean(np.concatenate(cells))
    msw = sum(((np.array(c) - np.mean(c)) ** 2).sum() for c in cells) / (6 - 3)
    msb = sum(n * (np.mean(c) - grand) ** 2 for n, c in zip(n_i, cells, strict=True)) / 2
    n0 = (6 - (n_i**2).sum() / 6) / 2
    assert result["sd_seed"] == pytest.approx(math.sqrt(msw))
    assert result["sd_split"] == pytest.approx(math.sqrt((msb - msw) / n0))
    assert result["n_runs"] == 7 and result["sd_total"] == pytest.approx(frame.acc.std())


# --------------------------------------------------------------------------- CD diagram


def _levels(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [t for t in root.iter(f"{SVG}text") if t.get("class") == "level"]


def _cliques(svg: str) -> list[tuple[str, float, float]]:
    root = ET.fromstring(svg)
    out = []
    for group in root.iter(f"{SVG}g"):
        if group.get("class") == "clique":
            line = group.find(f"{SVG}line")
            out.append((group.find(f"{SVG}title").text, float(line.get("x1")),
                        float(line.get("x2"))))
    return out


def test_cd_diagram_bars_join_the_right_groups():
    svg = cdd.cd_diagram({"c": 3.0, "a": 1.0, "b": 1.2}, 0.5, "acc by aug_name")
    texts = _levels(svg)
    assert sorted(t.text for t in texts) == ["a (1.00)", "b (1.20)", "c (3.00)"]
    assert [members for members, _, _ in _cliques(svg)] == ["a, b"]
    assert cdd.cliques([1.0, 1.2, 3.0], 0.5) == [(0, 1)]
    # overlapping maximal groups only; a group inside another is not drawn
    assert cdd.cliques([1.0, 1.4, 1.8, 2.2, 4.0], 0.8) == [(0, 2), (1, 3)]
    assert cdd.cliques([1.0, 1.4, 1.8, 2.6, 4.0], 0.8) == [(0, 2), (2, 3)]
    assert cdd.cliques([1.0, 1.5, 2.0], 1.0) == [(0, 2)]
    assert cdd.cliques([1.0, 1.5], 0.5) == [(0, 1)]  # exactly CD apart: not significant
    assert cdd.cliques([1.0, 3.0], float("nan")) == []
    root = ET.fromstring(svg)
    assert 640 <= float(root.get("width")) <= 760
    cd_text = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "cd"]
    assert cd_text == ["CD = 0.50"]


def test_cd_diagram_escapes_labels_and_has_no_script():
    evil = "<script>alert(1)</script>&\"'"
    svg = cdd.cd_diagram([(evil, 1.5), ("ok\x00", 2.5), ("plain", 2.0)], 1.0,
                         f"title {evil}", lower_is_better=True, note=f"note {evil}")
    root = ET.fromstring(svg)
    assert not [el for el in root.iter() if el.tag.lower().endswith("script")]
    assert "<script" not in svg and "href" not in svg
    assert f"{evil} (1.50)" in [t.text for t in _levels(svg)]
    assert "ok\ufffd (2.50)" in [t.text for t in _levels(svg)]
    assert "rank 1 = the lowest value of a block" in svg


def test_cd_diagram_without_cd_writes_the_note_and_keeps_text_inside():
    long = "a-very-long-augmentation-name-that-needs-room"
    note = "2 complete blocks: too few for a Friedman test at alpha 0.05 (need >= 3)"
    svg = cdd.cd_diagram({long: 1.0, "b": 2.0, "c": 3.0, long + "-2": 4.0}, float("nan"),
                         "acc", note=note)
    root = ET.fromstring(svg)
    assert _cliques(svg) == []
    assert not [t for t in root.iter(f"{SVG}text") if t.get("class") == "cd"]
    notes = " ".join(t.text for t in root.iter(f"{SVG}text") if t.get("class") == "note")
    assert notes == note
    width = float(root.get("width"))
    for text in _levels(svg):
        x, size = float(text.get("x")), len(text.text) * cdd.CHAR_PX
        left = x - size if text.get("text-anchor") == "end" else x
        assert left >= 0 and left + size <= width


def test_cd_diagram_layout_sides_and_best_on_right():
    ranks = {"w": 4.0, "x": 1.0, "y": 2.0, "z": 3.0}
    normal = {t.text[0]: float(t.get("x")) for t in _levels(cdd.cd_diagram(ranks, 1.0, "t"))}
    assert normal["x"] < normal["z"]  # best half labelled on the left
    flipped = cdd.cd_diagram(ranks, 1.0, "t", best_on_right=True)
    placed = {t.text[0]: float(t.get("x")) for t in _levels(flipped)}
    assert placed["x"] > placed["z"]  # autorank.plot_stats layout: rank 1 on the right
    missing = cdd.cd_diagram({"a": float("nan"), "b": float("nan")}, float("nan"), "t")
    assert _levels(missing) == []
    assert "too few blocks" in missing


def test_wilcoxon_p_is_scipys_bit_for_bit_on_every_path():
    """Exact null, ties/zeros above 13 pairs and above 50 pairs: the shortcuts equal scipy."""
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(600):
        n = int(rng.integers(6, 80))
        if rng.random() < 0.3:
            a, b = rng.normal(size=n), rng.normal(size=n)
        else:
            top = int(rng.integers(2, 30))
            a = rng.integers(0, top, n).astype(float) / 7
            b = rng.integers(0, top, n).astype(float) / 7
        if np.all(a == b):
            continue
        assert cmp.wilcoxon_p(a, b)[0] == float(stats.wilcoxon(a, b).pvalue), (a, b)
        checked += 1
    assert checked > 500


# --------------------------------------------------------------------------- shared placement


def test_strata_rebound_to_another_context_keeps_groups_and_reads_its_values():
    from tcsummary.summarise.ranking import Strata, stratum_positions

    keys = pd.DataFrame({"dim": [32, 64, 32, 64, 32, 64], "aug": ["a", "a", "b", "b", "a", "b"],
                         "seed": [0, 0, 0, 0, 1, 1]})
    one = keys.assign(acc=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    two = keys.assign(acc=[6.0, 5.0, 4.0, 3.0, 2.0, np.nan])
    first = Strata(one)
    for _, members in first(["dim"]):
        first.layout(members, "aug", ["seed"], ["a", "b"])
    second = first.rebind(two)
    for (values, members), (expected_values, expected) in zip(
            second(["dim"]), [(values, two.take(rows))
                              for values, rows in stratum_positions(two, ["dim"])], strict=True):
        assert values == expected_values
        pd.testing.assert_frame_equal(members, expected)
        layout = second.layout(members, "aug", ["seed"], ["a", "b"])
        pd.testing.assert_frame_equal(
            cmp.fill_layout(layout, members, "acc").table,
            cmp.block_table(expected, "aug", ["seed"], "acc", ["a", "b"]).table,
        )
    assert second(["dim"])[0][1]["acc"].tolist() == [6.0, 4.0, 2.0]
    with pytest.raises(ValueError, match="cannot rebind 6 rows to 5"):
        first.rebind(two.head(5))


# --------------------------------------------------------------------------- memo


def _recalled(memo: StatsMemo) -> StatsMemo:
    """The memo as the next build reads it (through its bytes)."""
    return StatsMemo.decode(memo.encode())


def test_a_remembered_comparison_is_the_one_computing_again_gives(campaign):
    first = StatsMemo()
    computed = cmp.compare(campaign, "aug_name", BLOCKS, "acc", False, memo=first)
    assert (first.hits, first.misses) == (0, 1)
    again = _recalled(first)
    recalled = cmp.compare(campaign, "aug_name", BLOCKS, "acc", False, memo=again)
    assert (again.hits, again.misses) == (1, 0)
    assert repr(recalled) == repr(computed)  # every float exactly (NaN included)
    # anything the result reads makes another key: a number, a run's place, the direction
    edited = campaign.copy()
    edited.loc[5, "acc"] += 1.0
    moved = campaign.copy()
    moved.loc[3, "seed"], moved.loc[4, "seed"] = moved.loc[4, "seed"], moved.loc[3, "seed"]
    for frame, lower in ((edited, False), (moved, False), (campaign, True)):
        memo = _recalled(again)
        result = cmp.compare(frame, "aug_name", BLOCKS, "acc", lower, memo=memo)
        assert (memo.hits, memo.misses) == (0, 1)
        fresh = cmp.compare(frame, "aug_name", BLOCKS, "acc", lower)
        assert repr(result) == repr(fresh)


def test_remembered_variance_components_and_the_memo_keeps_only_what_a_build_used(campaign):
    memo = StatsMemo()
    by_metric = {m: cmp.variance_components(campaign, "split_index", "seed", m, memo=memo)
                 for m in ("acc", "loss")}
    assert (memo.hits, memo.misses) == (0, 2)
    again = _recalled(memo)
    assert cmp.variance_components(campaign, "split_index", "seed", "acc",
                                   memo=again) == by_metric["acc"]
    assert (again.hits, again.misses) == (1, 0)
    later = _recalled(again)  # the loss result was not used: not kept
    cmp.variance_components(campaign, "split_index", "seed", "loss", memo=later)
    assert (later.hits, later.misses) == (0, 1)


def test_an_unreadable_or_other_codes_memo_is_empty(campaign):
    memo = StatsMemo()
    cmp.compare(campaign, "aug_name", BLOCKS, "acc", False, memo=memo)
    data = memo.encode()
    document = pickle.loads(data)
    other = pickle.dumps({**document, "code": "another version"})
    for found in (data[: len(data) // 2], b"not a pickle", other, None):
        empty = StatsMemo.decode(found)
        cmp.compare(campaign, "aug_name", BLOCKS, "acc", False, memo=empty)
        assert (empty.hits, empty.misses) == (0, 1)


def test_smallest_possible_p_counts_nonzero_differences_and_the_holm_family():
    assert cmp.smallest_wilcoxon_p(6) == 2 / 64 and cmp.smallest_wilcoxon_p(0) == 1.0
    row = {"wilcoxon_p": 0.5, "nonzero": 6}
    # two levels, six blocks: one test that can reach 0.05; three levels: Holm's x3 cannot
    assert cmp.smallest_holm_p([row]) == 2 / 64
    assert cmp.smallest_holm_p([row] * 3) == 3 * 2 / 64 > 0.05
    # a zero difference is dropped by the test: five nonzero ones cannot reach 0.05 alone
    assert cmp.smallest_holm_p([{"wilcoxon_p": 0.0625, "nonzero": 5}]) == 0.0625
    untested = {"wilcoxon_p": math.nan, "nonzero": 3}
    assert cmp.smallest_holm_p([row, untested]) == 2 / 64  # not part of the family
    assert math.isnan(cmp.smallest_holm_p([untested]))


def _two_blocks_table(levels: dict[str, list[float]]) -> pd.DataFrame:
    rows = [{"aug": name, "seed": i, "acc": v} for name, values in levels.items()
            for i, v in enumerate(values)]
    return pd.DataFrame(rows)


def test_pairs_that_can_never_be_significant_are_said_so():
    """Six blocks, three levels: 'not significantly worse' would hold whatever the numbers."""
    far = _two_blocks_table({"a": [90.0 + i for i in range(6)], "b": [50.0 + i for i in range(6)],
                             "c": [10.0 + i for i in range(6)]})
    result = cmp.compare(far, "aug", "seed", "acc", lower_is_better=False)
    assert result.smallest_holm_p == 3 * 2 / 64 and not result.pairs_can_reject
    assert cmp.significant_pairs(result) == []  # not even "a" over "c", 40 points apart
    pairs = result.pairwise
    assert (pairs["nonzero"] == 6).all()
    more = _two_blocks_table({"a": [90.0 + i for i in range(8)], "b": [50.0 + i for i in range(8)],
                              "c": [10.0 + i for i in range(8)]})
    found = cmp.compare(more, "aug", "seed", "acc", lower_is_better=False)
    assert found.pairs_can_reject and ("a", "c") in cmp.significant_pairs(found)
    row = cmp.tests_row(found, "acc", "ctx", "aug", "")
    assert row["smallest_holm_p"] == 3 * 2 / 256


def _paper_cells(rows_by_level, diagram):
    from tcsummary.summarise import ranking

    settings = ranking.CompareSettings(alpha=0.05, lower_is_better=None, factors=None,
                                       blocks=None, levels={}, names={})
    metrics_rows = pd.DataFrame([
        {"context": "t", "metric": "acc", "aug": level, "dim": 32, "mean": mean, "ci95": 1.0}
        for level, mean in rows_by_level.items()
    ])
    base = {"metric": "acc", "context": "t", "factor": "aug", "stratum": "dim=32",
            "not_worse": [], "best": "", "beaten": [], "smallest_holm_p": 0.01,
            "pairs_can_reject": True}
    (table,) = ranking.paper_tables(metrics_rows, ["aug", "dim"], "t", ["acc"],
                                    [{**base, **diagram}], settings)
    return table, {r["raw"]: r["cells"][0] for r in table["rows"]}


def test_paper_table_marks_cells_against_the_bold_cell_or_says_it_cannot():
    # the bold cell is the best mean (b); the ranks' best level may be another (a): the mark
    # says "not significantly worse than the bold cell", so it follows the pairs with b
    table, cells = _paper_cells({"a": 70.0, "b": 72.0, "c": 60.0},
                                {"best": "a", "not_worse": ["a", "b"], "beaten": [["b", "c"]]})
    assert cells["b"]["best"] and not cells["b"]["tied"]
    assert cells["a"]["tied"] and not cells["c"]["tied"]
    assert table["untestable"] == [False]
    # too few blocks for any pair to be significant: nothing marked, the column says why
    table, cells = _paper_cells({"a": 70.0, "b": 72.0, "c": 60.0},
                                {"pairs_can_reject": False, "smallest_holm_p": 0.09375})
    assert not any(c["tied"] for c in cells.values()) and table["untestable"] == [True]
    from tcsummary.render.text import untestable_note

    note = untestable_note(table, 0.05)
    assert note.startswith("‡") and "0.0938" in note and "alpha 0.05" in note
    assert untestable_note({**table, "untestable": [False]}, 0.05) == ""


def test_verdicts_follow_the_omnibus_test_and_what_the_blocks_allow():
    from tcsummary.summarise.across import level_verdict
    from tcsummary.summarise.ranking import runner_up_verdict

    answer = {"omnibus": "friedman", "omnibus_p": 0.098, "levels": 3, "blocks": 12,
              "tied": ["horizontalflip"]}
    diagram = {"pairs_can_reject": True, "smallest_holm_p": 0.001}
    # no omnibus difference: no post-hoc list beside it (it would imply one level worse)
    assert level_verdict(answer, diagram, 0.05) == (
        "Friedman p = 0.098: no detectable difference between the levels (the pairwise tests "
        "in pairwise.csv are not read without one).")
    differ = {**answer, "omnibus_p": 0.005}
    assert level_verdict(differ, diagram, 0.05).endswith(
        "the levels differ. Not significantly worse than the best: horizontalflip.")
    assert "cannot reach alpha 0.05" in level_verdict(
        differ, {"pairs_can_reject": False, "smallest_holm_p": 0.094}, 0.05)
    assert level_verdict({**differ, "tied": []}, diagram, 0.05).endswith(
        "Every other level is significantly worse than the best.")
    assert level_verdict({**answer, "omnibus_p": math.nan}, diagram, 0.05) == ""
    # the runner-up: one unadjusted test; zero differences dropped and said
    five = runner_up_verdict({"wilcoxon_p": 0.0625, "pairs": 6, "nonzero": 5}, 0.05)
    assert five["verdict"].startswith(
        "too few blocks to decide: over 6 blocks, 5 with a difference")
    assert not five["beats"]
    six = runner_up_verdict({"wilcoxon_p": 0.03125, "pairs": 6, "nonzero": 6}, 0.05)
    assert six["beats"] and six["verdict"] == (
        "significantly worse (paired Wilcoxon p = 0.0312 over 6 blocks)")
    assert runner_up_verdict({"wilcoxon_p": 0.5, "pairs": 6, "nonzero": 6}, 0.05)[
        "verdict"].startswith("not significantly worse (paired Wilcoxon p = 0.5 over 6 blocks")


def test_a_two_level_diagram_joins_levels_its_test_does_not_separate():
    from tcsummary.render.report import best_flags, diagram_notes, pair_not_different

    svg = cdd.cd_diagram([("32", 1.5), ("64", 1.5)], math.nan, "t", joined=True)
    assert svg.count('class="clique"') == 1 and "no critical difference" not in svg
    assert 'class="clique"' not in cdd.cd_diagram([("32", 1.0), ("64", 2.0)], math.nan, "t")
    same = {"omnibus": "wilcoxon", "omnibus_p": 0.812, "pairs_can_reject": True,
            "smallest_holm_p": 0.03125}
    assert pair_not_different(same, 0.05)
    assert not pair_not_different({**same, "omnibus_p": 0.01}, 0.05)
    assert not pair_not_different({**same, "omnibus": "friedman"}, 0.05)
    few = {**same, "omnibus_p": 0.0625, "pairs_can_reject": False, "smallest_holm_p": 0.0625}
    assert diagram_notes(few, 0.05) == [
        "Wilcoxon p = 0.0625",
        "too few blocks for the test to reach alpha 0.05 (smallest possible p 0.0625)"]
    assert best_flags([66.27], lower=False) == [False]  # one value is no "best"
    assert best_flags([1.0, 2.0, math.nan], lower=False) == [False, True, False]
