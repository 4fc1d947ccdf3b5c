"""From the validated workflow config to the plan of a build: what common.smk calls.

Kept in the package (not in the Snakefile) so the CLI, the tests and the
workflow resolve repositories, output folders and campaigns the same way. The
config it gets has been validated against ``workflow/schemas/config.schema.yaml``,
which also filled in every default: no default lives in Python.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..core import values as hv
from ..core.files import digest_package, remove_stale_temporaries, write_if_changed
from ..core.memory import gc_paused, release_freed_memory
from ..core.workers import close_pools
from ..read.aim_reader import aim_dir_of
from ..read.discovery import cache_path
from .campaigns import COMPARISONS, WORK_DIR, RepositoryPlan, plan_repository
from .comparisons import COMPARISON_FILES, ComparisonPlan, plan_comparisons
from .lock import hold_build_lock
from .selection import ConfigError, Selection
from .waiting import wait_until_idle

#: What every campaign folder gets (besides tcbench's files, one pair per split value).
CAMPAIGN_FILES = (
    "report.html", "provenance.json", "answers.csv", "ranks.csv", "tests.csv", "pairwise.csv",
    "variance.csv",
)
#: What every output folder gets besides its campaigns: the page that lists them.
INDEX_FILES = ("index.html", "index.md")


@dataclass
class Build:
    """Every repository of a build, indexed by its output folder (a rule wildcard)."""

    repositories: list[RepositoryPlan]
    #: open lock files, one per output folder (see lock.py); held while the build runs.
    locks: list[Any] = field(default_factory=list)
    comparisons: list[ComparisonPlan] = field(default_factory=list)
    #: ``output`` when it holds several repositories' folders: its own index lists them.
    top: Path | None = None

    def by_summary(self, summary: str) -> RepositoryPlan:
        for plan in self.repositories:
            if str(plan.summary) == summary:
                return plan
        raise KeyError(summary)

    def comparison(self, folder: str) -> ComparisonPlan:
        for plan in self.comparisons:
            if str(plan.folder) == folder:
                return plan
        raise KeyError(folder)

    def comparisons_of(self, plan: RepositoryPlan) -> list[ComparisonPlan]:
        """The comparisons that include a campaign of this repository (its index links them)."""
        return [c for c in self.comparisons if any(s.repository == plan.name for s in c.sources)]

    def extractions(self) -> list[tuple[str, str]]:
        """Every extraction batch of the build: (its manifest, its output)."""
        return [
            (str(plan.manifest(folder, batch)), str(plan.extraction(folder, batch)))
            for plan in self.repositories
            for folder, campaign in plan.campaigns.items()
            for batch in campaign.batches
        ]

    def reports(self) -> list[str]:
        """Final files of every campaign, index and comparison (what ``rule all`` asks for)."""
        files = []
        for plan in self.repositories:
            files.append(str(plan.summary / "problems.csv"))
            files += [str(plan.summary / name) for name in INDEX_FILES]
            for folder, campaign in plan.campaigns.items():
                out = plan.summary / folder
                files += [str(out / name) for name in CAMPAIGN_FILES]
                files += [str(out / name) for name in campaign.tcbench_files]
        for comparison in self.comparisons:
            files += [str(comparison.folder / name) for name in COMPARISON_FILES]
        if self.top is not None:
            files += [str(self.top / name) for name in INDEX_FILES]
        return files


#: Config keys that shape the reports (the rest only changes how a build runs).
REPORT_KEYS = (
    "repositories", "campaigns", "metrics", "contexts", "groupby", "output", "compare",
)


def flag(config: dict[str, Any], key: str) -> bool:
    """A yes/no config key: YAML gives a bool, ``--config key=true`` gives the text "true"."""
    return str(config[key]).lower() == "true"


@functools.cache
def code_version() -> str:
    """This tcsummary: its version and a digest of its sources and templates.

    Every params file holds it, so a new tcsummary (or an edited source) reruns the
    aggregations, comparisons and indexes, and through their views the renders, once:
    reports never keep numbers or wording of the code before. (Extractions are versioned
    by their record format instead: their parse rarely changes and costs most.)
    """
    digest = hashlib.blake2b(digest_size=12)
    digest_package(digest, ".py", ".j2")
    return f"{__version__}+{digest.hexdigest()}"


def params_file(path: Path | str, values: dict[str, Any], write: bool) -> str:
    """A rule's params as a file whose mtime changes only when they do; returns its path.

    Rules take it as an input, so the mtime trigger reruns a job whose params changed.
    Snakemake's own params trigger did the same but imported pandas in every invocation
    (to ask whether a param is a data frame): 0.4 s and 50 MB of each no-op build. Only
    the main process writes (``write``); cluster jobs read what it wrote. The params
    include :func:`code_version`.
    """
    if write:
        values = {**values, "tcsummary": code_version()}
        data = json.dumps(hv.plain(values), sort_keys=True, indent=1, default=str) + "\n"
        write_if_changed(Path(path), data.encode())
    return str(path)


def report_config(config: dict[str, Any]) -> dict[str, Any]:
    """The part of the config recorded in provenance and compared for reruns."""
    return {key: config[key] for key in REPORT_KEYS}


@dataclass(frozen=True)
class RepositorySpec:
    """One configured repository: a folder, or shards read as one, and its name."""

    name: str
    roots: tuple[Path, ...]


def repository_specs(entries: list[Any], base: Path) -> list[RepositorySpec]:
    """The ``repositories`` config key: folders or ``{name, path}`` / ``{name, shards}``.

    The same folder given twice (a trailing slash, a symlink) is one repository;
    a folder in two entries, or two entries with one name, is an error.
    """
    specs: list[RepositorySpec] = []
    for entry in entries:
        if isinstance(entry, dict):
            paths, name = entry.get("shards") or [entry["path"]], str(entry["name"])
        else:
            paths, name = [entry], ""
        roots = tuple(unique_roots([(base / str(p)).resolve() for p in paths]))
        spec = RepositorySpec(name or roots[0].name, roots)
        if spec not in specs:
            specs.append(spec)
    seen: dict[Path, str] = {}
    for spec in specs:
        for root in spec.roots:
            if root in seen and seen[root] != spec.name:
                raise ConfigError(
                    f"repositories: {root} is in both {seen[root]!r} and {spec.name!r}; "
                    "a folder belongs to one repository"
                )
            seen[root] = spec.name
    return specs


def output_folders(specs: list[RepositorySpec], target: Path | None) -> list[Path]:
    """``<root>/campaign_summary`` each, or ``<output>`` (one repository) / ``<output>/<name>``."""
    if target is None:
        for spec in specs:
            if len(spec.roots) > 1:
                raise ConfigError(
                    f"repository {spec.name!r} has {len(spec.roots)} shards: set `output` "
                    "(its reports belong in no single shard, and nothing is written into one)"
                )
        return [spec.roots[0] / "campaign_summary" for spec in specs]
    if len(specs) == 1:
        return [target]
    names = [spec.name for spec in specs]
    clash = sorted({n for n in names if names.count(n) > 1} | ({COMPARISONS} & set(names)))
    if clash:
        raise ConfigError(
            f"output {target}: repositories {', '.join(str(s.roots[0]) for s in specs)} "
            f"would share the folder {clash[0]!r}; name them: "
            "repositories: [{name: a, path: ...}, {name: b, path: ...}]"
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
    specs = repository_specs(list(config["repositories"]), base)
    selection = Selection.from_config(config)
    campaigns = config["campaigns"]
    wanted = None if campaigns == "all" else [str(c) for c in campaigns]
    target = None if config["output"] is None else (base / config["output"]).resolve()
    summaries = output_folders(specs, target)
    # comparisons go to <output>/comparisons, or inside a repository's checked output folder
    written = summaries + ([target / COMPARISONS] if target else [])
    for spec in specs:
        for root in spec.roots:
            aim_dir_of(root)  # not a repository: nothing is written, not even a lock
            for folder in written:
                check_output(root, folder)
    plans, locks = [], []
    for spec, summary in zip(specs, summaries, strict=True):
        if main_process:
            locks.append(hold_build_lock(summary))
            remove_stale_temporaries(summary)
            if flag(config, "wait"):
                for i, root in enumerate(spec.roots):
                    wait_until_idle(
                        root,
                        wanted,
                        poll_seconds=float(config["wait_poll_seconds"]),
                        timeout_seconds=float(config["wait_timeout_minutes"]) * 60,
                        cache=cache_path(summary / WORK_DIR, spec.roots, i),
                    )
        with gc_paused():  # planning makes no reference cycles: a collection walks for nothing
            plans.append(
                plan_repository(
                    list(spec.roots), summary, selection, wanted,
                    workers=int(config["workers"]), write=main_process, name=spec.name,
                )
            )
    comparisons = plan_comparisons(config["comparisons"], plans, target, config["metrics"])
    # the records read to plan are garbage now; the jobs run in this same process. The
    # worker processes that read them would idle 2 s beside the first jobs (~20 MB each
    # while an aggregation grows this process); an extraction starts fresh ones if it has
    # enough runs to parse (a cold build: once, ~0.1 s)
    release_freed_memory()
    close_pools()
    top = target if target is not None and len(plans) > 1 else None
    return Build(plans, locks, comparisons, top)

