"""From the validated workflow config to the plan of a build: what common.smk calls.

Kept in the package (not in the Snakefile) so the CLI, the tests and the
workflow resolve repositories, output folders and campaigns the same way. The
config it gets has been validated against ``workflow/schemas/config.schema.yaml``,
which also filled in every default: no default lives in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.files import remove_stale_temporaries
from ..read.aim_reader import aim_dir_of
from .campaigns import WORK_DIR, RepositoryPlan, plan_repository
from .lock import hold_build_lock
from .selection import ConfigError, Selection
from .waiting import wait_until_idle

#: What every campaign folder gets (besides tcbench's files, one pair per split value).
CAMPAIGN_FILES = (
    "report.html", "provenance.json", "ranks.csv", "tests.csv", "pairwise.csv", "variance.csv",
)


@dataclass
class Build:
    """Every repository of a build, indexed by its output folder (a rule wildcard)."""

    repositories: list[RepositoryPlan]
    #: open lock files, one per output folder (see lock.py); held while the build runs.
    locks: list[Any] = field(default_factory=list)

    def by_summary(self, summary: str) -> RepositoryPlan:
        for plan in self.repositories:
            if str(plan.summary) == summary:
                return plan
        raise KeyError(summary)

    def reports(self) -> list[str]:
        """Final files of every campaign (what ``rule all`` asks for)."""
        files = []
        for plan in self.repositories:
            files.append(str(plan.summary / "problems.csv"))
            for folder, campaign in plan.campaigns.items():
                out = plan.summary / folder
                files += [str(out / name) for name in CAMPAIGN_FILES]
                files += [str(out / name) for name in campaign.tcbench_files]
        return files


#: Config keys that shape the reports (the rest only changes how a build runs).
REPORT_KEYS = (
    "repositories", "campaigns", "metrics", "contexts", "groupby", "output", "compare",
)


def flag(config: dict[str, Any], key: str) -> bool:
    """A yes/no config key: YAML gives a bool, ``--config key=true`` gives the text "true"."""
    return str(config[key]).lower() == "true"


def report_config(config: dict[str, Any]) -> dict[str, Any]:
    """The part of the config recorded in provenance and compared for reruns."""
    return {key: config[key] for key in REPORT_KEYS}


def output_folders(roots: list[Path], output: str | None, base: Path) -> list[Path]:
    """``<root>/campaign_summary`` each, or ``<output>`` (one repository) / ``<output>/<name>``."""
    if output is None:
        return [root / "campaign_summary" for root in roots]
    target = (base / output).resolve()
    if len(roots) == 1:
        return [target]
    names = [root.name for root in roots]
    if len(set(names)) != len(names):
        raise ConfigError(
            f"output {target}: repositories {', '.join(map(str, roots))} share folder names; "
            "give each its own output"
        )
    return [target / name for name in names]


#: What a repository holds that tcsummary must never write into.
USER_DATA = (".aim", "artifacts")


def unique_roots(roots: list[Path]) -> list[Path]:
    """Each repository once, by resolved path (a trailing slash or a symlink is the same one)."""
    return list(dict.fromkeys(roots))


def check_output(root: Path, summary: Path) -> None:
    """Refuse an output folder inside the user's data, before anything is created.

    Reports may go anywhere but into ``.aim/`` or ``artifacts/`` of a configured
    repository, or the repository root itself (a campaign named ``artifacts``
    would then write into the artifact folder).
    """
    summary = summary.resolve()
    if summary == root:
        raise ConfigError(
            f"output {summary} is the repository {root} itself; reports would sit beside "
            ".aim and artifacts: use a folder of its own (default: <repository>/campaign_summary)"
        )
    for name in USER_DATA:
        data = (root / name).resolve()
        if summary == data or data in summary.parents:
            raise ConfigError(
                f"output {summary} is inside {data}, the repository's own data; "
                "tcsummary never writes there: choose another folder"
            )


def plan_build(
    config: dict[str, Any], base: Path | str = ".", main_process: bool = False
) -> Build:
    """Resolve the config against the repositories; raises TcsummaryError with one line.

    The workflow's main process locks each output folder, waits for active runs
    when ``wait`` is set, and writes the snapshots and manifests; a cluster job
    re-parsing the workflow only reads them.
    """
    base = Path(base).resolve()
    roots = unique_roots([(base / str(r)).resolve() for r in config["repositories"]])
    selection = Selection.from_config(config)
    campaigns = config["campaigns"]
    wanted = None if campaigns == "all" else [str(c) for c in campaigns]
    summaries = output_folders(roots, config["output"], base)
    for root in roots:
        aim_dir_of(root)  # a path that is not a repository gets nothing written, not even a lock
        for summary in summaries:
            check_output(root, summary)
    plans, locks = [], []
    for root, summary in zip(roots, summaries, strict=True):
        if main_process:
            locks.append(hold_build_lock(summary))
            remove_stale_temporaries(summary)
            if flag(config, "wait"):
                wait_until_idle(
                    root,
                    wanted,
                    poll_seconds=float(config["wait_poll_seconds"]),
                    timeout_seconds=float(config["wait_timeout_minutes"]) * 60,
                    cache=summary / WORK_DIR / "aim-cache.json",
                )
        plans.append(
            plan_repository(
                root, summary, selection, wanted,
                workers=int(config["workers"]), write=main_process,
            )
        )
    return Build(plans, locks)

