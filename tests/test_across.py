"""Beyond one campaign: the index, named comparisons across repositories, shards read as one.

Three real repositories written with the real aim: two shards of one campaign
(``ucdavis``: even runs in one, odd runs in the other, plus a run copied into
both and a hash that finished in both with different results) and another
dataset's campaign (``mirage``). The numbers are checked against a pandas/scipy
recomputation of the merged data from the artifact CSVs.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import tree_state, workflow_config
from scipy import stats as scipy_stats

from tcsummary.cli.main import main as cli
from tcsummary.core.model import FINISHED, UNFINISHED, MetricValue, RunInfo
from tcsummary.example import RunSpec, plan_example, write_example
from tcsummary.plan.build import plan_build
from tcsummary.plan.selection import ConfigError
from tcsummary.read.shards import merge_runs

PROJECT = Path(__file__).resolve().parents[1]
UCDAVIS, MIRAGE = "1684447037", "1690000000"


# --- the rule for one hash in several shards (pure) -----------------------------------

def _run(status: str, acc: float = 0.9) -> RunInfo:
    return RunInfo(hash="a" * 24, status=status, hparams={"seed": 1},
                   metrics={("acc", "test"): MetricValue(acc, 10)})


def test_a_hash_in_two_shards_is_kept_from_where_it_finished():
    roots = [Path("/n1"), Path("/n2")]
    merged = merge_runs(roots, [{"a" * 24: _run(UNFINISHED)}, {"a" * 24: _run(FINISHED)}])
    assert merged.shard_of == {"a" * 24: 1} and not merged.dropped
    assert len(merged.problems) == 1
    assert "kept from /n2, where it finished" in merged.problems[0]["problem"]


def test_a_hash_finished_twice_is_kept_once_or_dropped():
    roots = [Path("/n1"), Path("/n2")]
    same = merge_runs(roots, [{"a" * 24: _run(FINISHED)}, {"a" * 24: _run(FINISHED)}])
    assert same.shard_of == {"a" * 24: 0} and "same results" in same.problems[0]["problem"]
    other = merge_runs(roots, [{"a" * 24: _run(FINISHED)}, {"a" * 24: _run(FINISHED, 0.5)}])
    assert other.runs == {} and other.dropped == ["a" * 24]
    assert "different results" in other.problems[0]["problem"]


# --- three real repositories ----------------------------------------------------------

def _with(spec: RunSpec, **changes) -> RunSpec:
    return RunSpec(**{**spec.__dict__, **changes})


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    """n1 + n2: one campaign in two shards; m: another dataset; truth of what was written."""
    base = tmp_path_factory.mktemp("across")
    n1, n2, m = base / "n1", base / "n2", base / "m"
    specs = plan_example(36, campaigns=1)
    truth: dict[str, dict] = {"ucdavis": {}, "mirage": {}}
    where: dict[str, Path] = {}
    for shard, part in ((n1, specs[0::2]), (n2, specs[1::2])):
        for run_hash, spec in write_example(shard, specs=part, seed=11 + len(where),
                                            system_params=False).items():
            truth["ucdavis"][run_hash] = spec
            where[run_hash] = shard
    # the same run copied into both shards (same hash, same results): counted once
    copied = RunSpec("noaug", 32, 999, 0, UCDAVIS, 100)
    written = write_example(n1, specs=[copied], seed=50, system_params=False)
    assert write_example(n2, specs=[copied], seed=50, system_params=False).keys() == written.keys()
    same_hash = next(iter(written))
    truth["ucdavis"][same_hash] = copied
    where[same_hash] = n1
    # one hash, finished in both shards with different results: trusted in neither
    first = write_example(n1, specs=[RunSpec("rotate", 32, 999, 1, UCDAVIS, 101)], seed=60,
                          system_params=False)
    second = write_example(n2, specs=[RunSpec("rotate", 32, 998, 1, UCDAVIS, 101)], seed=60,
                           system_params=False)
    assert first.keys() == second.keys()
    dropped = next(iter(first))
    mirage_specs = [_with(s, campaign_id=MIRAGE) for s in plan_example(36, campaigns=1)]
    for run_hash, spec in write_example(m, specs=mirage_specs, seed=21,
                                        system_params=False).items():
        truth["mirage"][run_hash] = spec
        where[run_hash] = m
    return {"n1": n1, "n2": n2, "m": m, "truth": truth, "where": where,
            "copied": same_hash, "dropped": dropped, "base": base}


def _config(repos, out: Path, **extra) -> dict:
    config = {
        "repositories": [
            {"name": "ucdavis", "shards": [str(repos["n1"]), str(repos["n2"])]},
            {"name": "mirage", "path": str(repos["m"])},
        ],
        "output": str(out),
        "comparisons": [
            {"name": "datasets", "factor": "aug_name", "contexts": ["test-script"],
             "sources": [{"repository": "ucdavis"},
                         {"repository": "mirage", "label": "mirage19"}]},
            {"name": "ucdavis-dims", "factor": "flowpic_dim",
             "sources": [{"repository": "ucdavis", "campaign": UCDAVIS}]},
        ],
    }
    config.update(extra)
    return config


def snakemake(workdir: Path, config: dict, *args: str) -> subprocess.CompletedProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(PROJECT / "Snakefile"),
           "--directory", str(workdir), "--configfile", str(path), "--cores", "2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def build(workdir: Path, config: dict, *args: str) -> str:
    result = snakemake(workdir, config, *args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def state(folder: Path) -> dict[str, tuple[int, int]]:
    """mtime and size of every output file (the build lock, rewritten by every build, aside)."""
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "build.lock"}


def checksums(folder: Path) -> dict[str, str]:
    """Digest of every output and intermediate file, but logs, the build lock and memos."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "logs" not in p.parts
            and p.name not in ("build.lock", "stats-memo.pkl")}


@pytest.fixture(scope="module")
def built(repos, tmp_path_factory):
    work = tmp_path_factory.mktemp("across-work")
    before = {k: tree_state(repos[k]) for k in ("n1", "n2", "m")}
    out = work / "out"
    build(work / "wd", _config(repos, out))
    return out, work, before


# --- recomputation from the artifact CSVs ----------------------------------------------

def _acc(repos, run_hash: str, context: str) -> float:
    path = repos["where"][run_hash] / "artifacts" / run_hash / f"{context}_class_rep.csv"
    return pd.read_csv(path, index_col=0).loc["accuracy", "precision"] * 100


def _pooled(repos, context: str) -> pd.DataFrame:
    rows = []
    for source, label in (("ucdavis", "ucdavis"), ("mirage", "mirage19")):
        for run_hash, spec in repos["truth"][source].items():
            rows.append({"source": label, "aug_name": spec.aug_name,
                         "flowpic_dim": spec.flowpic_dim, "seed": spec.seed,
                         "split_index": spec.split_index, "acc": _acc(repos, run_hash, context)})
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_nothing_is_written_into_any_shard(repos, built):
    _, _, before = built
    for key in ("n1", "n2", "m"):
        assert tree_state(repos[key]) == before[key]
        assert not (repos[key] / "campaign_summary").exists()


@pytest.mark.slow
def test_duplicated_hashes_are_one_problem_each_and_counted_once(repos, built):
    out, *_ = built
    problems = pd.read_csv(out / "ucdavis" / "problems.csv")
    assert sorted(problems["hash"]) == sorted([repos["copied"], repos["dropped"]])
    why = dict(zip(problems["hash"], problems["problem"], strict=True))
    assert "same results" in why[repos["copied"]]
    assert "different results" in why[repos["dropped"]]
    runs = pd.read_csv(out / "ucdavis" / UCDAVIS / "runs.csv")
    assert len(runs) == 37 and runs["hash"].is_unique
    assert repos["dropped"] not in set(runs["hash"]) and repos["copied"] in set(runs["hash"])
    provenance = json.loads((out / "ucdavis" / UCDAVIS / "provenance.json").read_text())
    assert provenance["repository"] == [str(repos["n1"]), str(repos["n2"])]


@pytest.mark.slow
def test_comparison_numbers_match_a_pandas_recomputation(repos, built):
    out, *_ = built
    folder = out / "comparisons" / "datasets"
    pooled = _pooled(repos, "test-script")
    ranks = pd.read_csv(folder / "ranks.csv")
    tests = pd.read_csv(folder / "tests.csv")
    for dim in (32, 64):
        subset = pooled[pooled.flowpic_dim == dim]
        table = subset.pivot_table(index=["source", "seed", "split_index"], columns="aug_name",
                                   values="acc").dropna()
        assert len(table) == 12  # 2 sources x 2 seeds x 3 splits; the copied run's block is partial
        block_ranks = np.vstack([scipy_stats.rankdata(-row) for row in table.to_numpy()])
        expected = dict(zip(table.columns, block_ranks.mean(axis=0), strict=True))
        mine = ranks[(ranks.metric == "acc") & (ranks.stratum == f"flowpic_dim={dim}")]
        assert dict(zip(mine.level, mine.mean_rank, strict=True)) == pytest.approx(expected)
        test = tests[(tests.metric == "acc") & (tests.stratum == f"flowpic_dim={dim}")].iloc[0]
        friedman = scipy_stats.friedmanchisquare(*[table[c] for c in table.columns])
        assert test["friedman_p"] == pytest.approx(friedman.pvalue, rel=1e-9)
        assert test["blocks"] == 12

        by_source = pd.read_csv(folder / "ranks_by_source.csv")
        for label in ("ucdavis", "mirage19"):
            alone = table.loc[label]
            r = np.vstack([scipy_stats.rankdata(-row) for row in alone.to_numpy()]).mean(axis=0)
            mine = by_source[(by_source.source == label) & (by_source.metric == "acc")
                             & (by_source.stratum == f"flowpic_dim={dim}")]
            assert dict(zip(mine.level, mine.mean_rank, strict=True)) == pytest.approx(
                dict(zip(alone.columns, r, strict=True)))

    side = pd.read_csv(folder / "side_by_side.csv")
    side = side[side.metric == "acc"]
    for (label, aug, dim), cell in pooled.groupby(["source", "aug_name", "flowpic_dim"]):
        row = side[(side.source == label) & (side.aug_name == aug) & (side.flowpic_dim == dim)]
        assert len(row) == 1
        values = cell["acc"].to_numpy()
        assert row.iloc[0]["n"] == len(values)
        assert row.iloc[0]["mean"] == pytest.approx(values.mean())
        half = scipy_stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(
            len(values))
        assert row.iloc[0]["ci95"] == pytest.approx(half)
    assert set(side.context) == {"test-script"}
    # the same table in LaTeX, for the paper: one row per configuration, one column per
    # source, mean ± ci95 as side_by_side.csv has them, the best of each column in bold
    tex = (folder / "tables" / "side_by_side_acc_test-script.tex").read_text()
    assert "\\toprule" in tex and "configuration & ucdavis & mirage19" in tex
    for label in ("ucdavis", "mirage19"):
        mine = side[side.source == label]
        best = mine.loc[mine["mean"].idxmax()]
        assert f"\\textbf{{{best['mean']:.2f} $\\pm$ {best['ci95']:.2f}}}" in tex
    row = side.iloc[0]
    label = row["configuration"].replace("_", "\\_")
    line = next(x for x in tex.splitlines() if x.startswith(label))
    assert f"{row['mean']:.2f} $\\pm$ {row['ci95']:.2f}" in line
    html = (folder / "report.html").read_text()
    assert "Which level wins" in html and "mirage19" in html
    assert list((folder / "figures").glob("cd_*.svg"))
    assert list((folder / "figures").glob("rank_per_source_*.svg"))
    # the Markdown report shows the pooled CD diagrams too (the paper's Figure 4), from figures/
    markdown = (folder / "report.md").read_text()
    answers = [line for line in markdown.splitlines() if line.startswith("- **")]
    assert answers and all(line.count("- **") == 1 for line in answers)  # one item a line
    assert "## Rankings (critical-difference diagrams)" in markdown
    shown = re.findall(r"!\[[^\]]*\]\((figures/cd_[^)]+\.svg)\)", markdown)
    assert shown and all((folder / f).is_file() for f in shown)
    provenance = json.loads((folder / "provenance.json").read_text())
    assert [s["label"] for s in provenance["sources"]] == ["ucdavis", "mirage19"]


@pytest.mark.slow
def test_each_output_folder_has_an_index(repos, built):
    out, *_ = built
    # the output holding both repositories: one line each, links to their indexes and comparisons
    top = (out / "index.html").read_text()
    assert 'href="ucdavis/index.html"' in top and 'href="mirage/index.html"' in top
    assert 'href="comparisons/datasets/report.html"' in top
    cards = {
        name: [json.loads(p.read_text()) for p in (out / name / ".tcsummary").glob("*/card.json")]
        for name in ("ucdavis", "mirage")
    }
    for name, found in cards.items():
        used, runs = sum(c["used"] for c in found), sum(c["runs"] for c in found)
        row = next(line for line in top.splitlines() if f'href="{name}/index.html"' in line)
        assert f"<td>{len(found)}</td><td>{used} / {runs}</td>" in row
        own = (out / name / "index.html").read_text()
        assert '<a href="../index.html">all repositories</a>' in own
    top_md = (out / "index.md").read_text()
    assert "[ucdavis](ucdavis/index.md)" in top_md and "comparisons/datasets/report.md" in top_md
    for name, campaign in (("ucdavis", UCDAVIS), ("mirage", MIRAGE)):
        html = (out / name / "index.html").read_text()
        assert f'href="{campaign}/report.html"' in html
        assert "../comparisons/datasets/report.html" in html
        markdown = (out / name / "index.md").read_text()
        assert f"[{campaign}]({campaign}/report.md)" in markdown
    assert "ucdavis-dims" in (out / "ucdavis" / "index.html").read_text()
    assert "ucdavis-dims" not in (out / "mirage" / "index.html").read_text()
    assert "37 / 37" in (out / "ucdavis" / "index.html").read_text()


@pytest.mark.slow
def test_the_cli_reads_shards_as_one_repository(repos, capsys):
    assert cli(["ls", str(repos["n1"]), str(repos["n2"]), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    hashes = [r["hash"] for r in rows]
    assert len(hashes) == len(set(hashes)) == 37
    copied = next(r for r in rows if r["hash"] == repos["copied"])
    assert "same results" in copied["problems"]
    assert cli(["campaigns", str(repos["n1"]), str(repos["n2"]), "--format", "json"]) == 0
    grids = json.loads(capsys.readouterr().out)
    assert [(g["campaign"], g["runs"]) for g in grids] == [(UCDAVIS, 37)]


@pytest.mark.slow
def test_a_new_run_in_one_source_rebuilds_only_what_includes_it(repos, built, tmp_path):
    import shutil

    out, work, _ = built
    # private copies: the module's repositories stay as built for the other tests
    copies = {k: tmp_path / k for k in ("n1", "n2", "m")}
    for key, dest in copies.items():
        shutil.copytree(repos[key], dest, symlinks=True)
    local = {**repos, **copies}
    config = _config(local, tmp_path / "out")
    build(tmp_path / "wd", config)
    before = state(tmp_path / "out")
    assert "Nothing to be done" in build(tmp_path / "wd", config)
    assert state(tmp_path / "out") == before  # a no-op touches nothing, the index included
    time.sleep(0.01)
    write_example(copies["m"], specs=[RunSpec("noaug", 64, 4242, 0, MIRAGE, 500)], seed=99,
                  system_params=False)
    log = build(tmp_path / "wd", config)
    after = state(tmp_path / "out")
    changed = sorted(k for k in after if before.get(k) != after[k])
    assert any(k.startswith(f"mirage/{MIRAGE}/") for k in changed)
    assert "mirage/index.html" in changed
    assert any(k.startswith("comparisons/datasets/") for k in changed)
    assert not any(k.startswith(("ucdavis/", "comparisons/ucdavis-dims/")) for k in changed), (
        changed)
    assert "rule compare" in log
    # the strata the new run left alone: their statistics came from the previous build...
    for job_log in (tmp_path / "out" / "mirage" / ".tcsummary" / MIRAGE / "logs" / "aggregate.log",
                    tmp_path / "out" / "comparisons" / "datasets" / ".tcsummary" / "logs"
                    / "compare.log"):
        computed, total, kept = map(int, re.findall(
            r"(\d+) of (\d+) statistics computed \((\d+) from the previous build\)",
            job_log.read_text())[-1])
        assert 0 < computed < total and kept == total - computed, job_log
    # ... and are the ones computing them all again gives, byte for byte
    remembered = checksums(tmp_path / "out")
    for memo in (tmp_path / "out").rglob("stats-memo.pkl"):
        memo.unlink()
    build(tmp_path / "wd", config, "--forcerun", "aggregate", "compare")
    assert checksums(tmp_path / "out") == remembered


def test_a_comparison_naming_a_missing_campaign_is_one_line(repos, tmp_path):
    config = workflow_config(**_config(repos, tmp_path / "out"))
    config["comparisons"] = [{"name": "x", "sources": [{"repository": "mirage",
                                                         "campaign": "123"}]}]
    with pytest.raises(ConfigError) as error:
        plan_build(config, base=tmp_path)
    assert str(error.value) == (
        f"comparison 'x': repository 'mirage' has no campaign '123'; it has: {MIRAGE}"
    )
    config["comparisons"] = [{"name": "x", "sources": [{"repository": "nope"}]}]
    with pytest.raises(ConfigError, match="no repository 'nope'; the build has: mirage, ucdavis"):
        plan_build(config, base=tmp_path)


def test_shards_need_an_output_folder(repos, tmp_path):
    config = workflow_config(**_config(repos, tmp_path / "out"))
    config["output"] = None
    with pytest.raises(ConfigError, match="repository 'ucdavis' has 2 shards: set `output`"):
        plan_build(config, base=tmp_path)
    assert not (repos["n1"] / "campaign_summary").exists()


@pytest.mark.slow
def test_the_workflow_stops_with_the_one_line(repos, tmp_path):
    config = _config(repos, tmp_path / "out")
    config["comparisons"] = [{"name": "x", "sources": [{"repository": "mirage",
                                                         "campaign": "123"}]}]
    result = snakemake(tmp_path / "wd", config, "-n")
    assert result.returncode != 0
    assert (f"tcsummary: comparison 'x': repository 'mirage' has no campaign '123'; "
            f"it has: {MIRAGE}") in result.stdout + result.stderr


@pytest.mark.slow
def test_comparison_report_and_index_read_in_a_real_browser(built, tmp_path):
    from browser import ChromiumUnavailable, open_report

    out, *_ = built
    pages = {
        "comparison": out / "comparisons" / "datasets" / "report.html",
        "index": out / "ucdavis" / "index.html",
        "top index": out / "index.html",
    }
    for name, html in pages.items():
        try:
            page = open_report(html, tmp_path / f"{name}.png", expand_details=True)
        except ChromiumUnavailable as exc:
            pytest.skip(str(exc))
        assert page.console_errors == [], page.summary()
        assert page.horizontal_overflow == 0, page.summary()
        assert not page.has_script and page.resources == []
    assert {"answer", "sidebyside", "cd", "bysource"} <= set(page_sections(pages["comparison"]))


def page_sections(html: Path) -> list[str]:
    import re

    return re.findall(r'<section id="([^"]+)"', html.read_text())


def test_the_answer_names_the_comparisons_best_level_even_on_tied_mean_ranks():
    from tcsummary.summarise.across import _answer
    from tcsummary.summarise.ranking import CampaignRanking, CompareSettings

    settings = CompareSettings.from_config({"factors": None, "blocks": None, "alpha": 0.05,
                                            "lower_is_better": None, "levels": {}, "names": {}})
    ranking = CampaignRanking()
    ranking.diagrams.append({"metric": "acc", "context": "test", "factor": "source",
                             "stratum": "", "ranks": [["a", 1.5], ["b", 1.5]], "cd": 1.0,
                             "note": "", "blocks": 6, "lower": False,
                             "not_worse": ["a", "b"], "best": "b"})
    ranking.tests.append({"metric": "acc", "context": "test", "factor": "source",
                          "stratum": "", "omnibus": "wilcoxon", "omnibus_p": 0.6})
    (answer,) = _answer(ranking, "acc", "test", "source", settings)
    assert answer["best"] == "b" and answer["mean_rank"] == 1.5 and answer["tied"] == ["a"]


def test_side_by_side_marks_the_best_by_the_configured_direction():
    from tcsummary.render.report import side_by_side_tables

    rows = [{"metric": "acc", "context": "test", "configuration": c, "source": "s", "n": 3,
             "mean": m, "ci95": 1.0} for c, m in (("a", 70.0), ("b", 60.0))]
    view = {"sources": [{"label": "s"}], "side_by_side": rows, "lower": {"acc": True}}
    (table,) = side_by_side_tables(view)
    assert [r["cells"][0]["best"] for r in table["rows"]] == [False, True]
    view["lower"] = {"acc": False}
    (table,) = side_by_side_tables(view)
    assert [r["cells"][0]["best"] for r in table["rows"]] == [True, False]
    # sources that differ only in the factor: one configuration, named as answers name it
    view["side_by_side"] = [{**rows[0], "configuration": ""}]
    (table,) = side_by_side_tables(view)
    assert [r["label"] for r in table["rows"]] == ["all runs"]


def test_a_comparison_reads_from_the_values_file_what_it_read_from_the_snapshot():
    """The values file is a cut of the snapshot: the same included runs, hparams and finite
    compared values (statuses, a missing metric, NaN, inf and an uncompared context mixed)."""
    from tcsummary.plan.campaigns import values_document
    from tcsummary.summarise.across import source_runs

    def run(i: int, status: str, metrics: dict) -> dict:
        return RunInfo(hash=f"{i:024x}", status=status,
                       hparams={"seed": i, "aug_name": ["a", "b"][i % 2], "dims": (32, 64)},
                       metrics={k: MetricValue(v, 3) for k, v in metrics.items()}).to_record()

    records = [
        run(5, FINISHED, {("acc", "test"): 0.9, ("acc", "val"): 0.8, ("f1", "test"): 0.7}),
        run(2, FINISHED, {("acc", "test"): float("nan"), ("f1", "test"): float("inf")}),
        run(9, UNFINISHED, {("acc", "test"): 0.5}),
        run(1, "active", {("acc", "test"): 0.4}),
        run(7, FINISHED, {("f1", "test"): 0.6, ("loss", "train"): 0.1}),
    ]
    snapshot = json.dumps({"runs": records}, sort_keys=True).encode()
    document = json.loads(json.dumps(values_document("c", records, snapshot), sort_keys=True))
    source = {"contexts": {"test": "test"}}
    found = source_runs(source, document, ["acc", "f1"])

    expected = [
        {"hash": r["hash"], "hparams": r["hparams"],
         "values": {"test": {m: v for m, c, v, _ in r["metrics"]
                             if c == "test" and m in ("acc", "f1") and math.isfinite(v)}}}
        for r in json.loads(snapshot)["runs"] if r["status"] == FINISHED
    ]
    for item in expected:
        if not item["values"]["test"]:
            item["values"] = {}
    assert found.runs == expected
    assert [r["hash"] for r in found.runs] == [f"{i:024x}" for i in (5, 2, 7)]
    assert found.runs[1]["values"] == {}  # NaN and inf are missing, not numbers
    assert found.hashes == sorted(r["hash"] for r in records)
    assert found.snapshot_sha256 == hashlib.sha256(snapshot).hexdigest()
