"""The workflow on a real single-node SLURM cluster (scripts/slurm_cluster.sh brings it up).

Skipped, with the reason, only where SLURM cannot be installed or started (not root,
no apt, daemons refuse to start); CI runs them (make test).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tcsummary.example import write_example

PROJECT = Path(__file__).resolve().parents[1]
CLUSTER = PROJECT / "scripts" / "slurm_cluster.sh"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    """A running localhost cluster for the module; stopped afterwards if we started it."""
    if os.geteuid() != 0:
        pytest.skip("SLURM tests need root to install and start slurmctld/slurmd/munged")
    if shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
        pytest.skip("SLURM is not installed and apt-get is not available to install it")
    started = subprocess.run(["bash", str(CLUSTER), "start"], capture_output=True, text=True,
                             timeout=900)
    if started.returncode != 0:
        reason = (started.stderr or started.stdout).strip().splitlines()
        pytest.skip(f"cannot start SLURM here: {reason[-1] if reason else started.returncode}")
    yield
    subprocess.run(["bash", str(CLUSTER), "stop"], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("slurm") / "repo"
    write_example(root, runs=12, campaigns=2, seed=9, unfinished=1, no_campaign=1,
                  system_params=False)
    return root


def run_snakemake(root: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "snakemake", "-s", str(PROJECT / "Snakefile"),
        "--directory", str(workdir), "--configfile", str(PROJECT / "config" / "config.yaml"),
        "--config", f'repositories=["{root}"]', *args,
    ]
    # bounded: on SIGTERM snakemake waits for its jobs, so kill after a grace period
    return subprocess.run(["timeout", "-k", "30", "600", *cmd], capture_output=True, text=True)


def digests(summary: Path) -> dict[str, str]:
    return {
        str(p.relative_to(summary)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(summary.rglob("*"))
        if p.is_file() and ".tcsummary" not in p.parts and not p.name.startswith(".")
    }


def test_slurm_executor_gives_byte_identical_reports(cluster, repo, tmp_path):
    local = run_snakemake(repo, tmp_path / "local", "--cores", "2")
    assert local.returncode == 0, local.stderr[-3000:]
    expected = digests(repo / "campaign_summary")
    shutil.rmtree(repo / "campaign_summary")
    started = time.monotonic()
    remote = run_snakemake(
        repo, tmp_path / "slurm", "--profile", str(PROJECT / "workflow" / "profiles" / "slurm"),
        "--slurm-status-command", "squeue", "--jobs", "4",
    )
    elapsed = time.monotonic() - started
    assert remote.returncode == 0, remote.stdout[-3000:] + remote.stderr[-3000:]
    log = remote.stdout + remote.stderr
    assert "Job " in log and "has been submitted with SLURM jobid" in log, log[-3000:]
    assert digests(repo / "campaign_summary") == expected
    print(f"slurm build: {elapsed:.1f} s")


def test_submit_after_a_job_builds_only_when_it_has_ended(cluster, repo, tmp_path):
    summary = tmp_path / "reports"
    sleeper = subprocess.run(
        ["sbatch", "--parsable", "--job-name", "campaign", "--output", str(tmp_path / "s.log"),
         "--wrap", "sleep 20"],
        capture_output=True, text=True, check=True,
    ).stdout.strip().split(";")[0]
    done = subprocess.run(
        [str(Path(sys.executable).parent / "tcsummary"), "submit", str(repo), "--after", sleeper,
         "--output", str(summary), "--cores", "1", "--mem-mb", "2000"],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    build = done.stdout.strip()
    assert build.isdigit(), done.stdout

    def queued(job: str) -> bool:
        out = subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], capture_output=True,
                             text=True)
        return bool(out.stdout.strip())

    while queued(sleeper):  # the campaign still runs: no report may appear
        assert not list(summary.glob("*/report.html")), "built before the campaign ended"
        state = subprocess.run(["squeue", "-h", "-j", build, "-o", "%T|%r"],
                               capture_output=True, text=True).stdout.strip()
        assert state.startswith("PENDING") or not state, state
        time.sleep(1)
    deadline = time.monotonic() + 300
    while queued(build) and time.monotonic() < deadline:
        time.sleep(2)
    log = summary / ".tcsummary" / "logs" / f"submit-{build}.log"
    assert list(summary.glob("*/report.html")), log.read_text()[-3000:] if log.exists() else ""
    assert (summary / "problems.csv").exists()
