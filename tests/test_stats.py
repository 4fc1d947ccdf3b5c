"""Statistics against an independent recomputation with numpy/scipy/pandas."""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from tcsummary.summarise import stats


def reference_ci95(values):
    a = np.asarray(values, dtype=float)
    return scipy_stats.t.ppf(0.975, len(a) - 1) * a.std(ddof=1) / math.sqrt(len(a))


def test_documented_example():
    # tcbench-repository.md: s=3.6, n=15 gives 1.9936
    assert stats.t_quantile(0.975, 14) * 3.6 / math.sqrt(15) == pytest.approx(1.9936, abs=1e-4)


@pytest.mark.parametrize("n", [2, 3, 5, 15, 30, 200])
def test_ci95_matches_scipy(n):
    rng = random.Random(n)
    values = [rng.gauss(90, 4) for _ in range(n)]
    assert stats.ci95(values) == pytest.approx(reference_ci95(values), rel=1e-12)


def test_describe_matches_pandas():
    rng = random.Random(7)
    values = [rng.uniform(0, 1) for _ in range(23)]
    summary = stats.describe(values + [None, float("nan")])
    series = pd.Series(values)
    assert summary.n == 23
    assert summary.mean == pytest.approx(series.mean(), rel=1e-12)
    assert summary.std == pytest.approx(series.std(), rel=1e-12)
    assert summary.median == pytest.approx(series.median(), rel=1e-12)
    assert (summary.min, summary.max) == (series.min(), series.max())
    assert summary.ci95 == pytest.approx(reference_ci95(values), rel=1e-12)


def test_undefined_spread_is_nan_not_an_error():
    one = stats.describe([0.5])
    assert one.n == 1 and one.mean == 0.5
    assert math.isnan(one.std) and math.isnan(one.ci95)
    empty = stats.describe([])
    assert empty.n == 0 and math.isnan(empty.mean)


def test_a_mean_is_followed_by_its_interval_or_why_it_has_none():
    from tcsummary.render.text import interval, runs

    assert interval(1.2345, 5) == "± 1.23"
    assert interval(0.5, 5, digits=3) == "± 0.500"
    assert interval(None, 1) == "(one run, no interval)"
    assert interval(float("nan"), 1) == "(one run, no interval)"
    assert interval(None, 0) == "(no interval)"
    assert (runs(1), runs(2), runs(0)) == ("1 run", "2 runs", "0 runs")


def test_run_durations_read_as_a_sentence_for_any_number_of_runs():
    from tcsummary.render.text import duration

    many = {"n": 4, "mean": 12.34, "std": 1.5, "ci95": 2.39, "min": 10.0, "max": 14.0}
    assert duration(many) == "12.3 s mean ± 2.4 (ci95) over 4 runs"
    assert duration(many, full=True) == (
        "12.3 s mean, 1.5 s std, ci95 ± 2.4 s (4 runs; min 10.0, max 14.0)")
    # one run: no "± –" where a spread would be, in either report
    one = {"n": 1, "mean": 7.0, "std": float("nan"), "ci95": float("nan"), "min": 7.0, "max": 7.0}
    assert duration(one) == duration(one, full=True) == "7.0 s (one run, no interval)"
    none = {"n": 0, "mean": float("nan"), "std": float("nan"), "ci95": float("nan")}
    assert duration(none, full=True) == "not recorded"


def test_a_table_cell_shows_the_mean_alone_where_there_is_no_interval():
    from tcsummary.render.text import latex_escape, markdown_escape, pm

    assert pm(0.5556, 0.0123, 3) == "0.556 ± 0.012"
    assert pm(71.234, float("nan")) == pm(71.234, None) == "71.23"
    assert pm(71.234, 1.5, latex=True) == "71.23 $\\pm$ 1.50"
    # the formats' escapes leave the cell as it is (no "\\$", no trimmed space)
    assert latex_escape(pm(71.234, 1.5, latex=True)) == "71.23 $\\pm$ 1.50"
    assert markdown_escape(pm(-0.5, 0.25)) == "-0.50 ± 0.25"


def test_two_level_diagrams_fold_only_beside_diagrams_ranking_three_or_more():
    from tcsummary.render.report import ranking_groups

    def d(metric, levels):
        return {"metric": metric, "levels": levels}

    mixed = [d("acc", 3), d("acc", 2), d("f1", 3), d("acc", 4)]
    groups = ranking_groups(mixed, "acc")
    assert groups == {"shown": [d("acc", 3), d("acc", 4)], "pairs": [d("acc", 2)],
                      "others": [d("f1", 3)]}
    pairs_only = [d("acc", 2), d("acc", 2)]
    assert ranking_groups(pairs_only, "acc") == {"shown": pairs_only, "pairs": [], "others": []}
    assert ranking_groups([], "acc") == {"shown": [], "pairs": [], "others": []}


def test_fractions_get_three_decimals_and_percentages_two():
    from tcsummary.render.text import decimals

    assert decimals(71.29) == 2 and decimals(0.707) == 3 and decimals(1.0) == 3
    table = {"rows": [{"cells": [{"mean": 0.71}, {"mean": None}]}, {"cells": [{"mean": 0.69}]}]}
    assert decimals(table) == 3
    table["rows"][1]["cells"][0]["mean"] = 68.7  # one percentage: the table is in percent
    assert decimals(table) == 2
    assert decimals([float("nan"), None]) == 2 and decimals([]) == 2 and decimals(-0.4) == 3


def test_the_index_heading_counts_campaigns_apart_from_runs_without_one():
    from tcsummary.core.model import NO_CAMPAIGN, UNKNOWN_CAMPAIGN
    from tcsummary.render.report import index_heading

    cards = [{"campaign": "1684447037", "runs": 37}, {"campaign": "1684533437", "runs": 36},
             {"campaign": NO_CAMPAIGN, "runs": 1}]
    assert index_heading(cards) == "2 campaigns, 1 run without a campaign"
    assert index_heading(cards[:1]) == "1 campaign"
    assert index_heading([*cards, {"campaign": UNKNOWN_CAMPAIGN, "runs": 2}]) == (
        "2 campaigns, 1 run without a campaign, 2 runs whose campaign is unknown")
    assert index_heading([]) == "0 campaigns"
