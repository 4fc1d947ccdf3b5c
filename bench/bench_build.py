"""Time the Snakemake build (cold, no-op, one new run) against its floors on a large repository.

Usage (from the project root, virtualenv active):
    python bench/bench_build.py [--runs 1000] [--campaigns 4] [--dir bench/out] [--repeat 1]
                                [--cores 2] [--keep-work] [--comparisons 2|0]

Generates ``<dir>/repo-<runs>`` once (two writer processes, ~0.2 s per run) and never
writes into it. Each measurement series works on a fresh copy, ``<dir>/work-<runs>``, and
measures, each in a fresh subprocess:

  floor                  read every byte under .aim/ and artifacts/ (cat-like, no parsing)
  snakemake floor cold   a trivial workflow of 12 ``run:`` jobs writing a tiny file, with the
                         project's profile: Snakemake's own start-up and scheduling cost
  snakemake floor no-op  the same again ("Nothing to be done")
  cold                   ``snakemake --cores N`` on the copy with two named comparisons
                         (``--comparisons 2``, the default: every output on) or with
                         ``--config repositories='["<copy>"]'`` only (``--comparisons 0``);
                         cwd: the project root, so ``profiles/default`` applies
  no-op                  the same command again
  one new run            one run added to one existing campaign of the copy, then rebuilt;
                         reports which campaign folders had files change mtime

For each it prints wall time, the command's own peak RSS (``ru_maxrss`` from ``os.wait4``:
Snakemake runs jobs as threads of its own process because the profile sets
``force-use-threads``, so this is the build's peak) and the largest single process of its
tree (``RUSAGE_CHILDREN`` of a fresh launcher: covers the parse-time reader's 2 worker
processes too), the tree's RSS and PSS summed over its processes (sampled every 0.1 s: the
extraction workers and render processes beside Snakemake), the number of jobs Snakemake ran
(from its "N of M steps" line; includes the ``all`` target) and the ratio to the floor. Files
are hot in the page cache for every step. Logs of every command are kept in
``<dir>/logs-<runs>/``. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from common import FLOOR, WRITER_SEEDS, compile_package, ensure_repository

from tcsummary.example import RunSpec, plan_example

PROJECT = Path(__file__).resolve().parent.parent
PROFILE = PROJECT / "profiles" / "default"
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
#: Hash seed of the added run (the generator's writers use WRITER_SEEDS).
NEW_RUN_SEED = max(WRITER_SEEDS) + 101
#: The build's intermediate files, inside the output folder (tcsummary.plan.campaigns.WORK_DIR).
WORK_DIR = ".tcsummary"
#: Where named comparisons land inside the output folder (tcsummary.plan.comparisons).
COMPARISONS = "comparisons"

#: ``python -c LAUNCHER LOG CWD CMD...``: runs CMD with its output in LOG and prints, as JSON,
#: wall time, exit status, CMD's own peak RSS, the largest peak of its process tree (the
#: launcher is fresh, so RUSAGE_CHILDREN covers only CMD and the children it waited for), and
#: the peaks of the tree's RSS and PSS summed over its processes, sampled every 0.1 s from
#: /proc/<pid>/smaps_rollup (RSS counts a forked worker's pages shared with its parent again;
#: PSS splits them; processes living less than 0.1 s can be missed).
LAUNCHER = (
    "import json, os, resource, subprocess, sys, threading, time\n"
    "log, cwd, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]\n"
    "def tree(root):\n"
    "    kids = {}\n"
    "    for name in os.listdir('/proc'):\n"
    "        if name.isdigit():\n"
    "            try:\n"
    "                with open(f'/proc/{name}/stat', 'rb') as f:\n"
    "                    ppid = int(f.read().rsplit(b')', 1)[1].split()[1])\n"
    "            except (OSError, IndexError, ValueError):\n"
    "                continue\n"
    "            kids.setdefault(ppid, []).append(int(name))\n"
    "    found, todo = [], [root]\n"
    "    while todo:\n"
    "        pid = todo.pop()\n"
    "        found.append(pid)\n"
    "        todo += kids.get(pid, [])\n"
    "    return found\n"
    "def summed(pids):\n"
    "    rss = pss = 0\n"
    "    for pid in pids:\n"
    "        try:\n"
    "            with open(f'/proc/{pid}/smaps_rollup') as f:\n"
    "                for line in f:\n"
    "                    if line.startswith('Rss:'):\n"
    "                        rss += int(line.split()[1])\n"
    "                    elif line.startswith('Pss:'):\n"
    "                        pss += int(line.split()[1])\n"
    "        except (OSError, ValueError):\n"
    "            pass\n"
    "    return rss, pss\n"
    "peak = [0, 0]\n"
    "done = threading.Event()\n"
    "def sample(pid):\n"
    "    while not done.wait(0.1):\n"
    "        rss, pss = summed(tree(pid))\n"
    "        peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)\n"
    "with open(log, 'wb') as out:\n"
    "    start = time.perf_counter()\n"
    "    child = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,\n"
    "                             stderr=subprocess.STDOUT)\n"
    "    sampler = threading.Thread(target=sample, args=(child.pid,), daemon=True)\n"
    "    sampler.start()\n"
    "    _, status, usage = os.wait4(child.pid, 0)\n"
    "    wall = time.perf_counter() - start\n"
    "    done.set()\n"
    "    sampler.join()\n"
    "child.returncode = os.waitstatus_to_exitcode(status)\n"
    "tree_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(json.dumps({'wall': wall, 'status': child.returncode,\n"
    "                  'own_kb': usage.ru_maxrss, 'tree_kb': tree_kb,\n"
    "                  'sum_rss_kb': peak[0], 'sum_pss_kb': peak[1]}))\n"
)

#: ``python -c ADD_RUN ROOT SPEC_JSON SEED``: append one run to an existing repository.
ADD_RUN = (
    "import json, sys\n"
    "from tcsummary.example import RunSpec, write_example\n"
    "spec = RunSpec(**json.loads(sys.argv[2]))\n"
    "written = write_example(sys.argv[1], specs=[spec], seed=int(sys.argv[3]),\n"
    "                        system_params=False)\n"
    "print(*written)\n"
)

TRIVIAL_JOBS = 12
#: The project's Snakefile cancels the scheduler's last rate-limit timer when the build
#: ends (tcsummary.core.timers; ~1 s of every build that runs a job) and leaves its objects
#: out of the interpreter's last collection (tcsummary.core.memory; ~0.15 s of Snakemake's
#: own exit), so the trivial workflow does too: its figures stay Snakemake's own cost at
#: its best.
TRIVIAL_SNAKEFILE = f"""\
from tcsummary.core.memory import skip_exit_collection
from tcsummary.core.timers import cancel_pending_timers


onsuccess:
    cancel_pending_timers()
    skip_exit_collection()


rule all:
    input:
        expand("out/{{i}}.txt", i=range({TRIVIAL_JOBS})),


rule touch:
    output:
        "out/{{i}}.txt",
    run:
        with open(output[0], "w") as fh:
            fh.write(wildcards.i)
"""


class StepFailed(Exception):
    """A measured command exited non-zero (its log tail is printed by the caller)."""

    def __init__(self, step: Step) -> None:
        super().__init__(f"{step.name} exited with status {step.status}")
        self.step = step


@dataclass
class Step:
    """One measured command."""

    name: str
    wall: float
    own_mb: float
    tree_mb: float
    status: int
    log: Path
    sum_rss_mb: float = 0.0
    sum_pss_mb: float = 0.0
    jobs: int | None = None
    rules: dict[str, int] = field(default_factory=dict)


@dataclass
class Series:
    """The steps of one measurement series and what the one-new-run rebuild touched."""

    number: int
    steps: list[Step] = field(default_factory=list)
    campaign: str = ""
    noop_changed: dict[str, tuple[int, int]] = field(default_factory=dict)
    new_run_changed: dict[str, tuple[int, int]] = field(default_factory=dict)


def parse_jobs(text: str) -> tuple[int | None, dict[str, int]]:
    """Jobs Snakemake finished (last "N of M steps" line) and its "Job stats" counts per rule."""
    if "Nothing to be done" in text:
        return 0, {}
    rules: dict[str, int] = {}
    if "Job stats:" in text:
        block = text.split("Job stats:", 1)[1].splitlines()[3:]  # skip "job count", dashes
        for line in block:
            match = re.fullmatch(r"\s*(\S+)\s+(\d+)\s*", line)
            if match is None or match[1] == "total":
                break
            rules[match[1]] = int(match[2])
    done = re.findall(r"^(\d+) of \d+ steps", text, flags=re.MULTILINE)
    return (int(done[-1]) if done else None), rules


def measure(name: str, cmd: Sequence[str], cwd: Path, log: Path) -> Step:
    """Run ``cmd`` in a fresh launcher process; raise StepFailed if it fails."""
    result = subprocess.run(
        [sys.executable, "-c", LAUNCHER, str(log), str(cwd), *cmd],
        check=True, capture_output=True, text=True,
    )
    figures = json.loads(result.stdout)
    step = Step(
        name=name,
        wall=figures["wall"],
        own_mb=figures["own_kb"] / 1024,
        tree_mb=figures["tree_kb"] / 1024,
        status=figures["status"],
        log=log,
        sum_rss_mb=figures["sum_rss_kb"] / 1024,
        sum_pss_mb=figures["sum_pss_kb"] / 1024,
    )
    if cmd[0] == SNAKEMAKE:
        step.jobs, step.rules = parse_jobs(log.read_text(errors="replace"))
    print(f"  {name}: {step.wall:.2f} s", flush=True)
    if step.status != 0:
        raise StepFailed(step)
    return step


def fresh_copy(pristine: Path, work: Path) -> None:
    """Replace ``work`` with a copy of ``pristine`` (mtimes kept) without campaign_summary/."""
    start = time.perf_counter()
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(pristine, work, symlinks=True)
    shutil.rmtree(work / "campaign_summary", ignore_errors=True)
    # let the copy's writeback finish first: at 10,000 runs (6 GB) it otherwise slows
    # every measured step (a trivial snakemake took 11.5 s instead of 2.3 s)
    os.sync()
    print(f"  copied {pristine.name} to {work}: {time.perf_counter() - start:.1f} s", flush=True)


def new_run_spec(runs: int, campaigns: int) -> RunSpec:
    """A run the generated repository lacks, in its last campaign (a seed no run uses)."""
    specs = plan_example(runs, campaigns)
    campaign = specs[-1].campaign_id
    same = [s for s in specs if s.campaign_id == campaign]
    return dataclasses.replace(
        same[0],
        seed=max(s.seed for s in specs) + 1,
        campaign_exp_idx=max(s.campaign_exp_idx or 0 for s in same) + 1,
    )


def add_run(root: Path, spec: RunSpec) -> str:
    """Append ``spec`` to the repository at ``root`` in a child process; returns its hash."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", ADD_RUN, str(root), json.dumps(spec.__dict__), str(NEW_RUN_SEED)],
        check=True, capture_output=True, text=True,
    )
    run_hash = result.stdout.strip()
    print(
        f"  added run {run_hash} to campaign {spec.campaign_id}: "
        f"{time.perf_counter() - start:.1f} s",
        flush=True,
    )
    return run_hash


def mtimes(summary: Path) -> dict[Path, int]:
    """Every file under the output folder and its mtime (ns)."""
    return {
        p.relative_to(summary): p.stat().st_mtime_ns for p in summary.rglob("*") if p.is_file()
    }


def folder_of(relative: Path) -> str:
    """The campaign folder a file belongs to: ``<campaign>/`` or ``.tcsummary/<campaign>/``."""
    parts = relative.parts
    if parts[0] == WORK_DIR:
        return f"{WORK_DIR}/{parts[1]}/" if len(parts) > 2 else f"{WORK_DIR}/ (top level)"
    if parts[0] == COMPARISONS and len(parts) > 2:
        return f"{COMPARISONS}/{parts[1]}/"
    return f"{parts[0]}/" if len(parts) > 1 else "(top level)"


def changed_files(before: dict[Path, int], after: dict[Path, int]) -> dict[str, tuple[int, int]]:
    """Per folder: (files new, removed or with another mtime, files now there)."""
    folders: dict[str, tuple[int, int]] = {}
    for path in sorted(set(before) | set(after)):
        changed = before.get(path) != after.get(path)
        total = path in after
        n_changed, n_total = folders.get(folder_of(path), (0, 0))
        folders[folder_of(path)] = (n_changed + changed, n_total + total)
    return folders


def changed_campaigns(folders: dict[str, tuple[int, int]]) -> set[str]:
    return {
        name.removeprefix(f"{WORK_DIR}/").rstrip("/")
        for name, (changed, _) in folders.items()
        if changed and "(top level)" not in name and not name.startswith(COMPARISONS)
        and name != f"{WORK_DIR}/logs/"
    }


def comparisons_config(root: Path, campaigns: list[str], path: Path) -> Path:
    """A config with two named comparisons over the repository's campaigns (written to ``path``).

    One pools every campaign (the paper's cross-dataset layout: blocks are
    (campaign, split, seed)); one puts the first two campaigns side by side as the
    factor (the paper's dropout figure). Both include the campaign that gets the new run.
    """
    import yaml

    config = {
        "repositories": [{"name": "bench", "path": str(root)}],
        "comparisons": [
            {"name": "pooled", "factor": "aug_name", "sources": [{"repository": "bench"}]},
            {"name": "side-by-side", "factor": "source", "blocks": ["seed", "split_index"],
             "sources": [{"repository": "bench", "campaign": c} for c in campaigns[-2:]]},
        ],
    }
    path.write_text(yaml.safe_dump(config))
    return path


def build_command(root: Path, cores: int, config: Path | None = None) -> list[str]:
    """The build; with ``config``, that file on top of config/config.yaml (the comparisons)."""
    if config is None:
        return [SNAKEMAKE, "--cores", str(cores),
                "--config", f"repositories={json.dumps([str(root)])}"]
    return [SNAKEMAKE, "--cores", str(cores), "--configfile",
            str(PROJECT / "config" / "config.yaml"), str(config)]


def snakemake_floor(series: Series, cores: int, logs: Path) -> None:
    """Cold and no-op runs of a trivial workflow, with the project's profile."""
    cmd = [SNAKEMAKE, "--cores", str(cores), "--workflow-profile", str(PROFILE)]
    with tempfile.TemporaryDirectory(prefix="bench-smk-floor-") as tmp:
        (Path(tmp) / "Snakefile").write_text(TRIVIAL_SNAKEFILE)
        for label in ("cold", "no-op"):
            log = logs / f"{series.number}-snakemake-floor-{label}.log"
            series.steps.append(measure(f"snakemake floor {label}", cmd, Path(tmp), log))


def run_series(series: Series, pristine: Path, work: Path, args: argparse.Namespace) -> None:
    """One side-by-side measurement on a fresh copy; steps are appended as they finish."""
    logs = args.dir / f"logs-{args.runs}"
    logs.mkdir(parents=True, exist_ok=True)
    fresh_copy(pristine, work)
    floor_cmd = [sys.executable, "-c", FLOOR, str(work)]
    series.steps.append(measure("floor", floor_cmd, PROJECT, logs / f"{series.number}-floor.log"))
    snakemake_floor(series, args.cores, logs)
    spec = new_run_spec(args.runs, args.campaigns)
    config = None
    if args.comparisons:
        campaigns = sorted({str(s.campaign_id) for s in plan_example(args.runs, args.campaigns)})
        config = comparisons_config(work, campaigns, args.dir / "comparisons.yaml")
    build = build_command(work, args.cores, config)
    summary = work / "campaign_summary"
    series.steps.append(measure("cold", build, PROJECT, logs / f"{series.number}-cold.log"))
    series.campaign = str(spec.campaign_id)
    if not (summary / series.campaign).is_dir():
        raise SystemExit(
            f"campaign {series.campaign} not in {summary}: was {pristine} generated with "
            f"--campaigns {args.campaigns}?"
        )
    after_cold = mtimes(summary)
    series.steps.append(measure("no-op", build, PROJECT, logs / f"{series.number}-noop.log"))
    after_noop = mtimes(summary)
    series.noop_changed = changed_files(after_cold, after_noop)
    add_run(work, spec)
    log = logs / f"{series.number}-one-new-run.log"
    series.steps.append(measure("one new run", build, PROJECT, log))
    series.new_run_changed = changed_files(after_noop, mtimes(summary))


def print_table(all_series: list[Series]) -> None:
    print()
    print(
        f"{'series':>6}  {'step':22s} {'wall s':>8} {'peak RSS MB':>12} {'tree MB':>8} "
        f"{'sum RSS':>8} {'sum PSS':>8} {'jobs':>5} {'x floor':>8}"
    )
    for series in all_series:
        floor = next((s.wall for s in series.steps if s.name == "floor"), None)
        for step in series.steps:
            jobs = "-" if step.jobs is None else str(step.jobs)
            ratio = f"{step.wall / floor:8.1f}" if floor else f"{'-':>8}"
            print(
                f"{series.number:>6}  {step.name:22s} {step.wall:8.2f} {step.own_mb:12.1f} "
                f"{step.tree_mb:8.1f} {step.sum_rss_mb:8.1f} {step.sum_pss_mb:8.1f} {jobs:>5} "
                f"{ratio}"
            )


def best(all_series: list[Series], name: str) -> Step | None:
    """The fastest step of that name over the series (its peak RSS: the highest seen)."""
    steps = [s for series in all_series for s in series.steps if s.name == name]
    if not steps:
        return None
    fastest = min(steps, key=lambda s: s.wall)
    return dataclasses.replace(
        fastest, own_mb=max(s.own_mb for s in steps), tree_mb=max(s.tree_mb for s in steps),
        sum_rss_mb=max(s.sum_rss_mb for s in steps), sum_pss_mb=max(s.sum_pss_mb for s in steps),
    )


def print_ratios(all_series: list[Series], runs: int) -> None:
    steps = {
        name: best(all_series, name)
        for name in ("floor", "snakemake floor cold", "snakemake floor no-op",
                     "cold", "no-op", "one new run")
    }
    cold, noop, new = steps["cold"], steps["no-op"], steps["one new run"]
    smk_cold, smk_noop = steps["snakemake floor cold"], steps["snakemake floor no-op"]
    print()
    if smk_cold and smk_noop:
        print(
            f"snakemake floor ({TRIVIAL_JOBS} trivial jobs): cold {smk_cold.wall:.2f} s / "
            f"{smk_cold.own_mb:.1f} MB, no-op {smk_noop.wall:.2f} s / {smk_noop.own_mb:.1f} MB"
        )
    for label, step in (("no-op", noop), ("one new run", new)):
        if cold and step:
            print(
                f"{label} / cold: wall {step.wall / cold.wall:.3f}, "
                f"peak RSS {step.own_mb / cold.own_mb:.3f}"
            )
    for label, step, base in (("cold", cold, smk_cold), ("no-op", noop, smk_noop),
                              ("one new run", new, smk_noop)):
        if step and base:
            print(f"{label} above snakemake floor ({base.name}): +{step.wall - base.wall:.2f} s")
    if steps["floor"] and cold:
        print(f"cold / read-everything floor: x{cold.wall / steps['floor'].wall:.1f}")
    print_targets(steps, runs)


#: Issue 13's targets: (1,000 runs, 10,000 runs).
TARGETS = {"cold": (4.0, 3.0), "no-op": (0.4, 1.5), "one new run": (1.5, 3.0), "rss": (300, 300)}


def print_targets(steps: dict[str, Step | None], runs: int) -> None:
    """Each target next to the figure reached ("our part" = minus the trivial workflow)."""
    floor, cold, noop, new = (steps[k] for k in ("floor", "cold", "no-op", "one new run"))
    smk_cold, smk_noop = steps["snakemake floor cold"], steps["snakemake floor no-op"]
    if not all((floor, cold, noop, new, smk_cold, smk_noop)):
        return
    k = 0 if runs <= 1000 else 1
    ours = cold.wall - smk_cold.wall
    rss = max(s.tree_mb for s in (cold, noop, new))
    sum_rss = max(s.sum_rss_mb for s in (cold, noop, new))
    sum_pss = max(s.sum_pss_mb for s in (cold, noop, new))
    print("\ntargets (issue 13):")
    print(f"  cold, our part: {ours:.2f} s = x{ours / floor.wall:.1f} the floor "
          f"(target <= x{TARGETS['cold'][k]:g})")
    print(f"  no-op, our part: {noop.wall - smk_noop.wall:.2f} s "
          f"(target <= {TARGETS['no-op'][k]:g} s)")
    print(f"  one new run over the trivial no-op: {new.wall - smk_noop.wall:.2f} s "
          f"(target <= {TARGETS['one new run'][k]:g} s)")
    print(f"  peak RSS, largest process: {rss:.0f} MB; the tree summed: RSS {sum_rss:.0f} MB, "
          f"PSS {sum_pss:.0f} MB (target <= {TARGETS['rss'][k]} MB)")


def print_changes(series: Series) -> None:
    for label, folders in (("no-op", series.noop_changed),
                           (f"one new run in campaign {series.campaign}", series.new_run_changed)):
        if not folders:
            continue
        print(f"\nseries {series.number}, {label}: files changed (new/removed/mtime) per folder")
        for name, (changed, total) in folders.items():
            print(f"  {name:40s} {changed:4d} of {total:4d}")
    if series.new_run_changed:
        touched = changed_campaigns(series.new_run_changed)
        verdict = "yes" if touched == {series.campaign} else f"NO: {sorted(touched)}"
        print(f"only campaign {series.campaign}'s folders changed: {verdict}")
        compared = sorted(n for n, (c, _) in series.new_run_changed.items()
                          if c and n.startswith(COMPARISONS))
        print(f"comparisons rebuilt: {compared or 'none'}")
        print(f"rules run for the new run: {series.steps[-1].rules}")


def print_failure(error: StepFailed) -> None:
    lines = error.step.log.read_text(errors="replace").splitlines()
    print(f"\nFAILED: {error} (log: {error.step.log}); last 60 lines:")
    print("\n".join(lines[-60:]))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--campaigns", type=int, default=4)
    parser.add_argument("--dir", type=Path, default=Path("bench/out"))
    parser.add_argument("--repeat", type=int, default=1, help="measurement series")
    parser.add_argument("--cores", type=int, default=2, help="snakemake --cores")
    parser.add_argument("--keep-work", action="store_true", help="keep the last work copy")
    parser.add_argument("--comparisons", type=int, choices=(0, 2), default=2,
                        help="named comparisons configured (2: every output on; 0: none)")
    args = parser.parse_args(argv)
    args.dir = args.dir.absolute()
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    compile_package()
    pristine = ensure_repository(args.dir, args.runs, args.campaigns)
    work = args.dir / f"work-{args.runs}"
    config = args.dir / "comparisons.yaml" if args.comparisons else None
    print(f"build command (cwd {PROJECT}): {' '.join(build_command(work, args.cores, config))}")
    all_series: list[Series] = []
    failure: StepFailed | None = None
    for number in range(1, args.repeat + 1):
        print(f"series {number}:", flush=True)
        all_series.append(Series(number))
        try:
            run_series(all_series[-1], pristine, work, args)
        except StepFailed as error:
            failure = error
            break
    print_table(all_series)
    print_ratios(all_series, args.runs)
    for series in all_series:
        print_changes(series)
    print(
        f"\nruns={args.runs} campaigns={args.campaigns} comparisons={args.comparisons} "
        f"snakemake --cores {args.cores} "
        f"cpu_count={os.cpu_count()} series={len(all_series)}"
    )
    if failure is not None:
        print_failure(failure)
        print(f"work copy kept: {work}")
        return 1
    if not args.keep_work:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
