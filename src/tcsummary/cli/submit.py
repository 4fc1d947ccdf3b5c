"""``tcsummary submit``: build the reports as a SLURM job, after a campaign's jobs end.

The job runs the same workflow as ``snakemake --cores N`` on the head node would;
``--after`` makes SLURM start it only when the given jobs have ended
(``--dependency=afterany:...``, so a campaign whose last job failed still gets
its report, with the failed runs excluded and named). Partition, account and
the like are the user's: pass them with ``--sbatch-arg``, never hard-coded.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import TcsummaryError

JOB_ID = re.compile(r"^\d+(_\d+)?(\.\w+)?$")


class SubmitError(TcsummaryError):
    """sbatch is missing or refused the job."""


def is_workflow_dir(folder: Path) -> bool:
    return (folder / "Snakefile").is_file() and (folder / "workflow" / "rules").is_dir()


def project_dir(given: Path | None = None) -> Path:
    """The tcsummary checkout whose workflow the job runs.

    ``--workflow DIR`` first, then the current directory, then the checkout an
    editable install points to. A regular (wheel) install holds only the
    package, not the Snakefile: then the user must say where the clone is.
    """
    if given is not None:
        if is_workflow_dir(given):
            return given.resolve()
        raise SubmitError(f"{given}: not a tcsummary checkout (no Snakefile and workflow/rules)")
    candidates = [Path.cwd(), *Path(__file__).resolve().parents]
    for folder in candidates:
        if is_workflow_dir(folder):
            return folder.resolve()
    raise SubmitError(
        "cannot find the tcsummary workflow (Snakefile, workflow/rules): run from a clone "
        "of tcsummary or pass --workflow <clone>"
    )


def parse_job_ids(text: str | None) -> list[str]:
    if not text:
        return []
    ids = [part.strip() for part in text.split(",") if part.strip()]
    bad = [i for i in ids if not JOB_ID.match(i)]
    if bad:
        raise SubmitError(f"--after: {', '.join(bad)} is not a SLURM job id")
    return ids


@dataclass
class Submission:
    """What to submit: one repository, optionally some campaigns, after some jobs."""

    root: Path
    after: list[str] = field(default_factory=list)
    campaigns: list[str] = field(default_factory=list)
    wait: bool = False
    cores: int = 2
    mem_mb: int = 4000
    minutes: int = 120
    output: Path | None = None
    sbatch_args: list[str] = field(default_factory=list)
    workflow: Path | None = None

    def snakemake_command(self, project: Path) -> list[str]:
        config = [f'repositories=["{self.root}"]']
        if self.campaigns:
            config.append("campaigns=[" + ",".join(f'"{c}"' for c in self.campaigns) + "]")
        if self.wait:
            config.append("wait=true")
        if self.output is not None:
            config.append(f"output={self.output}")
        return [
            str(Path(sys.executable).parent / "snakemake"),
            "--snakefile", str(project / "Snakefile"),
            "--directory", str(project),
            "--cores", str(self.cores),
            "--config", *config,
        ]

    def script(self, project: Path) -> str:
        """The batch script (readable: users find it in the job's log folder)."""
        command = " ".join(shlex.quote(part) for part in self.snakemake_command(project))
        return "\n".join([
            "#!/bin/bash",
            f"# tcsummary report build for {self.root}",
            "set -euo pipefail",
            f"exec {command}",
            "",
        ])

    def sbatch_command(self, log_dir: Path) -> list[str]:
        command = [
            "sbatch", "--parsable",
            "--job-name", "tcsummary",
            "--cpus-per-task", str(self.cores),
            "--mem", f"{self.mem_mb}M",
            "--time", str(self.minutes),
            "--output", str(log_dir / "submit-%j.log"),
        ]
        if self.after:
            command += ["--dependency", "afterany:" + ":".join(self.after)]
        return command + list(self.sbatch_args)


def submit(job: Submission, dry_run: bool = False) -> str:
    """Submit the build; returns SLURM's job id (or, with ``dry_run``, what would run)."""
    project = project_dir(job.workflow)
    summary = job.output or job.root / "campaign_summary"
    log_dir = summary / ".tcsummary" / "logs"
    command = job.sbatch_command(log_dir)
    script = job.script(project)
    if dry_run:
        return " ".join(shlex.quote(c) for c in command) + "\n" + script
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SubmitError(f"{log_dir}: cannot create the log folder ({exc.strerror})") from None
    try:
        done = subprocess.run(command, input=script, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise SubmitError("sbatch: not found (is this a SLURM login node?)") from None
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise SubmitError(f"sbatch refused the job: {reason[-1] if reason else done.returncode}")
    return done.stdout.strip().split(";")[0]
