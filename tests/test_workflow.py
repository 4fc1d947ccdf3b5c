"""End-to-end: the Snakemake workflow on real repositories, in a subprocess.

Each test builds a small generated repository (2 campaigns, an unfinished run,
a run missing one CSV, a run without campaign_id) and checks what users rely
on: the files, their numbers against an independent pandas/scipy
recomputation from the artifacts, incremental rebuilds and byte-identical
forced rebuilds. Slow (each snakemake start costs ~2 s here): marked ``slow``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import tree_state
from scipy import stats as scipy_stats

from tcsummary.example import CRASHED, FINISHED, RunSpec, write_example

PROJECT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def snakemake(
    root: Path, workdir: Path, *args: str, config: str = ""
) -> subprocess.CompletedProcess:
    """Run the project's Snakefile on one repository, from its own working directory."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "snakemake", "-s", str(PROJECT / "Snakefile"),
        "--directory", str(workdir), "--configfile", str(PROJECT / "config" / "config.yaml"),
        "--cores", "2", "--config", f'repositories=["{root}"]', *config.split(), *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def build(root: Path, workdir: Path, *args: str, config: str = "") -> str:
    result = snakemake(root, workdir, *args, config=config)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def outputs(summary: Path) -> dict[str, tuple[int, str]]:
    """mtime and checksum of every summary file (intermediates under .tcsummary included)."""
    state = {}
    for path in sorted(summary.rglob("*")):
        if path.is_file():
            state[str(path.relative_to(summary))] = (
                path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()
            )
    return state


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A repository and a first, cold build of it (shared by the read-only checks)."""
    base = tmp_path_factory.mktemp("wf")
    root = base / "repo"
    specs = write_example(
        root, runs=36, campaigns=2, seed=5, unfinished=1, missing_artifact=1, no_campaign=1,
        system_params=False,
    )
    before = tree_state(root)
    log = build(root, base / "work")
    return root, specs, before, log


# --- independent recomputation -------------------------------------------------------

def expected_metrics(root: Path, specs: dict[str, RunSpec], campaign: str) -> pd.DataFrame:
    """Final test metrics of finished runs recomputed from the class-report CSVs with pandas.

    tcbench tracks acc = 100 x accuracy and precision/recall/f1 = the weighted
    averages of the same report, so the CSVs are an independent source.
    """
    rows = []
    for run_hash, spec in specs.items():
        if spec.campaign_id != campaign or spec.fate == CRASHED:
            continue
        for path in sorted((root / "artifacts" / run_hash).glob("test*_class_rep.csv")):
            report = pd.read_csv(path, index_col=0)
            rows.append({
                "test_split_name": path.name[: -len("_class_rep.csv")],
                "aug_name": spec.aug_name, "flowpic_dim": spec.flowpic_dim,
                "acc": report.loc["accuracy", "precision"] * 100,
                "f1": report.loc["weighted avg", "f1-score"],
                "precision": report.loc["weighted avg", "precision"],
                "recall": report.loc["weighted avg", "recall"],
            })
    return pd.DataFrame(rows)


def ci95(values) -> float:
    a = np.asarray(values, dtype=float)
    return scipy_stats.t.ppf(0.975, len(a) - 1) * a.std(ddof=1) / math.sqrt(len(a))


def test_tcbench_summary_files_match_an_independent_recomputation(built):
    root, specs, _, _ = built
    for campaign in {s.campaign_id for s in specs.values() if s.campaign_id}:
        frame = expected_metrics(root, specs, campaign)
        for dim, part in frame.groupby("flowpic_dim"):
            path = root / "campaign_summary" / campaign / f"summary_flowpic_dim_{dim}.csv"
            header = path.read_text().splitlines()[0].split(",")
            keys = header[: header.index("acc")]
            # tcbench's keys: the split, then hparams that vary (flowpic_dim filtered and dropped)
            assert keys == ["test_split_name", "aug_name"]
            # exactly how the paper notebooks read tcbench's file
            got = pd.read_csv(path, header=[0, 1], index_col=list(range(len(keys))))
            assert list(got.columns.get_level_values(0).unique()) == [
                "acc", "f1", "precision", "recall", "run_duration"
            ]
            assert list(got.columns[:4].get_level_values(1)) == ["count", "mean", "std", "ci95"]
            assert list(got.columns[-3:].get_level_values(1)) == ["mean", "std", "ci95"]
            groups = part.groupby(keys)
            assert len(got) == groups.ngroups
            for key, values in groups:
                for metric in ("acc", "f1", "precision", "recall"):
                    row = got.loc[key, metric]
                    assert row["count"] == len(values)
                    assert row["mean"] == pytest.approx(values[metric].mean(), rel=1e-9)
                    assert row["std"] == pytest.approx(values[metric].std(), rel=1e-9)
                    assert row["ci95"] == pytest.approx(ci95(values[metric]), rel=1e-9)
            runsinfo = pd.read_parquet(path.with_name(f"runsinfo_flowpic_dim_{dim}.parquet"))
            assert list(runsinfo.columns[:9]) == [
                "hash", "name", "description", "archived", "creation_time", "end_time",
                "active", "experiment", "tags",
            ]
            assert list(runsinfo.columns[-2:]) == ["test_split_name", "run_duration"]
            assert len(runsinfo) == len(part)
            assert set(runsinfo["flowpic_dim"]) == {dim}


def test_per_class_and_confusion_match_the_csvs(built):
    root, specs, _, _ = built
    campaign = sorted({s.campaign_id for s in specs.values() if s.campaign_id})[0]
    per_class = pd.read_csv(root / "campaign_summary" / campaign / "per_class.csv")
    confusion = pd.read_csv(root / "campaign_summary" / campaign / "confusion_matrices.csv")
    reports, matrices = [], []
    for run_hash, spec in specs.items():
        folder = root / "artifacts" / run_hash
        if spec.campaign_id != campaign or spec.fate == CRASHED:
            continue
        for rep in folder.glob("test*_class_rep.csv"):
            context = rep.name[: -len("_class_rep.csv")]
            mtx = folder / f"{context}_conf_mtx.csv"
            if not mtx.exists():
                continue  # the run missing a matrix is left out of this context
            keys = {"aug_name": spec.aug_name, "flowpic_dim": spec.flowpic_dim, "context": context}
            table = pd.read_csv(rep, index_col=0).drop(["accuracy", "macro avg", "weighted avg"])
            for name, row in table.iterrows():
                reports.append({**keys, "class": name, **row.to_dict()})
            counts = pd.read_csv(mtx, index_col=0)
            normalised = counts.div(counts.sum(axis=1), axis=0)
            for true in counts.index:
                for predicted in counts.columns:
                    matrices.append({**keys, "true": true, "predicted": predicted,
                                     "count": counts.loc[true, predicted],
                                     "share": normalised.loc[true, predicted]})
    keys = ["aug_name", "flowpic_dim", "context", "class"]
    expected = pd.DataFrame(reports).groupby(keys)
    got = per_class.set_index(keys)
    assert len(got) == expected.ngroups
    for key, values in expected:
        row = got.loc[key]
        assert row["runs"] == len(values)
        assert row["recall_mean"] == pytest.approx(values["recall"].mean(), rel=1e-9)
        assert row["f1_ci95"] == pytest.approx(ci95(values["f1-score"]), rel=1e-9, nan_ok=True)
        assert row["support"] == pytest.approx(values["support"].mean())
    cells = pd.DataFrame(matrices).groupby(["aug_name", "flowpic_dim", "context", "true",
                                            "predicted"])
    got = confusion.set_index(["aug_name", "flowpic_dim", "context", "true", "predicted"])
    assert len(got) == cells.ngroups
    for key, values in cells:
        assert got.loc[key, "count_sum"] == values["count"].sum()
        assert got.loc[key, "normalised_mean"] == pytest.approx(values["share"].mean(), rel=1e-9)
        assert got.loc[key, "normalised_std"] == pytest.approx(
            values["share"].std(), rel=1e-9, nan_ok=True
        )


def test_reports_runs_and_exclusions(built):
    root, specs, before, log = built
    summary = root / "campaign_summary"
    for folder in [*{s.campaign_id for s in specs.values() if s.campaign_id}, "_no_campaign"]:
        out = summary / folder
        for name in ("report.html", "report.md", "runs.csv", "metrics.csv", "per_class.csv",
                     "confusion_matrices.csv", "provenance.json"):
            assert (out / name).stat().st_size > 0, out / name
        assert list((out / "figures").glob("confusion_*.svg"))
        assert list((out / "tables").glob("acc_test-*.tex"))
        html = (out / "report.html").read_text()
        assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in html and "<script" not in html and "<svg" in html
        # a group of one run shows its mean alone, never a dash where the interval would be
        for page in [out / "report.html", out / "report.md", *(out / "tables").glob("*.tex")]:
            text = page.read_text()
            assert "± –" not in text and "$\\pm$ –" not in text, page
        # the first section as data: each context's row says what the report says
        answers = pd.read_csv(out / "answers.csv", keep_default_na=False)
        markdown = (out / "report.md").read_text()
        assert list(answers.columns[:4]) == ["context", "metric", "by", "best"]
        assert len(answers) and all(f"**{row.best}**" in markdown for row in answers.itertuples())
        assert all(row.verdict in markdown for row in answers.itertuples())
    unfinished = [h for h, s in specs.items() if s.fate == CRASHED]
    campaign = specs[unfinished[0]].campaign_id
    runs = pd.read_csv(summary / campaign / "runs.csv")
    row = runs.set_index("hash").loc[unfinished[0]]
    assert not row["included"] and "did not finish" in row["excluded_because"]
    assert unfinished[0] in (summary / campaign / "report.html").read_text()
    # the runs without campaign_id vary in nothing: one group, named as such, not by its label
    index = (summary / "index.md").read_text()
    no_campaign = next(line for line in index.splitlines() if "_no_campaign/report.md" in line)
    assert "**all runs**" in no_campaign and "campaign_id=" not in index
    # its one run has no interval: said so, not "± –"
    assert re.search(r"\*\* \d+\.\d\d \(one run, no interval\)", no_campaign), no_campaign
    assert "± –" not in no_campaign
    for line in index.splitlines():  # every mean is followed by a space, then its interval
        assert not re.search(r"\d±", line), line
    report = (summary / "_no_campaign" / "report.md").read_text()
    assert "from a single run" in report and "± –" not in report.split("## Tables")[0]
    assert "1 run:" in report
    # its run duration too, in both reports (the HTML's folded details said "ci95 ± – s")
    assert re.search(r"Run duration: \d+\.\d s \(one run, no interval\)\.", report), report
    html = (summary / "_no_campaign" / "report.html").read_text()
    assert re.search(r"<td>\d+\.\d s \(one run, no interval\)</td>", html)
    assert "± –" not in html
    assert tree_state(root) == before  # nothing written into .aim/ or artifacts/


def test_second_run_has_nothing_to_do(built, tmp_path):
    root, *_ = built
    assert "Nothing to be done" in build(root, tmp_path / "w")


def test_unknown_metric_is_a_one_line_error(built, tmp_path):
    root, *_ = built
    result = snakemake(root, tmp_path / "w", config="metrics=[acc,bogus]")
    assert result.returncode != 0
    message = [line for line in result.stderr.splitlines() if "bogus" in line]
    assert message and "the repository has: acc" in message[0], result.stderr
    assert "Traceback" not in result.stderr


# --- incremental behaviour ------------------------------------------------------------

@pytest.fixture
def fresh(built, tmp_path):
    """A private copy of the built repository (outputs included) for tests that change it."""
    root, specs, _, _ = built
    copy = tmp_path / "repo"
    shutil.copytree(root, copy, symlinks=True)
    # the copy's outputs must look as built: rebuild the copy's snakemake metadata
    build(copy, tmp_path / "w")
    return copy, dict(specs)


def campaigns_of(specs):
    return sorted({s.campaign_id for s in specs.values() if s.campaign_id})


def test_new_run_rebuilds_only_its_campaign(fresh, tmp_path):
    root, specs = fresh
    a, b = campaigns_of(specs)
    before = outputs(root / "campaign_summary")
    time.sleep(0.01)
    new = [RunSpec("noaug", 32, 777, 0, a, 900)]
    write_example(root, specs=new, seed=77, system_params=False)
    log = build(root, tmp_path / "w")
    after = outputs(root / "campaign_summary")
    changed = {k for k in after if before.get(k) != after[k]}
    assert any(k.startswith(f"{a}/") for k in changed)
    assert not any(k.startswith(f"{b}/") or k.startswith("_no_campaign/") for k in changed), changed
    assert "Nothing to be done" in build(root, tmp_path / "w")
    assert "rule aggregate" in log


def test_a_changed_setting_reruns_the_jobs_that_use_it_and_only_once(fresh, tmp_path):
    # the profile has no params trigger (it imports pandas on every run): each rule's params
    # are a file, rewritten only when they change, whose mtime reruns the job
    root, specs = fresh
    summary = root / "campaign_summary"
    campaign = campaigns_of(specs)[0]
    alpha = tmp_path / "alpha.yaml"
    alpha.write_text("compare:\n  alpha: 0.1\n")
    extra = ("--configfile", str(PROJECT / "config" / "config.yaml"), str(alpha))
    log = build(root, tmp_path / "w", *extra)
    assert "rule aggregate" in log and "rule extract" not in log
    provenance = json.loads((summary / campaign / "provenance.json").read_text())
    assert provenance["config"]["compare"]["alpha"] == 0.1
    assert "Nothing to be done" in build(root, tmp_path / "w", *extra)
    log = build(root, tmp_path / "w")  # back to the default
    assert "rule aggregate" in log
    provenance = json.loads((summary / campaign / "provenance.json").read_text())
    assert provenance["config"]["compare"]["alpha"] == 0.05
    assert "Nothing to be done" in build(root, tmp_path / "w")


def test_edited_csv_reruns_its_extraction_and_campaign_only(fresh, tmp_path):
    root, specs = fresh
    a, b = campaigns_of(specs)
    victim = next(h for h, s in specs.items() if s.campaign_id == a and s.fate == FINISHED
                  and (root / "artifacts" / h / "test-script_class_rep.csv").exists())
    path = root / "artifacts" / victim / "test-script_class_rep.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:3]))  # a real edit: truncated after 2 of 8 rows
    before = outputs(root / "campaign_summary")
    build(root, tmp_path / "w")
    after = outputs(root / "campaign_summary")
    changed = {k for k in after if before.get(k) != after[k]}
    assert f".tcsummary/{a}/extract/all.json" in changed
    assert not any(k.startswith(f"{b}/") or f"/{b}/" in k for k in changed), changed
    runs = pd.read_csv(root / "campaign_summary" / a / "runs.csv").set_index("hash")
    assert "test-script_class_rep.csv: truncated" in runs.loc[victim, "artifact_problems"]
    assert bool(runs.loc[victim, "included"])  # Aim metrics still count


def test_removed_run_rebuilds_its_campaign_without_it(fresh, tmp_path):
    root, specs = fresh
    a, b = campaigns_of(specs)
    victim = next(h for h, s in specs.items() if s.campaign_id == b and s.fate == FINISHED)
    for part in (".aim/meta/chunks", ".aim/seqs/chunks", "artifacts"):
        shutil.rmtree(root / part / victim)
    before = outputs(root / "campaign_summary")
    build(root, tmp_path / "w")
    after = outputs(root / "campaign_summary")
    changed = {k for k in after if before.get(k) != after[k]}
    assert any(k.startswith(f"{b}/") for k in changed)
    assert not any(k.startswith(f"{a}/") for k in changed), changed
    runs = pd.read_csv(root / "campaign_summary" / b / "runs.csv")
    assert victim not in set(runs["hash"])


def test_forceall_rebuild_is_byte_identical(fresh, tmp_path):
    root, _ = fresh
    build(root, tmp_path / "w", "--forceall")  # provenance of the copy names the copy's path
    lock = ".tcsummary/build.lock"  # holds the pid of the last build, not a report
    before = {k: v[1] for k, v in outputs(root / "campaign_summary").items() if k != lock}
    build(root, tmp_path / "w", "--forceall")
    after = {k: v[1] for k, v in outputs(root / "campaign_summary").items() if k != lock}
    assert after == before


def test_lint_is_clean(built, tmp_path):
    root, *_ = built
    result = snakemake(root, tmp_path / "w", "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr


def test_report_command_builds_the_snakemake_report(built, tmp_path):
    root, *_ = built
    target = tmp_path / "report.zip"
    result = snakemake(root, tmp_path / "w", "--report", str(target))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert target.stat().st_size > 0
    assert os.path.getsize(target) > 1000


# --- faults ---------------------------------------------------------------------------

def _start(root: Path, workdir: Path, *args: str) -> subprocess.Popen:
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "snakemake", "-s", str(PROJECT / "Snakefile"),
        "--directory", str(workdir), "--configfile", str(PROJECT / "config" / "config.yaml"),
        "--cores", "2", "--config", f'repositories=["{root}"]', *args,
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _reference(built, tmp_path) -> tuple[Path, dict[str, str]]:
    """A copy of the repository and the bytes of an uninterrupted cold build of it."""
    root, *_ = built
    copy = tmp_path / "repo"
    shutil.copytree(root, copy, symlinks=True)
    shutil.rmtree(copy / "campaign_summary")
    build(copy, tmp_path / "ref")
    reference = {k: v[1] for k, v in outputs(copy / "campaign_summary").items()
                 if not k.startswith(".tcsummary/") and not Path(k).name.startswith(".")}
    shutil.rmtree(copy / "campaign_summary")
    return copy, reference


def test_kill_9_mid_build_leaves_no_partial_file_and_rebuild_matches(built, tmp_path):
    copy, reference = _reference(built, tmp_path)
    proc = _start(copy, tmp_path / "w")
    summary = copy / "campaign_summary"
    deadline = time.monotonic() + 120
    while not list(summary.glob("*/runs.csv")) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()  # SIGKILL: no cleanup of any kind
    proc.wait()
    seen = {k: v[1] for k, v in outputs(summary).items() if not k.startswith(".tcsummary/")}
    assert seen, "the build was killed before it wrote anything"
    visible = {k: v for k, v in seen.items() if not Path(k).name.startswith(".")}
    assert len(visible) < len(reference), "the build finished before the kill"
    for name, digest in visible.items():  # every visible file is complete and final
        assert digest == reference[name], name
    assert snakemake(copy, tmp_path / "w", "--unlock").returncode == 0
    build(copy, tmp_path / "w")
    rebuilt = {k: v[1] for k, v in outputs(summary).items()
               if not k.startswith(".tcsummary/") and not Path(k).name.startswith(".")}
    assert rebuilt == reference
    assert not list(summary.rglob(".*.tmp")), "temporaries of the killed build remain"


def test_two_builds_at_once_one_fails_clearly_and_outputs_are_intact(built, tmp_path):
    copy, reference = _reference(built, tmp_path)
    # two working directories: Snakemake's own lock cannot see the other build
    builds = [_start(copy, tmp_path / "a"), _start(copy, tmp_path / "b")]
    results = [(p.communicate(timeout=600)[1], p.returncode) for p in builds]
    results = [(code, err) for err, code in results]
    codes = sorted(code for code, _ in results)
    assert codes[0] == 0 and codes[1] != 0, results
    loser = next(err for code, err in results if code != 0)
    assert "another build (pid " in loser and "is writing these reports" in loser
    done = {k: v[1] for k, v in outputs(copy / "campaign_summary").items()
            if not k.startswith(".tcsummary/") and not Path(k).name.startswith(".")}
    assert done == reference


def test_snakefmt_is_clean():
    snakefmt = Path(sys.executable).parent / "snakefmt"
    result = subprocess.run(
        [str(snakefmt), "--check", "Snakefile", "workflow"],
        cwd=PROJECT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_test_config_lints_dry_runs_and_builds(tmp_path):
    """`.test/config.yaml`: a tiny repository generated on first use, linted, dry-run, built."""
    shutil.copytree(PROJECT / ".test", tmp_path / ".test", ignore=shutil.ignore_patterns("repo"))

    def run(*args):
        cmd = [
            sys.executable, "-m", "snakemake", "-s", str(PROJECT / "Snakefile"),
            "--directory", str(tmp_path), "--configfile", str(tmp_path / ".test" / "config.yaml"),
            "--cores", "2", *args,
        ]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=600)

    dry = run("-n")
    assert dry.returncode == 0, dry.stdout[-2000:] + dry.stderr[-2000:]
    assert (tmp_path / ".test" / "repo" / ".aim").is_dir()  # generated by the first parse
    lint = run("--lint")
    assert lint.returncode == 0 and "Lints for" not in lint.stdout + lint.stderr, lint.stdout
    done = run()
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = tmp_path / ".test" / "repo" / "campaign_summary"
    assert (summary / "1684447037" / "report.html").is_file()
    log = summary / ".tcsummary" / "1684447037" / "logs" / "aggregate.log"
    assert "runs used" in log.read_text()
    # the bundled example's generator, rendered: what `make report` shows, in a browser
    _check_in_browser(summary / "1684447037" / "report.html", tmp_path / "example.png")


def test_a_typo_in_a_config_key_is_one_line(built, tmp_path):
    root, *_ = built
    result = snakemake(root, tmp_path / "w", "-n", config="metric=[acc]")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "tcsummary: unknown config key 'metric'; did you mean 'metrics'?" in output
    assert "properties:" not in output  # no schema dump


# --- comparisons: numbers against scipy on the artifact CSVs, the report in a browser -----

def _block_table(root, specs, campaign, context, dim):
    """acc per (split, seed) block x aug_name at one flowpic_dim, from the class-report CSVs."""
    rows = []
    for run_hash, spec in specs.items():
        if spec.campaign_id != campaign or spec.fate == CRASHED or spec.flowpic_dim != dim:
            continue
        path = root / "artifacts" / run_hash / f"{context}_class_rep.csv"
        report = pd.read_csv(path, index_col=0)
        rows.append({"block": (spec.split_index, spec.seed), "aug_name": spec.aug_name,
                     "acc": report.loc["accuracy", "precision"] * 100})
    return pd.DataFrame(rows).pivot_table(index="block", columns="aug_name", values="acc").dropna()


def test_comparisons_match_scipy_on_the_artifacts(built):
    root, specs, *_ = built
    campaign = sorted({s.campaign_id for s in specs.values() if s.campaign_id})[0]
    folder = root / "campaign_summary" / campaign
    table = _block_table(root, specs, campaign, "test-human", 32)
    assert list(table.columns) == ["noaug", "rotate"] and len(table) == 6

    pairwise = pd.read_csv(folder / "pairwise.csv")
    row = pairwise[(pairwise.metric == "acc") & (pairwise.context == "test-human")
                   & (pairwise.factor == "aug_name") & (pairwise.stratum == "flowpic_dim=32")]
    assert len(row) == 1
    expected = scipy_stats.wilcoxon(table["noaug"], table["rotate"]).pvalue
    assert row.iloc[0]["wilcoxon_p"] == pytest.approx(expected, rel=1e-9)
    assert row.iloc[0]["pairs"] == 6
    assert row.iloc[0]["mean_diff"] == pytest.approx((table["noaug"] - table["rotate"]).mean())

    ranks = pd.read_csv(folder / "ranks.csv")
    mine = ranks[(ranks.metric == "acc") & (ranks.context == "test-human")
                 & (ranks.factor == "aug_name") & (ranks.stratum == "flowpic_dim=32")]
    block_ranks = np.vstack([scipy_stats.rankdata(-row) for row in table.to_numpy()])
    expected_ranks = dict(zip(table.columns, block_ranks.mean(axis=0), strict=True))
    assert dict(zip(mine.level, mine.mean_rank, strict=True)) == pytest.approx(expected_ranks)

    variance = pd.read_csv(folder / "variance.csv")
    assert {"sd_total", "sd_split", "sd_seed", "n_splits", "n_seeds"} <= set(variance.columns)
    assert set(variance.n_splits) == {3} and set(variance.n_seeds) == {2}
    assert list(folder.glob("figures/cd_acc_test-human_aug_name_*.svg"))
    paper = (folder / "tables" / "paper_acc_test-human.tex").read_text()
    assert "\\textbf{" in paper and "flowpic\\_dim=32" in paper and "\\bottomrule" in paper
    # accuracy in percent at two decimals, f1 (a fraction) at three
    assert re.search(r"\d\d\.\d\d \$\\pm\$ \d+\.\d\d\b", paper)
    f1 = (folder / "tables" / "paper_f1_test-human.tex").read_text()
    assert re.search(r"0\.\d{3} \$\\pm\$ 0\.\d{3}\b", f1) and not re.search(r"0\.\d\d \$", f1)
    html = (folder / "report.html").read_text()
    assert html.index('id="answer"') < html.index('id="cd"') < html.index('id="overview-details"')


def _check_in_browser(html: Path, shot: Path, expand_details: bool = True):
    from browser import ChromiumUnavailable, open_report

    try:
        page = open_report(html, shot, expand_details=expand_details)
    except ChromiumUnavailable as exc:
        pytest.skip(str(exc))
    assert page.console_errors == [], page.summary()
    assert page.horizontal_overflow == 0, page.summary()
    assert {"answer", "tables", "cd"} <= set(page.section_ids), page.summary()
    assert not page.has_script and page.resources == []
    assert page.svg_count > 0 and shot.stat().st_size > 10_000
    return page


def test_report_in_a_real_browser(built, tmp_path):
    root, specs, *_ = built
    for folder in sorted((root / "campaign_summary").glob("1*")):
        _check_in_browser(folder / "report.html", tmp_path / f"{folder.name}.png")


def test_a_21_group_campaign_reads_in_a_browser(tmp_path):
    """tcbench's grid: 7 augmentations x 3 sizes (x 3 splits), one report."""
    from tcsummary.example import AUGMENTATIONS, FLOWPIC_DIMS

    root = tmp_path / "repo"
    specs = [
        RunSpec(aug, dim, 12345, split, "1700000000", i)
        for i, (aug, dim, split) in enumerate(
            (a, d, s) for a in AUGMENTATIONS for d in FLOWPIC_DIMS for s in range(3)
        )
    ]
    write_example(root, specs=specs, seed=21, system_params=False)
    build(root, tmp_path / "w")
    folder = root / "campaign_summary" / "1700000000"
    metrics = pd.read_csv(folder / "metrics.csv")
    assert len(metrics[["aug_name", "flowpic_dim"]].drop_duplicates()) == 21
    tests = pd.read_csv(folder / "tests.csv")
    seven = tests[(tests.factor == "aug_name") & (tests.metric == "acc")]
    assert set(seven.levels) == {7} and set(seven.blocks) == {3}
    _check_in_browser(folder / "report.html", tmp_path / "21-open.png")
    folded = _check_in_browser(folder / "report.html", tmp_path / "21.png", expand_details=False)
    assert folded.document_height < 20_000  # details folded: the answer and tables first


def test_two_level_rankings_fold_beneath_the_diagrams_that_rank_three_or_more(built, tmp_path):
    """A two-level diagram is one Wilcoxon test drawn; with real rankings beside it, it is
    folded away (a campaign's page was 18 diagrams long, 12 of them such pairs)."""
    import json

    from tcsummary.example import AUGMENTATIONS

    root = tmp_path / "repo"  # 3 augmentations x 2 sizes x 3 splits: both kinds of diagram
    specs = [RunSpec(aug, dim, 12345, split, "1700000000", i) for i, (aug, dim, split) in
             enumerate((a, d, s) for a in AUGMENTATIONS[:3] for d in (32, 64) for s in range(3))]
    write_example(root, specs=specs, seed=7, system_params=False)
    build(root, tmp_path / "w")
    checked = []
    for repo in (root, built[0]):  # and the shared build's campaigns: two-level ones only
        for view_path in sorted((repo / "campaign_summary" / ".tcsummary").glob("1*/view.json")):
            view = json.loads(view_path.read_text())
            primary = view["settings"]["metrics"][0]
            levels = [sum(rank is not None for _, rank in d["ranks"])
                      for d in view["diagrams"] if d["metric"] == primary]
            levels = [n for n in levels if n]
            html_path = view_path.parents[2] / view_path.parent.name / "report.html"
            html = html_path.read_text()
            start = html.index('id="cd"')
            section = html[start:html.index("</section>", start)]
            several, pairs = sum(n > 2 for n in levels), sum(n <= 2 for n in levels)
            markdown = html_path.with_suffix(".md").read_text()
            md_section = markdown[markdown.index("## Rankings"):markdown.index("## Metrics")]
            if several and pairs:
                shown, folded = section.split("Two-level rankings on")
                assert shown.count("<svg") == several
                assert folded.split("</details>")[0].count("<svg") == pairs
                # Markdown embeds the same diagrams; the pairs and other metrics are links
                assert md_section.count("![") == several
                assert "Two-level rankings on" in md_section
            else:
                assert "Two-level rankings" not in section
                primary_part = section.split("Rankings on the other metrics")[0]
                assert primary_part.count("<svg") == len(levels)
            checked.append((several, pairs))
    assert any(s and p for s, p in checked) and any(p and not s for s, p in checked)
