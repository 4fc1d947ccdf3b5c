"""Campaigns of a repository: which runs each has, its folder, snapshot and tcbench split.

Called at parse time through :func:`plan.build.plan_build` (and by the CLI for
the grouping). It discovers the runs (:mod:`read.discovery`), groups them by
campaign (:func:`group_by_campaign`, the one definition of "the runs of a
campaign") and writes one *campaign snapshot* per campaign: the Aim side of its
runs as JSON, rewritten only when its content changes. The snapshot is an input
of the campaign's aggregation, so Snakemake's own mtime logic reruns exactly
the campaigns whose Aim data changed; the batch manifests (:mod:`plan.batches`)
do the same for the artifact files.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..core.files import safe_name, write_if_changed
from ..core.model import FINISHED, NO_CAMPAIGN, RunInfo
from ..read.discovery import cache_path, discover_runs
from ..read.inventory import repository_problems
from ..read.shards import MergedRuns, merge_runs
from .batches import batch_manifest, batch_names
from .selection import CampaignSettings, ConfigError, Selection, check_selection, resolve

#: Intermediate files live here, inside the output folder (never in .aim or artifacts).
WORK_DIR = ".tcsummary"


def campaign_sort_key(label: str) -> tuple[int, str]:
    """Real campaigns first (numeric ids in numeric order), the no-campaign group last."""
    if label == NO_CAMPAIGN:
        return (2, "")
    return (0, label.rjust(32)) if label.isdigit() else (1, label)


def group_by_campaign(runs: Iterable[RunInfo]) -> dict[str, list[RunInfo]]:
    """Campaign label -> its runs (by hash), campaigns in :func:`campaign_sort_key` order.

    Runs without ``campaign_id`` form :data:`NO_CAMPAIGN`; runs whose Aim metadata
    cannot be read belong to no campaign (they are repository problems instead).
    """
    groups: dict[str, list[RunInfo]] = {}
    for run in runs:
        if not run.unreadable:
            groups.setdefault(run.campaign, []).append(run)
    return {
        label: sorted(groups[label], key=lambda r: r.hash)
        for label in sorted(groups, key=campaign_sort_key)
    }


def campaign_folder(label: str) -> str:
    """The folder of a campaign under the output folder; runs without campaign_id get their own."""
    return "_no_campaign" if label == NO_CAMPAIGN else safe_name(label)


#: Files that mark a folder of the output as a campaign report tcsummary wrote.
REPORT_MARKERS = ("report.html", "runs.csv", "provenance.json")
#: How problems.json starts the problem of a report folder no campaign writes any more.
STALE_FOLDER = "stale campaign folder"
#: The folder (under the output) that holds one folder per named comparison.
COMPARISONS = "comparisons"
#: Folders of the output folder that are not campaign reports.
RESERVED_FOLDERS = frozenset({WORK_DIR, COMPARISONS})


def stale_folders(root: Path, summary: Path, current: set[str]) -> list[dict[str, str]]:
    """Report folders in the output that no campaign of the repository writes any more.

    A renamed campaign id, or another repository built into the same output,
    leaves them behind. They are listed, never deleted: the build did not write them.
    """
    try:
        entries = sorted(os.scandir(summary), key=lambda e: e.name)
    except OSError:
        return []
    found = []
    for entry in entries:
        if entry.name in current or entry.name in RESERVED_FOLDERS or not entry.is_dir():
            continue
        if not any(os.path.lexists(Path(entry.path) / m) for m in REPORT_MARKERS):
            continue
        path = Path(entry.path)
        shown = path.relative_to(root) if root in path.parents else path
        found.append({
            "hash": "",
            "path": str(shown),
            "problem": f"{STALE_FOLDER}: no campaign of this repository writes it any "
            "more (a renamed campaign id, or another repository's reports); left as it is",
        })
    return found


def split_key(runs: list[RunInfo]) -> str:
    """The hparam tcbench splits summaries by: flowpic_dim, or max_n_pkts (xgboost, pktseries)."""
    if runs and all(r.hparams.get("flow_representation") == "pktseries" for r in runs):
        return "max_n_pkts"
    return "flowpic_dim"


def split_values(runs: list[RunInfo], key: str) -> list[Any]:
    values = {r.hparams[key] for r in runs if r.hparams.get(key) is not None}
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


@dataclass
class CampaignPlan:
    label: str
    folder: str
    runs: list[str]
    settings: CampaignSettings
    batches: dict[str, list[str]]
    split_key: str
    split_values: list[Any]
    snapshot: Path
    #: contexts with a tracked metric in some run, and every hparam name (what comparisons check).
    contexts_found: tuple[str, ...] = ()
    hparams: tuple[str, ...] = ()

    @property
    def tcbench_files(self) -> list[str]:
        names = []
        for value in self.split_values:
            names += [f"summary_{self.split_key}_{value}.csv",
                      f"runsinfo_{self.split_key}_{value}.parquet"]
        return names


@dataclass
class RepositoryPlan:
    """One logical repository of a build: its folder (or shards), output folder, campaigns."""

    root: Path
    summary: Path
    campaigns: dict[str, CampaignPlan] = field(default_factory=dict)
    #: every folder read as this repository (one, or its shards in the configured order).
    roots: list[Path] = field(default_factory=list)
    #: the name comparisons and the index use (the folder name unless configured).
    name: str = ""

    def __post_init__(self) -> None:
        self.roots = self.roots or [self.root]
        self.name = self.name or self.root.name

    @property
    def sharded(self) -> bool:
        return len(self.roots) > 1

    @property
    def work(self) -> Path:
        return self.summary / WORK_DIR

    @property
    def problems(self) -> Path:
        """Problems that belong to no campaign (JSON, rewritten only on change)."""
        return self.work / "problems.json"

    def card(self, folder: str) -> Path:
        """The campaign's line of the index (written by its aggregation)."""
        return self.work / folder / "card.json"

    def manifest(self, folder: str, batch: str) -> Path:
        return self.work / folder / "inputs" / f"{batch}.json"

    def extraction(self, folder: str, batch: str) -> Path:
        return self.work / folder / "extract" / f"{batch}.json"

    def describe(self) -> str | list[str]:
        """The repository as provenance records it: its folder, or its shards."""
        return [str(r) for r in self.roots] if self.sharded else str(self.root)


def discover_repository(
    roots: Sequence[Path], work: Path, workers: int = 1, save: bool = True
) -> tuple[MergedRuns, list[dict[str, str]]]:
    """Every run of a (possibly sharded) repository, and the problems outside any campaign."""
    per_shard = [
        discover_runs(root, cache_path=cache_path(work, roots, i), workers=workers, save=save)
        for i, root in enumerate(roots)
    ]
    merged = merge_runs(roots, per_shard)
    problems = []
    for root, runs in zip(roots, per_shard, strict=True):
        found = repository_problems(root, runs)
        if len(roots) > 1:
            found = [{**p, "path": str(root / p["path"])} for p in found]
        problems += found
    return merged, problems + merged.problems


def plan_repository(
    root: Path | str | Sequence[Path | str],
    summary: Path | str | None,
    selection: Selection,
    campaigns: list[str] | None = None,
    workers: int = 1,
    write: bool = True,
    name: str = "",
) -> RepositoryPlan:
    """Discover, group, resolve and write the campaign snapshots of one repository.

    ``root`` is one folder, or the list of shards read as one repository.
    ``write=False`` plans without writing anything: a cluster job re-parses the
    workflow and must see the files the main process wrote, not rewrite them.
    """
    def save(path: Path, data: bytes) -> None:
        if write:
            write_if_changed(path, data)

    roots = [Path(r).resolve() for r in ([root] if isinstance(root, str | Path) else root)]
    summary = Path(summary).resolve() if summary else roots[0] / "campaign_summary"
    plan = RepositoryPlan(root=roots[0], summary=summary, roots=roots, name=name)
    merged, problems = discover_repository(roots, plan.work, workers=workers, save=write)
    runs = merged.runs
    readable = [r for r in runs.values() if not r.unreadable]
    where = str(roots[0]) if len(roots) == 1 else f"repository {plan.name}"
    if readable:
        check_selection(selection, readable, where=where)
    by_campaign = group_by_campaign(runs.values())
    problems += stale_folders(roots[0], summary, {campaign_folder(lb) for lb in by_campaign})
    save(plan.problems, json.dumps(problems, indent=1).encode())
    if campaigns is not None:
        unknown = sorted(set(campaigns) - set(by_campaign))
        if unknown:
            raise ConfigError(
                f"{where}: unknown campaign {', '.join(map(repr, unknown))}; the repository "
                f"has: {', '.join(sorted(by_campaign)) or 'none'}"
            )
    for label, members in by_campaign.items():
        if campaigns is not None and label not in campaigns:
            continue
        finished = [r for r in members if r.status == FINISHED]
        settings = resolve(selection, members)
        folder = campaign_folder(label)
        key = split_key(finished)
        hashes = [r.hash for r in members]
        batches = shard_batches(hashes, merged.shard_of, len(roots))
        campaign = CampaignPlan(
            label=label,
            folder=folder,
            runs=hashes,
            settings=settings,
            batches={batch: in_batch for batch, (_, in_batch) in batches.items()},
            split_key=key,
            split_values=split_values(finished, key),
            snapshot=plan.work / folder / "snapshot.json",
            contexts_found=tuple(sorted({c for r in members for _, c in r.metrics if c})),
            hparams=tuple(sorted({k for r in members for k in r.hparams})),
        )
        chosen = {
            "metrics": list(settings.metrics),
            "contexts": list(settings.contexts),
            "groupby": list(settings.groupby),
        }
        state = snapshot_state(label, chosen, members)
        state_file = campaign.snapshot.with_suffix(".state")
        if not (state and campaign.snapshot.exists() and _read(state_file) == state):
            document = {
                "campaign": label,
                "settings": chosen,
                "runs": [r.to_record() for r in members],
            }
            data = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
            save(campaign.snapshot, data.encode())
            if state:
                save(state_file, state.encode())
        if write:
            for batch, (shard, batch_hashes) in batches.items():
                artifacts = roots[shard] / "artifacts"
                manifest = batch_manifest(artifacts, batch_hashes, settings.contexts)
                save(plan.manifest(folder, batch), manifest)
        plan.campaigns[folder] = campaign
    return plan


#: Bump when a campaign snapshot's content changes for the same runs (its format).
SNAPSHOT_FORMAT = 1


def snapshot_state(label: str, settings: dict[str, Any], members: list[RunInfo]) -> str:
    """A digest of everything a campaign's snapshot is made of; empty when a run's is unknown.

    Rebuilding and comparing the snapshot of a 2,500-run campaign costs ~0.4 s on every
    invocation; when no member changed state (same RocksDB files, SQLite row and status)
    and the settings are the same, the snapshot on disk is already right.
    """
    if any(not r.state for r in members):
        return ""
    parts = [f"{SNAPSHOT_FORMAT}", __version__, label, json.dumps(settings, sort_keys=True)]
    parts += [f"{r.hash}={r.state}" for r in members]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def shard_batches(
    hashes: list[str], shard_of: dict[str, int], shards: int
) -> dict[str, tuple[int, list[str]]]:
    """Extraction batches, each within one shard (a batch reads one artifacts folder)."""
    if shards == 1:
        return {name: (0, members) for name, members in batch_names(hashes).items()}
    found: dict[str, tuple[int, list[str]]] = {}
    for shard in range(shards):
        mine = [h for h in hashes if shard_of[h] == shard]
        for name, members in batch_names(mine).items():
            found[f"shard{shard}-{name}"] = (shard, members)
    return found


def read_snapshot(path: Path | str) -> dict[str, Any]:
    return json.loads(Path(path).read_bytes())
