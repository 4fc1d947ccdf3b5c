"""Hostile repositories and configurations (issue 10), specified as tests.

Every case is a small example repository (8 runs, one campaign) damaged in one
way, or a config that points the build at the user's data. The tests talk to the
product only through subprocesses: the workflow (``python -m snakemake``) and the
``tcsummary`` command. Each subprocess runs under ``timeout`` and an address-space
cap, so a hang or an endless read becomes a failure instead of a stuck test run or
a machine out of memory.

Run-level damages that cannot hang share ONE workflow invocation (``--keep-going``,
so a failing job of one case does not stop the others); each case then checks
that no job of its repository failed, that nothing under ``.aim/`` or
``artifacts/`` changed, and its specific behaviour. Cases that can hang or eat
memory on a broken build (a FIFO, links to devices), cases that stop a build at
parse time (refused outputs) and the scale case run alone.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import tree_state

from tcsummary.example import RunSpec, write_example

PROJECT = Path(__file__).resolve().parents[1]
TCSUMMARY = Path(sys.executable).parent / "tcsummary"
pytestmark = pytest.mark.slow
CAMPAIGN = "1684447037"
TEST_CONTEXTS = ("test-human", "test-script", "test-train-val-leftover")
METRICS = ("acc", "f1", "precision", "recall")
CLASSES = ("google-doc", "google-drive", "google-music", "google-search", "youtube")
#: Data segment (heap, anonymous maps) of every subprocess; a build needs ~0.3 GiB.
MEMORY = 4 * 2**30
#: Values that are markup, table syntax or TeX somewhere; the fourth is the TeX probe.
NASTY = (
    "<script>alert(1)</script>",
    "</td><img src=x onerror=alert(1)>",
    "| pipe \n newline",
    r"\textbf{x} 50% & a_b $5 #1",
    "ünïcödé ☃ \x1b[31m " + "long " * 100,
)
NASTY_CAMPAIGN = "<script>alert(2)</script> | 100% & $x_y \\ end"


# --- running the product ------------------------------------------------------------

def run(cmd: list[str], seconds: int) -> subprocess.CompletedProcess:
    """``cmd`` under ``timeout`` (124, or -9 once -k fires, on a hang) and a memory cap."""
    wrapped = ["timeout", "-k", "5", str(seconds), "prlimit", f"--data={MEMORY}", "--", *cmd]
    return subprocess.run(wrapped, capture_output=True, text=True, errors="replace")


def snakemake(workdir: Path, roots: list[Path | str], *args: str, config: tuple[str, ...] = (),
              seconds: int = 180) -> subprocess.CompletedProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    repos = json.dumps([str(r) for r in roots])
    return run([
        sys.executable, "-m", "snakemake", "-s", str(PROJECT / "Snakefile"),
        "--directory", str(workdir), "--configfile", str(PROJECT / "config" / "config.yaml"),
        "--cores", "2", "--config", f"repositories={repos}", *config, *args,
    ], seconds)


def tcsummary(*args: str, seconds: int = 60) -> subprocess.CompletedProcess:
    return run([str(TCSUMMARY), *args], seconds)


def said(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


def assert_clean(result: subprocess.CompletedProcess) -> None:
    assert result.returncode not in (124, 137, -9), "timed out:\n" + said(result)
    assert "Traceback" not in result.stdout + result.stderr, said(result)


def job_errors(result: subprocess.CompletedProcess, root: Path) -> list[str]:
    """Snakemake's 'Error in rule' blocks about files of ``root``."""
    text = result.stdout + result.stderr
    blocks = re.findall(r"Error in rule .*?(?:\n\s*log:[^\n]*|\Z)", text, flags=re.S)
    return [b for b in blocks if f"{root}/" in b]


# --- reading what it wrote ----------------------------------------------------------

def runs_csv(root: Path, campaign: str = CAMPAIGN) -> pd.DataFrame:
    path = root / "campaign_summary" / campaign / "runs.csv"
    return pd.read_csv(path, keep_default_na=False, dtype=str).set_index("hash")


def included(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["included"].str.lower() == "true"]


def summary_counts(folder: Path, metric: str, context: str) -> float:
    """Sum of ``count`` of a metric and context over every summary_*.csv of a campaign."""
    total = 0.0
    for path in sorted(folder.glob("summary_*.csv")):
        table = pd.read_csv(path, header=[0, 1])
        split = next(c for c in table.columns if c[0] == "test_split_name")
        total += table.loc[table[split] == context, (metric, "count")].sum()
    return total


def link_state(root: Path) -> dict[str, str]:
    """tree_state's entries by lstat: a FIFO, a device link or a link loop cannot be read."""
    state = {}
    for top in (".aim", "artifacts"):
        for dirpath, dirnames, filenames in os.walk(root / top):
            for name in dirnames + filenames:
                path = Path(dirpath, name)
                if path.is_symlink():
                    value = "-> " + os.readlink(path)
                elif path.is_fifo():
                    value = "fifo"
                elif path.is_dir():
                    value = "dir"
                else:
                    value = hashlib.sha256(path.read_bytes()).hexdigest()
                state[str(path.relative_to(root))] = value
    return state


def listing(root: Path) -> set[str]:
    """Every path under ``root`` (files, folders, links), not following links."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        found |= {os.path.relpath(os.path.join(dirpath, n), root) for n in dirnames + filenames}
    return found


class Markup(HTMLParser):
    """Start tags, their attribute names and the text of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, [name for name, _ in attrs]))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


# --- writing damaged repositories ---------------------------------------------------

def clone(base: tuple[Path, dict], dest: Path) -> Path:
    shutil.copytree(base[0], dest, symlinks=True)
    return dest


def runs_of(specs: dict[str, RunSpec], dim: int | None = None) -> list[str]:
    return sorted(h for h, s in specs.items() if dim is None or s.flowpic_dim == dim)


def report(root: Path, run_hash: str, context: str = "test-human") -> Path:
    return root / "artifacts" / run_hash / f"{context}_class_rep.csv"


def matrix(root: Path, run_hash: str, context: str = "test-human") -> Path:
    return root / "artifacts" / run_hash / f"{context}_conf_mtx.csv"


def read_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(), newline="")))


def write_rows(path: Path, rows: list[list[Any]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue())


def twin_hparams(specs: dict[str, RunSpec], k: int, **changes: Any) -> dict[str, Any]:
    """hparams of a new flowpic_dim=32 run of the campaign (its own seed and index)."""
    template = specs[runs_of(specs, 32)[0]].hparams()
    return {**template, "seed": 7000 + k, "campaign_exp_idx": 100 + k, **changes}


def add_aim_run(root: Path, hparams: dict[str, Any], source: str,
                values: dict[tuple[str, str], float] | None = None) -> str:
    """A finished run written with aim itself (any hparams, any final metric value).

    Its artifact folder is a copy of run ``source``'s (valid, tcbench-shaped files).
    """
    import aim

    run_ = aim.Run(repo=str(root), experiment="augmentation-at-loading",
                   log_system_params=False, capture_terminal_logs=False,
                   system_tracking_interval=None)
    run_["hparams"] = hparams
    for context in TEST_CONTEXTS:
        for metric in METRICS:
            default = 90.0 if metric == "acc" else 0.9
            value = (values or {}).get((metric, context), default)
            run_.track(value, name=metric, epoch=0, context={"subset": context})
    run_hash = run_.hash
    run_.close()
    shutil.copytree(root / "artifacts" / source, root / "artifacts" / run_hash)
    return run_hash


def class_files(names: list[str], counts: list[list[int]]) -> tuple[list, list]:
    """Rows of a consistent class report and confusion matrix, as sklearn/tcbench write them."""
    n, total = len(names), sum(map(sum, counts))
    rows = []
    for i, name in enumerate(names):
        predicted, support = sum(counts[r][i] for r in range(n)), sum(counts[i])
        p = counts[i][i] / predicted if predicted else 0.0
        r = counts[i][i] / support if support else 0.0
        rows.append([name, p, r, 2 * p * r / (p + r) if p + r else 0.0, float(support)])
    accuracy = sum(counts[i][i] for i in range(n)) / total
    macro = [sum(row[k] for row in rows) / n for k in (1, 2, 3)]
    weighted = [sum(row[k] * row[4] for row in rows) / total for k in (1, 2, 3)]
    rows += [["accuracy", *[accuracy] * 4], ["macro avg", *macro, float(total)],
             ["weighted avg", *weighted, float(total)]]
    head = [["index", "precision", "recall", "f1-score", "support"]]
    report_rows = head + [[row[0], *(repr(float(v)) for v in row[1:])] for row in rows]
    matrix_rows = [["index", *names]] + [[name, *row] for name, row in zip(names, counts,
                                                                             strict=True)]
    return report_rows, matrix_rows


def reverse_classes(root: Path, run_hash: str, context: str) -> None:
    """The same results with the classes in the opposite order, in both files."""
    rows = read_rows(report(root, run_hash, context))
    n = len(rows) - 4
    write_rows(report(root, run_hash, context), [rows[0], *rows[1:n + 1][::-1], *rows[n + 1:]])
    rows = read_rows(matrix(root, run_hash, context))
    order = list(range(n))[::-1]
    new = [[rows[0][0], *(rows[0][1 + j] for j in order)]]
    new += [[rows[1 + i][0], *(rows[1 + i][1 + j] for j in order)] for i in order]
    write_rows(matrix(root, run_hash, context), new)


def rename_classes(root: Path, run_hash: str, context: str, names: dict[str, str]) -> None:
    """Other class names in both files of a context (the CSV stays valid and consistent)."""
    rows = read_rows(report(root, run_hash, context))
    write_rows(report(root, run_hash, context), [[names.get(r[0], r[0]), *r[1:]] for r in rows])
    rows = read_rows(matrix(root, run_hash, context))
    new = [[names.get(c, c) for c in rows[0]]] + [[names.get(r[0], r[0]), *r[1:]] for r in rows[1:]]
    write_rows(matrix(root, run_hash, context), new)


# --- the shared build of run-level cases --------------------------------------------

@pytest.fixture(scope="session")
def base(tmp_path_factory) -> tuple[Path, dict[str, RunSpec]]:
    """8 finished runs of one campaign, flowpic_dim 32 and 64 (4 runs each)."""
    root = tmp_path_factory.mktemp("hostile-base") / "repo"
    return root, write_example(root, runs=8, campaigns=1, seed=41, system_params=False)


def _symlink_loop(root, specs):
    victim = runs_of(specs)[0]
    report(root, victim).unlink()
    report(root, victim).symlink_to(report(root, victim).name)
    return {"victim": victim}


def _huge_report(root, specs):
    """~15 MB: 400,000 extra class rows (all zero), so the two files disagree on classes."""
    victim = runs_of(specs)[0]
    head, *rest = report(root, victim).read_text().splitlines(keepends=True)
    filler = "".join(f"class-{i:07d}-filler,0.0,0.0,0.0,0.0\n" for i in range(400_000))
    report(root, victim).write_text(head + filler + "".join(rest))
    return {"victim": victim}


def _non_finite(*values: float) -> Callable:
    def damage(root, specs):
        source = runs_of(specs, 32)[0]
        hashes = [add_aim_run(root, twin_hparams(specs, k), source, {("acc", "test-human"): v})
                  for k, v in enumerate(values)]
        return {"bad": hashes}
    return damage


MIXED = (32, "32", None, {"a": 1}, [1, 2], True)


def _mixed_types(root, specs):
    source = runs_of(specs, 32)[0]
    batch = [add_aim_run(root, twin_hparams(specs, k, batch=v), source)
             for k, v in enumerate(MIXED)]
    width = [add_aim_run(root, twin_hparams(specs, 10 + k, width=v), source)
             for k, v in enumerate((1, "1"))]
    five = [add_aim_run(root, twin_hparams(specs, 20 + k, campaign_id=v), source)
            for k, v in enumerate((5, "5"))]
    return {"batch": batch, "width": width, "five": five}


def _extra_hparam(root, specs):
    source = runs_of(specs, 32)[0]
    return {"flagged": add_aim_run(root, twin_hparams(specs, 0, new_flag=1), source)}


def _reordered(root, specs):
    """3 of 8 runs list test-human's classes in reverse; a 4th names another test-script set."""
    hashes = runs_of(specs)
    for run_hash in hashes[:3]:
        reverse_classes(root, run_hash, "test-human")
    rename_classes(root, hashes[3], "test-script", {"youtube": "netflix"})
    return {"moved": hashes[:3], "odd": hashes[3]}


def _stale_folder(root, specs):
    (root / "campaign_summary" / "999").mkdir(parents=True)
    (root / "campaign_summary" / "999" / "report.html").write_text("left over")
    return {}


def _nasty(root, specs):
    """Nasty aug_names (a group key), class names and a campaign id."""
    extra = [RunSpec(v, 32, 9000 + k, 0, CAMPAIGN, 200 + k) for k, v in enumerate(NASTY)]
    extra.append(RunSpec("noaug", 32, 1, 0, NASTY_CAMPAIGN, 1))
    write_example(root, specs=extra, seed=43, system_params=False)
    for run_hash in sorted(p.name for p in (root / "artifacts").iterdir()):
        rename_classes(root, run_hash, "test-human", dict(zip(CLASSES, NASTY, strict=True)))
    return {}


@dataclass
class Case:
    name: str
    damage: Callable[[Path, dict[str, RunSpec]], dict[str, Any]]
    #: how to fingerprint .aim/ and artifacts/ (tree_state cannot read every hazard)
    state: Callable[[Path], dict[str, str]] = tree_state


CASES = [
    Case("symlink_loop", _symlink_loop, link_state),
    Case("huge_report", _huge_report),
    Case("inf_and_minus_inf", _non_finite(math.inf, -math.inf)),
    Case("plus_inf", _non_finite(math.inf)),
    Case("mixed_types", _mixed_types),
    Case("extra_hparam", _extra_hparam),
    Case("reordered_classes", _reordered),
    Case("stale_folder", _stale_folder),
    Case("nasty", _nasty),
]


@pytest.fixture(scope="module")
def batch(base, tmp_path_factory):
    """Every run-level case damaged, then ONE workflow invocation over all of them."""
    top = tmp_path_factory.mktemp("hostile-batch")
    roots, info, before = {}, {}, {}
    for case in CASES:
        root = clone(base, top / case.name / "repo")
        info[case.name] = case.damage(root, base[1])
        before[case.name] = case.state(root)
        roots[case.name] = root
    result = snakemake(top / "work", list(roots.values()), "--keep-going", seconds=400)
    return roots, info, before, result


def built(batch, name: str) -> tuple[Path, dict[str, Any]]:
    """The case's repository after the shared build: its jobs ran, its data is untouched."""
    roots, info, before, result = batch
    root = roots[name]
    assert not job_errors(result, root), "\n".join(job_errors(result, root))
    for log in (root / "campaign_summary").glob(".tcsummary/**/*.log"):
        assert "Traceback" not in log.read_text(errors="replace"), log
    assert (root / "campaign_summary" / CAMPAIGN / "report.html").is_file(), said(result)
    case = next(c for c in CASES if c.name == name)
    assert case.state(root) == before[name], "the build changed the user's data"
    return root, info[name]


def test_the_shared_build_succeeds_without_a_traceback(batch):
    *_, result = batch
    assert_clean(result)
    assert result.returncode == 0, said(result)


# --- 1. never write into the user's data --------------------------------------------

def refusal_line(result: subprocess.CompletedProcess, *paths: Path) -> str:
    """The stderr line that names each path on its own (not only as a prefix of another)."""
    for line in result.stderr.splitlines():
        rest = line
        for path in paths:
            if str(path) not in rest:
                break
            rest = rest.replace(str(path), "", 1)
        else:
            return line
    raise AssertionError(f"no line names {', '.join(map(str, paths))}:\n{said(result)}")


@pytest.mark.parametrize("inside", ["artifacts/reports", ".aim", ".aim/meta/chunks"])
def test_output_inside_the_users_data_is_refused(base, tmp_path, inside):
    root = clone(base, tmp_path / "repo")
    output = root / inside
    before, paths = tree_state(root), listing(root)
    result = snakemake(tmp_path / "w", [root], config=(f"output={output}",), seconds=120)
    assert_clean(result)
    assert result.returncode != 0, "accepted an output inside the repository's data"
    refusal_line(result, output, root)
    assert listing(root) == paths, sorted(listing(root) - paths)
    assert tree_state(root) == before


@pytest.fixture(scope="module")
def campaign_repos(base, tmp_path_factory):
    """Copies with one more run whose campaign_id names a folder of the repository."""
    repos = {}
    for k, campaign in enumerate(("artifacts", ".aim")):
        root = clone(base, tmp_path_factory.mktemp("campaign-named") / "repo")
        write_example(root, specs=[RunSpec("noaug", 32, 1, 0, campaign, 1)], seed=50 + k,
                      system_params=False)
        repos[campaign] = root
    return repos


def test_output_at_the_root_is_refused_when_a_campaign_lands_on_artifacts(campaign_repos,
                                                                         tmp_path):
    root = campaign_repos["artifacts"]
    before, paths = tree_state(root), listing(root)
    result = snakemake(tmp_path / "w", [root], config=(f"output={root}",), seconds=120)
    assert_clean(result)
    assert result.returncode != 0, "wrote a campaign's reports into artifacts/"
    assert "artifacts" in refusal_line(result, root)
    assert listing(root) == paths, sorted(listing(root) - paths)
    assert tree_state(root) == before


def test_output_at_the_root_never_writes_into_dot_aim(campaign_repos, tmp_path):
    """Refused like 'artifacts', or built with its folder elsewhere: never inside .aim/."""
    root = campaign_repos[".aim"]
    before = tree_state(root)
    result = snakemake(tmp_path / "w", [root], config=(f"output={root}",), seconds=120)
    assert_clean(result)
    if result.returncode != 0:
        refusal_line(result, root)
    assert tree_state(root) == before, "the build wrote into .aim/ or artifacts/"


def test_a_directory_without_aim_gets_no_campaign_summary(tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    result = snakemake(tmp_path / "w", [folder], seconds=120)
    assert_clean(result)
    assert result.returncode != 0
    assert re.search(r"not a (tcbench )?repository", refusal_line(result, folder))
    assert listing(folder) == set(), "created " + ", ".join(sorted(listing(folder)))


def test_a_file_is_not_a_repository(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a repository\n")
    result = snakemake(tmp_path / "w", [path], seconds=120)
    assert_clean(result)
    assert result.returncode != 0
    line = refusal_line(result, path)
    assert re.search(r"not a (tcbench )?repository", line), line
    assert "output=" not in result.stderr, said(result)
    assert path.read_text() == "not a repository\n"


# --- 2. read only regular files, bounded --------------------------------------------

def _fifo(root: Path, victim: str) -> None:
    report(root, victim).unlink()
    os.mkfifo(report(root, victim))


def _device(device: str) -> Callable[[Path, str], None]:
    def damage(root: Path, victim: str) -> None:
        report(root, victim).unlink()
        report(root, victim).symlink_to(device)
    return damage


HAZARDS = {
    "fifo": (_fifo, r"fifo|named pipe|not a regular file"),
    "dev_zero": (_device("/dev/zero"), r"device"),
    "dev_urandom": (_device("/dev/urandom"), r"device"),
}


@pytest.fixture(scope="module", params=[["fifo"], ["dev_zero", "dev_urandom"]],
                ids=["fifo", "devices"])
def hazards(request, base, tmp_path_factory):
    """Repositories where a CSV is not a regular file, built together (alone from the rest)."""
    top = tmp_path_factory.mktemp("hazard")
    victim = runs_of(base[1])[0]
    roots, before = {}, {}
    for name in request.param:
        roots[name] = clone(base, top / name / "repo")
        HAZARDS[name][0](roots[name], victim)
        before[name] = link_state(roots[name])
    result = snakemake(top / "work", list(roots.values()), seconds=90)
    return roots, victim, before, result


def test_non_regular_csv_is_that_contexts_problem(hazards):
    roots, victim, before, result = hazards
    assert_clean(result)
    assert result.returncode == 0, said(result)
    for name, root in roots.items():
        row = runs_csv(root).loc[victim]
        assert row["included"].lower() == "true"
        assert "test-human" in row["artifact_problems"], row["artifact_problems"]
        assert re.search(HAZARDS[name][1], row["artifact_problems"], re.I), row["artifact_problems"]
        assert link_state(root) == before[name]


def test_ls_answers_on_a_non_regular_csv(hazards):
    roots, victim, before, _ = hazards
    for name, root in roots.items():
        result = tcsummary("ls", str(root), "--format", "csv")
        assert_clean(result)
        assert result.returncode == 0, said(result)
        rows = pd.read_csv(io.StringIO(result.stdout), dtype=str, keep_default_na=False)
        problems = rows.set_index("hash").loc[victim, "problems"]
        assert re.search(HAZARDS[name][1], problems, re.I), problems
        assert link_state(root) == before[name]


def test_a_symlink_loop_is_named_not_missing(batch):
    root, info = built(batch, "symlink_loop")
    row = runs_csv(root).loc[info["victim"]]
    assert row["included"].lower() == "true"
    problems = row["artifact_problems"]
    assert re.search(r"symbolic link loop|too many levels|link loop", problems, re.I), problems
    assert "missing" not in problems


def test_problem_messages_are_capped(batch):
    root, info = built(batch, "huge_report")
    runs = runs_csv(root)
    assert "test-human" in runs.loc[info["victim"], "artifact_problems"]  # still reported
    longest = max(len(cell) for cell in runs.to_numpy().ravel())
    assert longest < 1000, f"a runs.csv cell of {longest} characters"
    folder = root / "campaign_summary" / CAMPAIGN
    assert (folder / "report.html").stat().st_size < 2_000_000
    assert max(map(len, (folder / "report.md").read_text().splitlines())) < 1000
    listed = tcsummary("ls", str(root), "--format", "csv")
    assert_clean(listed)
    assert listed.returncode == 0, said(listed)
    assert max(map(len, listed.stdout.splitlines())) < 2000


# --- 3. nothing from the data is markup ---------------------------------------------

def campaign_folders(root: Path) -> list[Path]:
    summary = root / "campaign_summary"
    return sorted(p for p in summary.iterdir() if p.is_dir() and p.name != ".tcsummary")


def test_html_report_has_no_live_markup(batch):
    root, _ = built(batch, "nasty")
    assert len(campaign_folders(root)) == 2
    for folder in campaign_folders(root):
        page = Markup()
        page.feed((folder / "report.html").read_text())
        for tag, attributes in page.tags:
            assert tag != "script", folder
            assert not [a for a in attributes if a.lower().startswith("on")], (folder, tag)
    page = Markup()
    page.feed((root / "campaign_summary" / CAMPAIGN / "report.html").read_text())
    assert NASTY[0] in "".join(page.text)  # shown as text


def pipe_counts(markdown: str) -> list[list[int]]:
    """Unescaped pipes per line of each Markdown table (consecutive lines starting with |)."""
    tables, current = [], []
    for line in markdown.split("\n") + [""]:
        if line.startswith("|"):
            current.append(len(re.findall(r"(?<!\\)\|", line)))
        elif current:
            tables.append(current)
            current = []
    return tables


def test_markdown_table_cells_escape_pipes_and_newlines(batch):
    root, _ = built(batch, "nasty")
    for folder in campaign_folders(root):
        tables = pipe_counts((folder / "report.md").read_text())
        assert tables, folder
        for counts in tables:
            assert len(set(counts)) == 1, (folder, counts)


def tex_escaped(text: str) -> str:
    """Each LaTeX special escaped once."""
    return re.sub(r"[\\&%$#_{}]",
                  lambda m: r"\textbackslash{}" if m[0] == "\\" else "\\" + m[0], text)


def test_latex_tables_escape_specials_exactly_once(batch):
    root, _ = built(batch, "nasty")
    for folder in campaign_folders(root):
        for path in sorted((folder / "tables").glob("*.tex")):
            text = path.read_text()
            assert r"\textbackslash\{\}" not in text, path
            body = text.split("\\midrule\n")[1].split("\\bottomrule")[0]
            header = text.split("\\toprule\n")[1].split("\\midrule")[0]
            columns = len(re.findall(r"(?<!\\)&", header))
            for row in filter(str.strip, re.split(r"\\\\\n", body)):
                assert len(re.findall(r"(?<!\\)&", row)) == columns, (path, row)
                assert not re.search(r"(?<!\\)[%#_]", row), (path, row)
    tables = "".join(p.read_text() for p in (root / "campaign_summary" / CAMPAIGN).glob(
        "tables/*.tex"))
    forms = {tex_escaped(v) for v in (NASTY[3], json.dumps(NASTY[3]), repr(NASTY[3]))}
    assert any(form in tables for form in forms), forms


def test_svg_figures_are_xml_without_scripts(batch):
    root, _ = built(batch, "nasty")
    figures = [p for f in campaign_folders(root) for p in sorted(f.glob("figures/*.svg"))]
    assert figures
    for path in figures:
        try:
            tree = ET.parse(path)
        except ET.ParseError as exc:
            raise AssertionError(f"{path.name}: {exc}") from None
        for element in tree.iter():
            assert not element.tag.endswith("script"), path
            assert not [a for a in element.attrib if a.lower().startswith("on")], path


# --- 4. non-finite metric values ----------------------------------------------------

@pytest.mark.parametrize("name", ["inf_and_minus_inf", "plus_inf"])
def test_non_finite_metric_is_missing_with_a_warning(batch, name):
    root, info = built(batch, name)
    folder = root / "campaign_summary" / CAMPAIGN
    runs = runs_csv(root)
    finite_32 = [h for h in included(runs).index
                 if runs.loc[h, "flowpic_dim"] == "32" and h not in info["bad"]]
    metrics = pd.read_csv(folder / "metrics.csv")
    stats = metrics.select_dtypes("number")
    assert not stats.isin([math.inf, -math.inf]).any().any(), metrics
    row = metrics[(metrics["flowpic_dim"] == 32) & (metrics["context"] == "test-human")
                  & (metrics["metric"] == "acc")].iloc[0]
    assert row["n"] == len(finite_32) and math.isfinite(row["mean"]), row
    assert summary_counts(folder, "acc", "test-human") == len(included(runs)) - len(info["bad"])
    for path in folder.glob("summary_*.csv"):
        assert "inf" not in path.read_text().lower(), path.name
    for path in folder.glob("tables/*.tex"):
        assert "inf" not in path.read_text(), path.name
    html = (folder / "report.html").read_text().splitlines()
    for run_hash in info["bad"]:
        assert runs.loc[run_hash, "included"].lower() == "true"
        warning = runs.loc[run_hash, "warnings"]
        assert "acc" in warning and "test-human" in warning, warning
        assert [line for line in html
                if run_hash in line and "acc" in line and "test-human" in line], run_hash


# --- 5. hparams of mixed types ------------------------------------------------------

def hparam_cells(runs: pd.DataFrame, run_hash: str, name: str) -> tuple[str, ...]:
    """How runs.csv shows one hparam of a run (a dict may be flattened into name.key columns)."""
    columns = [c for c in runs.columns if c == name or c.startswith(f"{name}.")]
    return tuple(runs.loc[run_hash, c] for c in columns)


def test_mixed_hparam_types_keep_every_run_as_written(batch):
    root, info = built(batch, "mixed_types")
    runs = runs_csv(root)
    mine = info["batch"] + info["width"]
    assert set(mine) <= set(included(runs).index)
    assert len(included(runs)) == 8 + len(mine)
    shown = [hparam_cells(runs, h, "batch") for h in info["batch"]]
    assert len(set(shown)) == len(MIXED), dict(zip(map(repr, MIXED), shown, strict=True))
    first, second = (hparam_cells(runs, h, "width") for h in info["width"])
    assert first != second, "1 and '1' look the same"


def test_campaign_ids_5_and_text_5_keep_both_runs(batch):
    root, info = built(batch, "mixed_types")
    found = {}
    for folder in campaign_folders(root):
        if (folder / "runs.csv").exists():
            table = pd.read_csv(folder / "runs.csv", dtype=str, keep_default_na=False)
            found.update(zip(table["hash"], table["included"].str.lower(), strict=True))
    assert all(found.get(h) == "true" for h in info["five"]), found


# --- 6. no run silently dropped from tcbench's files --------------------------------

@pytest.mark.parametrize("name", ["extra_hparam", "mixed_types"])
def test_every_included_run_counts_once_in_tcbench_files(batch, name):
    root, _ = built(batch, name)
    folder = root / "campaign_summary" / CAMPAIGN
    expected = len(included(runs_csv(root)))
    for metric in METRICS:
        for context in TEST_CONTEXTS:
            assert summary_counts(folder, metric, context) == expected, (metric, context)


# --- 7. the same repository named twice ---------------------------------------------

@pytest.mark.parametrize("spelling", ["twice", "trailing_slash", "symlink"])
def test_one_repository_named_twice_builds_once(base, tmp_path, spelling):
    root = clone(base, tmp_path / "repo")
    (tmp_path / "link").symlink_to(root, target_is_directory=True)
    other = {"twice": root, "trailing_slash": f"{root}/", "symlink": tmp_path / "link"}
    before = tree_state(root)
    result = snakemake(tmp_path / "w", [root, other[spelling]], seconds=120)
    assert_clean(result)
    assert "another build" not in result.stdout + result.stderr, said(result)
    assert result.returncode == 0, said(result)
    assert (root / "campaign_summary" / CAMPAIGN / "report.html").is_file()
    assert tree_state(root) == before


# --- 8. classes in another order ----------------------------------------------------

def class_table(path: Path) -> pd.DataFrame:
    table = pd.read_csv(path, index_col=0, keep_default_na=False)
    return table.drop(index=["accuracy", "macro avg", "weighted avg"])


def test_reordered_classes_are_realigned_by_name(batch):
    root, info = built(batch, "reordered_classes")
    folder = root / "campaign_summary" / CAMPAIGN
    runs = included(runs_csv(root))
    for run_hash in info["moved"]:
        assert runs.loc[run_hash, "artifact_problems"] == "", runs.loc[run_hash]
    per_class = pd.read_csv(folder / "per_class.csv", keep_default_na=False)
    per_class = per_class[per_class["context"] == "test-human"]
    confusion = pd.read_csv(folder / "confusion_matrices.csv", keep_default_na=False)
    confusion = confusion[confusion["context"] == "test-human"]
    for dim, members in runs.groupby("flowpic_dim").groups.items():
        reports = [class_table(report(root, h)) for h in members]
        expected = sum(reports) / len(reports)  # aligned by class name
        mine = per_class[per_class["flowpic_dim"] == int(dim)].set_index("class")
        assert sorted(mine.index) == sorted(CLASSES)
        assert (mine["runs"] == len(members)).all()
        for ours, theirs in (("precision_mean", "precision"), ("recall_mean", "recall"),
                             ("f1_mean", "f1-score"), ("support", "support")):
            assert mine[ours].to_dict() == pytest.approx(expected[theirs].to_dict(), abs=1e-9)
        counts = sum(pd.read_csv(matrix(root, h), index_col=0).stack() for h in members)
        summed = confusion[confusion["flowpic_dim"] == int(dim)].set_index(["true", "predicted"])
        assert summed["count_sum"].to_dict() == counts.to_dict()


def test_a_different_class_set_is_still_excluded_for_that_context(batch):
    root, info = built(batch, "reordered_classes")
    row = runs_csv(root).loc[info["odd"]]
    assert row["included"].lower() == "true"
    assert "test-script" in row["artifact_problems"], row["artifact_problems"]
    assert "test-human" not in row["artifact_problems"], row["artifact_problems"]


# --- 9. leftovers are visible -------------------------------------------------------

def test_a_stale_campaign_folder_is_listed_not_deleted(batch):
    root, _ = built(batch, "stale_folder")
    summary = root / "campaign_summary"
    problems = pd.read_csv(summary / "problems.csv", keep_default_na=False)
    stale = problems[problems["path"].str.contains("999", regex=False)]
    assert stale["problem"].str.contains("stale", case=False).any(), problems
    assert (summary / "999" / "report.html").read_text() == "left over"


# --- 10. size scales ----------------------------------------------------------------

def test_400_classes_give_a_small_report_and_the_full_matrix(tmp_path):
    root = tmp_path / "repo"
    specs = write_example(root, runs=3, campaigns=1, seed=45, system_params=False)
    names = [f"app-{i:03d}" for i in range(400)]
    for k, run_hash in enumerate(runs_of(specs)):
        counts = [[0] * 400 for _ in range(400)]
        for i in range(400):
            counts[i][i] = 2 + (i + k) % 3
            counts[i][(i + 1 + k) % 400] += 1
        report_rows, matrix_rows = class_files(names, counts)
        write_rows(report(root, run_hash), report_rows)
        write_rows(matrix(root, run_hash), matrix_rows)
    before = tree_state(root)
    result = snakemake(tmp_path / "w", [root], seconds=240)
    assert_clean(result)
    assert result.returncode == 0, said(result)
    folder = root / "campaign_summary" / CAMPAIGN
    assert (folder / "report.html").stat().st_size < 5_000_000
    confusion = pd.read_csv(folder / "confusion_matrices.csv", usecols=["context", "true"])
    assert (confusion["context"] == "test-human").sum() == 400 * 400
    assert tree_state(root) == before
