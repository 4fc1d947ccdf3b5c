"""A corpus of broken repositories: each case is one targeted damage of a small example.

All run-level cases are built by ONE snakemake invocation (the workflow takes a list of
repositories), then each case checks what the tool did with its damage: which run or
context it excluded and the words it used, or which repository problem it recorded.
Repository-level cases (not a repository, an empty one, a read-only one) run alone.
Every case also proves that nothing under .aim/ or artifacts/ changed.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pytest
from conftest import corrupt_rocksdb, tree_state

from tcsummary.example import FINISHED, RunSpec, write_example

PROJECT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
CAMPAIGN = "1684447037"


def snakemake(workdir: Path, roots: list[Path], *args: str) -> subprocess.CompletedProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    repos = json.dumps([str(r) for r in roots])
    cmd = [
        sys.executable, "-m", "snakemake", "-s", str(PROJECT / "Snakefile"),
        "--directory", str(workdir), "--configfile", str(PROJECT / "config" / "config.yaml"),
        "--cores", "2", "--config", f"repositories={repos}", *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


@dataclass
class Case:
    name: str
    damage: Callable[[Path, str, dict[str, RunSpec]], None]
    #: what runs.csv says about the victim: (column, words), or None
    expect_run: tuple[str, str] | None = None
    #: words problems.csv must contain, or None
    expect_problem: str | None = None
    #: the victim still counts for the Aim metrics
    included: bool = True


def rewrite(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, count))


def report(root: Path, victim: str, context: str = "test-human") -> Path:
    return root / "artifacts" / victim / f"{context}_class_rep.csv"


def matrix(root: Path, victim: str, context: str = "test-human") -> Path:
    return root / "artifacts" / victim / f"{context}_conf_mtx.csv"


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def _truncate(root, victim, specs):
    report(root, victim).write_text("".join(lines(report(root, victim))[:3]))


def _swap_classes(root, victim, specs):
    """Both files of test-script name another class set, consistently (they cross-check)."""
    for path in (report(root, victim, "test-script"), matrix(root, victim, "test-script")):
        path.write_text(path.read_text().replace("youtube", "netflix"))


def _odd_matrix_value(value: str) -> Callable:
    def damage(root, victim, specs):
        rows = lines(matrix(root, victim))
        cells = rows[1].rstrip("\n").split(",")
        cells[1] = value
        rows[1] = ",".join(cells) + "\n"
        matrix(root, victim).write_text("".join(rows))
    return damage


def _drop_matrix_column(root, victim, specs):
    rows = [",".join(r.rstrip("\n").split(",")[:-1]) + "\n" for r in lines(matrix(root, victim))]
    matrix(root, victim).write_text("".join(rows))


def _support_mismatch(root, victim, specs):
    rows = lines(matrix(root, victim))
    cells = rows[1].rstrip("\n").split(",")
    cells[1] = str(int(cells[1]) + 3)
    rows[1] = ",".join(cells) + "\n"
    matrix(root, victim).write_text("".join(rows))


def _directory_instead(root, victim, specs):
    report(root, victim).unlink()
    report(root, victim).mkdir()


def _orphan_folder(root, victim, specs):
    shutil.copytree(root / "artifacts" / victim, root / "artifacts" / ("f" * 24))


def _symlinked(root, victim, specs):
    elsewhere = root.parent / "moved"
    shutil.move(root / "artifacts" / victim, elsewhere)
    (root / "artifacts" / victim).symlink_to(elsewhere, target_is_directory=True)


def _missing_sqlite_row(root, victim, specs):
    con = sqlite3.connect(root / ".aim" / "run_metadata.sqlite")
    with con:
        con.execute("DELETE FROM run WHERE hash = ?", (victim,))
    con.close()


def _bom_crlf(root, victim, specs):
    path = report(root, victim)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))


def _add_runs(specs_to_add: Callable[[dict[str, RunSpec]], list[RunSpec]], seed: int) -> Callable:
    def damage(root, victim, specs):
        write_example(root, specs=specs_to_add(specs), seed=seed, system_params=False)
    return damage


def _duplicate(specs):
    first = next(s for s in specs.values() if s.fate == FINISHED)
    return [replace(first, campaign_exp_idx=99)]


CASES = [
    Case("truncated_report", _truncate, ("artifact_problems", "truncated after")),
    Case("empty_report", lambda r, v, s: report(r, v).write_text(""),
         ("artifact_problems", "test-human_class_rep.csv: empty file")),
    Case("binary_matrix", lambda r, v, s: matrix(r, v).write_bytes(os.urandom(200) + b"\x00"),
         ("artifact_problems", "binary content")),
    Case("wrong_header", lambda r, v, s: rewrite(report(r, v), "f1-score", "f1"),
         ("artifact_problems", "header is")),
    Case("non_numeric_cell", lambda r, v, s: rewrite(report(r, v), ",15.0", ",fifteen"),
         ("artifact_problems", "not a number")),
    Case("nan_cell", _odd_matrix_value("nan"), ("artifact_problems", "not a finite number")),
    Case("negative_count", _odd_matrix_value("-1"), ("artifact_problems", "not a non-negative")),
    Case("classes_disagree", lambda r, v, s: rewrite(matrix(r, v), "youtube", "netflix", 2),
         ("artifact_problems", "differ from test-human_class_rep.csv")),
    Case("support_mismatch", _support_mismatch, ("artifact_problems", "labels may be shifted")),
    Case("non_square_matrix", _drop_matrix_column, ("artifact_problems", "not square")),
    Case("extra_column", lambda r, v, s: rewrite(report(r, v), "support\n", "support,x\n"),
         ("artifact_problems", "header is")),
    Case("classes_differ_across_runs", _swap_classes,
         ("artifact_problems", "differ from the campaign's")),
    Case("missing_params", lambda r, v, s: (r / "artifacts" / v / "params.yml").unlink(),
         ("warnings", "params.yml is missing")),
    Case("unreadable_params", lambda r, v, s: (r / "artifacts" / v / "params.yml").write_text(
        "a: [unclosed\n"), ("warnings", "params.yml: not valid YAML")),
    Case("directory_instead_of_csv", _directory_instead, ("artifact_problems", "is a directory")),
    Case("run_without_artifacts", lambda r, v, s: shutil.rmtree(r / "artifacts" / v),
         ("artifact_problems", "no artifact folder")),
    Case("artifact_folder_without_run", _orphan_folder,
         expect_problem="artifact folder without an Aim run"),
    Case("stray_entry", lambda r, v, s: (r / "artifacts" / "notes.txt").write_text("hi"),
         expect_problem="not a run folder"),
    Case("corrupted_rocksdb", lambda r, v, s: corrupt_rocksdb(r, v),
         expect_problem="Aim metadata unreadable", included=False),
    Case("symlinked_artifacts", _symlinked, ("artifact_problems", "")),
    Case("missing_sqlite_row", _missing_sqlite_row,
         ("warnings", "missing from Aim's run_metadata.sqlite")),
    Case("bom_and_crlf", _bom_crlf, ("artifact_problems", "")),
    Case("duplicated_cell", _add_runs(_duplicate, 31), None),
    Case("single_run_campaign", _add_runs(
        lambda s: [RunSpec("noaug", 32, 1, 0, "solo", 1)], 32), None),
    Case("hostile_campaign_ids", _add_runs(lambda s: [
        RunSpec("noaug", 32, 1, 0, cid, 1)
        for cid in ("../../escape", "a/b", "with space", "ünïcödé", "..")], 33), None),
    Case("very_long_hparam", _add_runs(
        lambda s: [RunSpec("x" * 3000, 32, 1, k, CAMPAIGN, 90 + k) for k in range(2)], 34),
        None),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Every case's repository, damaged, and one build of all of them."""
    base = tmp_path_factory.mktemp("corpus")
    pristine = base / "pristine"
    specs = write_example(pristine, runs=8, campaigns=1, seed=21, unfinished=1,
                          system_params=False)
    victim = sorted(h for h, s in specs.items() if s.fate == FINISHED)[0]
    roots = {}
    for case in CASES:
        root = base / case.name / "repo"
        shutil.copytree(pristine, root, symlinks=True)
        case.damage(root, victim, specs)
        roots[case.name] = root
    before = {name: tree_state(root) for name, root in roots.items()}
    result = snakemake(base / "work", list(roots.values()))
    return roots, victim, specs, before, result


def test_the_whole_corpus_builds(corpus):
    *_, result = corpus
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(corpus, case):
    roots, victim, specs, before, result = corpus
    assert result.returncode == 0
    root = roots[case.name]
    summary = root / "campaign_summary"
    assert tree_state(root) == before[case.name], "the build changed the user's data"
    for folder in summary.iterdir():  # every campaign got a full report, inside summary/
        if folder.is_dir() and folder.name != ".tcsummary":
            assert (folder / "report.html").stat().st_size > 0
    problems = pd.read_csv(summary / "problems.csv", keep_default_na=False)
    runs = pd.read_csv(summary / CAMPAIGN / "runs.csv", keep_default_na=False).set_index("hash")
    if case.expect_problem:
        assert problems["problem"].str.contains(case.expect_problem, regex=False).any()
    else:
        assert problems.empty, problems
    if not case.included:
        assert victim not in runs.index
        return
    row = runs.loc[victim]
    assert bool(row["included"]) is True
    if case.expect_run:
        column, words = case.expect_run
        if words:
            assert words in row[column], row[column]
        else:  # accepted as a normal run
            assert row[column] == ""
        if column == "artifact_problems" and words:
            report_html = (summary / CAMPAIGN / "report.html").read_text()
            assert victim in report_html  # named in the report's exclusion section


def test_unfinished_run_is_excluded_with_its_reason(corpus):
    roots, _, specs, _, _ = corpus
    crashed = next(h for h, s in specs.items() if s.fate != FINISHED)
    runs = pd.read_csv(roots["stray_entry"] / "campaign_summary" / CAMPAIGN / "runs.csv")
    row = runs.set_index("hash").loc[crashed]
    assert not row["included"] and row["excluded_because"].startswith("did not finish")


def test_hostile_campaign_ids_stay_inside_the_output_folder(corpus):
    roots, *_ = corpus
    root = roots["hostile_campaign_ids"]
    summary = root / "campaign_summary"
    outside = {p.name for p in root.parent.iterdir()} | {p.name for p in root.iterdir()}
    assert outside == {"repo", ".aim", "artifacts", "campaign_summary"}
    names = sorted(p.name for p in summary.iterdir() if p.is_dir())
    assert len(names) == 7  # the 6 new campaigns + the base one; .tcsummary
    assert all("/" not in n and ".." not in n for n in names)
    labels = {json.loads((summary / n / "provenance.json").read_text())["campaign"]
              for n in names if n != ".tcsummary"}
    assert {"../../escape", "a/b", "with space", "ünïcödé", ".."} <= labels


def test_single_run_campaign_has_undefined_spread_not_an_error(corpus):
    roots, *_ = corpus
    metrics = pd.read_csv(roots["single_run_campaign"] / "campaign_summary" / "solo" /
                          "metrics.csv")
    assert (metrics["n"] == 1).all() and metrics["ci95"].isna().all()


def test_duplicated_cell_is_reported(corpus):
    roots, *_ = corpus
    html = (roots["duplicated_cell"] / "campaign_summary" / CAMPAIGN / "report.html").read_text()
    assert "Duplicated cells (more than one finished run)" in html


def test_strict_turns_an_exclusion_into_a_failure(corpus, tmp_path):
    roots, *_ = corpus
    result = snakemake(tmp_path / "w", [roots["truncated_report"]], "--config", "strict=true")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "StrictError" in output and f"campaign {CAMPAIGN}: run " in output
    assert "(and 1 more; runs.csv lists them)" in output  # the crashed run and the truncated CSV


# --- repository-level cases ---------------------------------------------------------

def test_not_a_repository_is_a_one_line_error(tmp_path):
    result = snakemake(tmp_path / "w", [tmp_path / "nothing-here"])
    assert result.returncode != 0
    assert f"tcsummary: {tmp_path / 'nothing-here'}: no such directory" in result.stderr
    assert not (tmp_path / "nothing-here").exists()


def test_empty_repository_builds_nothing_but_its_problems_file(tmp_path):
    root = tmp_path / "empty"
    root.mkdir()
    subprocess.run([str(Path(sys.executable).parent / "aim"), "init", "--repo", str(root)],
                   check=True, capture_output=True)
    result = snakemake(tmp_path / "w", [root])
    assert result.returncode == 0, result.stderr[-2000:]
    summary = root / "campaign_summary"
    assert (summary / "problems.csv").read_text() == "hash,path,problem\n"
    assert [p.name for p in summary.iterdir() if p.is_dir()] == [".tcsummary"]


def test_read_only_repository_reports_to_the_configured_folder(corpus, tmp_path):
    roots, *_ = corpus
    source = roots["stray_entry"]
    mount = tmp_path / "ro"
    mount.mkdir()
    done = subprocess.run(["mount", "--bind", str(source), str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {done.stderr.strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(mount)], check=True)
        before = tree_state(mount)
        out = tmp_path / "reports"
        result = snakemake(tmp_path / "w", [mount], "--config", f"output={out}")
        assert result.returncode == 0, result.stderr[-2000:]
        assert (out / CAMPAIGN / "report.html").exists()
        assert tree_state(mount) == before
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_live_writer_is_reported_active_and_picked_up_later(corpus, tmp_path):
    roots, *_ = corpus
    root = tmp_path / "live"
    shutil.copytree(roots["stray_entry"], root, symlinks=True)
    code = textwrap.dedent(f"""
        import time, aim
        run = aim.Run(repo={str(root)!r}, experiment="augmentation-at-loading",
                      system_tracking_interval=None, capture_terminal_logs=False)
        run["hparams"] = {{"campaign_id": {CAMPAIGN!r}, "seed": 1, "aug_name": "noaug",
                           "flowpic_dim": 32, "split_index": 0}}
        print(run.hash, flush=True)
        for step in range(600):
            run.track(float(step), name="loss", context={{"subset": "train"}}, step=step)
            time.sleep(0.1)
        """)
    writer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        live = writer.stdout.readline().strip()
        started = time.monotonic()
        result = snakemake(tmp_path / "w", [root])
        assert result.returncode == 0, result.stderr[-2000:]
        assert writer.poll() is None, "the build disturbed the writer"
        runs = pd.read_csv(root / "campaign_summary" / CAMPAIGN / "runs.csv").set_index("hash")
        assert runs.loc[live, "status"] == "active"
        assert "still running" in runs.loc[live, "excluded_because"]
        assert time.monotonic() - started < 120
    finally:
        writer.kill()
        writer.wait()
    result = snakemake(tmp_path / "w", [root])  # the killed writer: now unfinished
    assert result.returncode == 0
    runs = pd.read_csv(root / "campaign_summary" / CAMPAIGN / "runs.csv").set_index("hash")
    assert runs.loc[live, "status"] == "unfinished"


def test_cli_on_every_case_answers_and_changes_nothing(corpus, capsys):
    from tcsummary.cli.main import main

    roots, _, _, before, _ = corpus
    for name, root in roots.items():
        for command in ("ls", "properties", "campaigns"):
            for fmt in ("table", "csv", "json"):
                assert main([command, str(root), "--format", fmt]) == 0, (name, command, fmt)
        capsys.readouterr()
        assert tree_state(root) == before[name], name
