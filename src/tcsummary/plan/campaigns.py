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
from ..core.files import safe_name, write_bytes, write_if_changed
from ..core.memory import gc_paused
from ..core.model import FINISHED, NO_CAMPAIGN, RunInfo, shared
from ..read.aim_reader import run_status
from ..read.discovery import RepositoryState, cache_path, discover_runs, repository_state
from ..read.inventory import artifact_problems, unreadable_problems
from ..read.shards import MergedRuns, merge_runs
from .batches import batch_manifests, batch_names
from .selection import (
    CampaignSettings,
    ConfigError,
    Selection,
    check_names,
    resolve,
    selection_names,
)

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
    #: batch -> index of the shard (in ``RepositoryPlan.roots``) whose artifacts it reads.
    batch_shards: dict[str, int] = field(default_factory=dict)

    @property
    def values(self) -> Path:
        """The snapshot's runs as comparisons read them (:func:`values_document`)."""
        return values_path(self.snapshot)

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

    def cards(self) -> list[str]:
        """Every planned campaign's card, in campaign order (what an index reads)."""
        return [str(self.card(folder)) for folder in self.campaigns]

    def manifest(self, folder: str, batch: str) -> Path:
        return self.work / folder / "inputs" / f"{batch}.json"

    def extraction(self, folder: str, batch: str) -> Path:
        return self.work / folder / "extract" / f"{batch}.json"

    def describe(self) -> str | list[str]:
        """The repository as provenance records it: its folder, or its shards."""
        return [str(r) for r in self.roots] if self.sharded else str(self.root)


def discover_repository(
    roots: Sequence[Path],
    work: Path,
    states: Sequence[RepositoryState],
    workers: int = 1,
    save: bool = True,
) -> tuple[list[dict[str, RunInfo]], MergedRuns]:
    """Every run of each shard of a (possibly sharded) repository, and the runs joined."""
    per_shard = [
        discover_runs(root, cache_path(work, roots, i), workers=workers, save=save, state=state)
        for i, (root, state) in enumerate(zip(roots, states, strict=True))
    ]
    return per_shard, merge_runs(roots, per_shard)


def _in_shard(problems: list[dict[str, str]], root: Path, sharded: bool) -> list[dict[str, str]]:
    """Problems of one shard, their paths made absolute when the repository has several."""
    return [{**p, "path": str(root / p["path"])} for p in problems] if sharded else problems


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
    When no run changed state since the last plan (:class:`PlanMemo`), the plan
    is read back instead of rebuilt from every run's record; when some did, only
    their campaigns are planned again (:func:`_replan`).
    """
    def save(path: Path, data: bytes) -> None:
        if write:
            write_if_changed(path, data)

    roots = [Path(r).resolve() for r in ([root] if isinstance(root, str | Path) else root)]
    summary = Path(summary).resolve() if summary else roots[0] / "campaign_summary"
    plan = RepositoryPlan(root=roots[0], summary=summary, roots=roots, name=name)
    states = [repository_state(r, workers) for r in roots]
    header = {
        "format": PLAN_MEMO_FORMAT, "version": __version__, "roots": [str(r) for r in roots],
        "summary": str(summary), "name": plan.name, "campaigns": campaigns,
        "selection": [selection.metrics, selection.contexts, selection.groupby],
    }
    memo = PlanMemo.load(plan.work / PLAN_MEMO, header, states)
    if memo is None or not (memo.current and memo.restore(plan)):
        asked = _Asked(plan, selection, campaigns, states, header, workers, write)
        memo = (memo and _replan(asked, memo)) or _plan_campaigns(asked)
        if write and memo.key:
            write_bytes(plan.work / PLAN_MEMO, memo.encode())
    problems: list[dict[str, str]] = []
    for i, (shard, state) in enumerate(zip(roots, states, strict=True)):
        problems += memo.unreadable[i]
        problems += _in_shard(artifact_problems(shard, state.hashes), shard, plan.sharded)
    problems += memo.merge_problems
    problems += stale_folders(roots[0], summary, set(memo.folders))
    save(plan.problems, json.dumps(problems, indent=1).encode())
    if write:
        paths, batches = [], []
        for campaign in plan.campaigns.values():
            for batch, batch_hashes in campaign.batches.items():
                artifacts = roots[campaign.batch_shards[batch]] / "artifacts"
                paths.append(plan.manifest(campaign.folder, batch))
                batches.append((str(artifacts), batch_hashes, campaign.settings.contexts))
        for path, manifest in zip(paths, batch_manifests(batches, workers), strict=True):
            save(path, manifest)
    return plan


@dataclass(frozen=True)
class _Asked:
    """What :func:`plan_repository` was asked, as both ways of planning take it."""

    plan: RepositoryPlan
    selection: Selection
    campaigns: list[str] | None
    states: list[RepositoryState]
    header: dict[str, Any]
    workers: int
    write: bool


def _plan_campaigns(asked: _Asked) -> PlanMemo:
    """Plan every campaign from the runs' records; write the snapshots that changed."""
    plan, selection, campaigns, header = asked.plan, asked.selection, asked.campaigns, asked.header
    write = asked.write
    roots = plan.roots
    per_shard, merged = discover_repository(roots, plan.work, asked.states, asked.workers,
                                            save=write)
    by_campaign = group_by_campaign(merged.runs.values())
    names = {label: _names_record(members) for label, members in by_campaign.items()}
    _check_plan(plan, selection, campaigns, names)
    memo = PlanMemo(
        header=_header_digest(header),
        key=plan_key(header, [[(h, r.state) for h, r in shard.items()] for shard in per_shard]),
        unfinished=[sorted(h for h, r in shard.items() if r.end_time is None)
                    for shard in per_shard],
        unreadable=[_in_shard(unreadable_problems(shard), root, plan.sharded)
                    for root, shard in zip(roots, per_shard, strict=True)],
        merge_problems=merged.problems,
        folders=[campaign_folder(label) for label in by_campaign],
        runs={} if plan.sharded else {
            h: [_state_digest(r.state), _label(r)] for h, r in per_shard[0].items()
        },
        names=names,
    )
    for label, members in by_campaign.items():
        if campaigns is None or label in campaigns:
            _adopt(plan, memo, *_plan_campaign(plan, label, members, selection,
                                               merged.shard_of, write))
    return memo


def _replan(asked: _Asked, previous: PlanMemo) -> PlanMemo | None:
    """The plan when some runs changed since ``previous``: only their campaigns are planned.

    Why: one new run among 10,000 had the plan decode all 10,000 cached records (~0.8 s)
    while the other campaigns' plans, snapshots and names were in the memo. A campaign is
    planned again when a run of it changed state, joined, left or was removed, or when its
    snapshot is not the one the memo made; only those runs' records are read. The result is
    the plan (and memo) :func:`_plan_campaigns` makes from every record; None when the memo
    cannot tell (a sharded repository, an older memo), and the caller plans everything.
    """
    plan, selection, campaigns, header = asked.plan, asked.selection, asked.campaigns, asked.header
    workers, write = asked.workers, asked.write
    if plan.sharded or not previous.runs:
        return None
    state = asked.states[0]
    current = set(state.hashes)
    changed = {
        h for h in state.hashes
        if not previous.assumed.get(h)
        or _state_digest(previous.assumed[h]) != previous.runs.get(h, ("",))[0]
    }
    removed = [h for h in previous.runs if h not in current]
    labels: dict[str, str | None] = {h: label for h, (_, label) in previous.runs.items()}
    affected = {labels[h] for h in (*changed, *removed) if labels.get(h) is not None}
    affected |= {
        c.label for c in previous.campaigns
        if not snapshot_is_current(c.snapshot, previous.snapshot_states.get(c.folder, ""))
    }
    root, cache = plan.roots[0], cache_path(plan.work, plan.roots, 0)
    fresh = discover_runs(root, cache, workers, save=write, state=state,
                          only=changed) if changed else {}
    for h in removed:
        del labels[h]
    for h, run in fresh.items():
        labels[h] = _label(run)
        if labels[h] is not None:
            affected.add(labels[h])
    all_labels = sorted({lb for lb in labels.values() if lb is not None}, key=campaign_sort_key)
    kept = {c.label: c for c in previous.campaigns}
    selected = [lb for lb in all_labels if campaigns is None or lb in campaigns]
    if any(lb not in affected and lb not in kept for lb in selected) or any(
            lb not in affected and lb not in previous.names for lb in all_labels):
        return None
    wanted = {h for h in state.hashes if h not in fresh and labels[h] in affected}
    records = {**discover_runs(root, cache, workers, save=write, state=state, only=wanted),
               **fresh} if wanted else fresh
    by_campaign = group_by_campaign(records.values())
    names = {lb: _names_record(by_campaign[lb]) if lb in affected else previous.names[lb]
             for lb in all_labels}
    _check_plan(plan, selection, campaigns, names)
    run_states = [(h, fresh[h].state if h in fresh else previous.assumed[h])
                  for h in state.hashes]
    was_open = set(previous.unfinished[0])
    position = {h: i for i, h in enumerate(state.hashes)}
    unreadable = [p for p in previous.unreadable[0] if p["hash"] in current
                  and p["hash"] not in fresh] + unreadable_problems(fresh)
    memo = PlanMemo(
        header=_header_digest(header),
        key=plan_key(header, [run_states]),
        unfinished=[sorted(h for h in state.hashes
                           if (fresh[h].end_time is None if h in fresh else h in was_open))],
        unreadable=[sorted(unreadable, key=lambda p: position[p["hash"]])],
        merge_problems=[],
        folders=[campaign_folder(label) for label in all_labels],
        runs={h: [_state_digest(s), labels[h]] for h, s in run_states},
        names=names,
    )
    for label in selected:
        if label in affected:
            _adopt(plan, memo, *_plan_campaign(plan, label, by_campaign[label], selection, {},
                                               write))
        else:
            folder = kept[label].folder
            _adopt(plan, memo, kept[label], previous.snapshot_states.get(folder, ""))
    return memo


def _plan_campaign(
    plan: RepositoryPlan,
    label: str,
    members: list[RunInfo],
    selection: Selection,
    shard_of: dict[str, int],
    write: bool,
) -> tuple[CampaignPlan, str]:
    """One campaign's plan from its runs' records, and its snapshot's state (written if new)."""
    finished = [r for r in members if r.status == FINISHED]
    settings = resolve(selection, members)
    folder = campaign_folder(label)
    key = split_key(finished)
    hashes = [r.hash for r in members]
    batches = shard_batches(hashes, shard_of, len(plan.roots))
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
        batch_shards={batch: shard for batch, (shard, _) in batches.items()},
    )
    chosen = {
        "metrics": list(settings.metrics),
        "contexts": list(settings.contexts),
        "groupby": list(settings.groupby),
    }
    state = snapshot_state(label, chosen, members)
    if not snapshot_is_current(campaign.snapshot, state):
        document = {
            "campaign": label,
            "settings": chosen,
            "runs": [r.to_record() for r in members],
        }
        data = _encode(document)
        if write:
            write_if_changed(campaign.snapshot, data)
            values = values_document(label, document["runs"], data)
            write_if_changed(campaign.values, _encode(values))
            state_file = campaign.snapshot.with_suffix(".state")
            if state:
                write_if_changed(state_file, state.encode())
            else:  # what the snapshot now holds is of no known state: never trust it
                state_file.unlink(missing_ok=True)
    return campaign, state


def _adopt(plan: RepositoryPlan, memo: PlanMemo, campaign: CampaignPlan, state: str) -> None:
    """Put a planned campaign into the plan and its memo."""
    if not state:
        memo.key = ""  # a run's state is unknown: nothing to compare a later plan with
    plan.campaigns[campaign.folder] = campaign
    memo.campaigns.append(campaign)
    memo.snapshot_states[campaign.folder] = state


def _label(run: RunInfo) -> str | None:
    """The campaign a run belongs to; None for a run whose Aim metadata is unreadable."""
    return None if run.unreadable else run.campaign


def _names_record(members: Sequence[RunInfo]) -> list[list[str]]:
    """A campaign's metric, context and hparam names, as the memo keeps them."""
    return [sorted(names) for names in selection_names(members)]


def _check_plan(
    plan: RepositoryPlan,
    selection: Selection,
    campaigns: list[str] | None,
    names: dict[str, list[list[str]]],
) -> None:
    """Fail when the selection or the campaigns asked for name what the repository lacks.

    ``names``: each campaign's :func:`_names_record` (the repository's readable runs).
    """
    where = str(plan.roots[0]) if not plan.sharded else f"repository {plan.name}"
    if names:
        found = tuple(set().union(*(record[i] for record in names.values())) for i in range(3))
        check_names(selection, found, where=where)
    if campaigns is not None:
        unknown = sorted(set(campaigns) - set(names))
        if unknown:
            raise ConfigError(
                f"{where}: unknown campaign {', '.join(map(repr, unknown))}; the repository "
                f"has: {', '.join(sorted(names)) or 'none'}"
            )


#: The plan memo's file in the work folder (see :class:`PlanMemo`).
PLAN_MEMO = "plan.json"
#: Bump when what the plan memo stores changes shape.
PLAN_MEMO_FORMAT = 3


def _header_digest(header: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(header, sort_keys=True).encode()).hexdigest()


def _state_digest(state: str) -> str:
    """A run's state (:meth:`RepositoryState.run_state`) as the memo keeps it ("" unknown)."""
    return hashlib.blake2b(state.encode(), digest_size=8).hexdigest() if state else ""


def plan_key(header: dict[str, Any], shards: list[list[tuple[str, str]]]) -> str:
    """A digest of everything a repository's plan is made of; empty when a run's is unknown.

    ``shards``: per shard, each run's hash and state (RocksDB fingerprint, status,
    SQLite row; :meth:`RepositoryState.run_state`).
    """
    parts = [json.dumps(header, sort_keys=True)]
    for index, runs in enumerate(shards):
        parts.append(f"shard {index}")
        for run_hash, state in runs:
            if not state:
                return ""
            parts.append(f"{run_hash}={state}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclass
class PlanMemo:
    """A repository's plan as of its runs' states, so a no-op need not read every record.

    Loading a 10,000-run discovery cache and rebuilding the runs costs ~1 s on
    every invocation, while the plan (campaigns, their runs, settings, batches)
    depends only on the runs' states, the selection and the folders. When those
    digest to the memo's :attr:`key` the plan is read back from it. What can
    change without any run changing (artifact folders, stale report folders,
    batch manifests) is recomputed either way. When some runs changed, the memo
    still says which campaigns the others belong to (:func:`_replan`). A memo
    only: anything wrong with it costs time, never correctness.
    """

    key: str
    #: per shard, the runs without an end time (their status is decided afresh).
    unfinished: list[list[str]]
    #: per shard, the problems of unreadable runs; then the problems of merging shards.
    unreadable: list[list[dict[str, str]]]
    merge_problems: list[dict[str, str]]
    #: the folder of every campaign of the repository (selected or not).
    folders: list[str] = field(default_factory=list)
    campaigns: list[CampaignPlan] = field(default_factory=list)
    #: campaign folder -> the digest its snapshot was written with.
    snapshot_states: dict[str, str] = field(default_factory=dict)
    #: :func:`_header_digest` of what the plan was asked (selection, folders, campaigns).
    header: str = ""
    #: run hash -> [a digest of its state, its campaign or None when unreadable]: what lets
    #: a change re-plan only the campaigns it touches (:func:`_replan`). Empty when sharded.
    runs: dict[str, list[Any]] = field(default_factory=dict)
    #: campaign -> its runs' metric, context and hparam names (:func:`_names_record`), for
    #: the selection check without every record; every campaign, selected or not.
    names: dict[str, list[list[str]]] = field(default_factory=dict)
    #: as loaded: whether the runs are in the states the memo was made for, and each run's
    #: state assuming the statuses the memo knew (the runs it saw finished still are).
    current: bool = field(default=False, compare=False)
    assumed: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def encode(self) -> bytes:
        record = {
            "header": self.header,
            "key": self.key,
            "unfinished": self.unfinished,
            "unreadable": self.unreadable,
            "merge_problems": self.merge_problems,
            "folders": self.folders,
            "campaigns": [_campaign_record(c) for c in self.campaigns],
            "snapshot_states": self.snapshot_states,
            "runs": self.runs,
            "names": self.names,
        }
        return json.dumps(record, separators=(",", ":"), default=str).encode()

    @classmethod
    def load(
        cls, path: Path, header: dict[str, Any], states: Sequence[RepositoryState]
    ) -> PlanMemo | None:
        """The memo at ``path`` made with this ``header``, else None; :attr:`current` tells
        whether the runs are still in the states it was made for."""
        try:
            record = json.loads(path.read_bytes())
            if record["header"] != _header_digest(header):
                return None
            unfinished = record["unfinished"]
            if len(unfinished) != len(states):
                return None
            shards = []
            for state, open_runs in zip(states, unfinished, strict=True):
                still_open = set(open_runs)
                shards.append([
                    (h, state.run_state(
                        h, run_status(state.aim_dir, h, None) if h in still_open else FINISHED
                    ))
                    for h in state.hashes
                ])
            key = plan_key(header, shards)
            return cls(
                key=record["key"],
                unfinished=unfinished,
                unreadable=record["unreadable"],
                merge_problems=record["merge_problems"],
                folders=list(record["folders"]),
                campaigns=[_campaign_from_record(c) for c in record["campaigns"]],
                snapshot_states=record["snapshot_states"],
                header=record["header"],
                runs=record["runs"],
                names=record["names"],
                current=bool(key) and key == record["key"],
                assumed=dict(shards[0]) if len(shards) == 1 else {},
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def restore(self, plan: RepositoryPlan) -> bool:
        """Put the memo's campaigns into ``plan`` if every snapshot is still the one it made."""
        for campaign in self.campaigns:
            state = self.snapshot_states.get(campaign.folder, "")
            if not snapshot_is_current(campaign.snapshot, state):
                return False
        plan.campaigns = {c.folder: c for c in self.campaigns}
        return True


def _campaign_record(campaign: CampaignPlan) -> dict[str, Any]:
    return {
        "label": campaign.label,
        "folder": campaign.folder,
        "runs": campaign.runs,
        "settings": [campaign.settings.metrics, campaign.settings.contexts,
                     campaign.settings.groupby],
        "batches": campaign.batches,
        "split_key": campaign.split_key,
        "split_values": campaign.split_values,
        "snapshot": str(campaign.snapshot),
        "contexts_found": campaign.contexts_found,
        "hparams": campaign.hparams,
        "batch_shards": campaign.batch_shards,
    }


def _campaign_from_record(record: dict[str, Any]) -> CampaignPlan:
    metrics, contexts, groupby = record["settings"]
    return CampaignPlan(
        label=record["label"],
        folder=record["folder"],
        runs=list(record["runs"]),
        settings=CampaignSettings(tuple(metrics), tuple(contexts), tuple(groupby)),
        batches={b: list(hs) for b, hs in record["batches"].items()},
        split_key=record["split_key"],
        # hparam values as RunInfo holds them: JSON lists are tuples there
        split_values=[tuple(v) if isinstance(v, list) else v for v in record["split_values"]],
        snapshot=Path(record["snapshot"]),
        contexts_found=tuple(record["contexts_found"]),
        hparams=tuple(record["hparams"]),
        batch_shards={b: int(i) for b, i in record["batch_shards"].items()},
    )


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


def snapshot_is_current(snapshot: Path, state: str) -> bool:
    """Whether ``snapshot`` and its values file exist and were written for ``state``
    (never when state is unknown)."""
    return (bool(state) and snapshot.exists() and values_path(snapshot).exists()
            and _read(snapshot.with_suffix(".state")) == state)


#: Beside each snapshot: its runs as comparisons read them.
VALUES_FILE = "values.json"


def values_path(snapshot: Path) -> Path:
    return snapshot.with_name(VALUES_FILE)


def values_document(label: str, records: list[dict[str, Any]], snapshot: bytes) -> dict[str, Any]:
    """A snapshot's runs cut to what a comparison reads: hash, status, hparams, final values.

    Why a second file: a comparison needs nothing else of a run, and parsing the whole
    snapshot of a 2,500-run campaign (every field, every metric's step) took 0.09 s against
    0.03 s for this; the 10,000-run benchmark's two comparisons parse six. Values are one
    list per run aligned with ``columns`` (``[metric, context]``, sorted as the snapshot's
    records are), ``null`` where a run has none; ``snapshot_sha256`` is the snapshot's, for
    the comparison's provenance. Written with the snapshot, from the same records.
    """
    columns = sorted({(metric, context) for r in records for metric, context, _, _ in r["metrics"]})
    where = {key: i for i, key in enumerate(columns)}
    runs = []
    for record in records:
        values: list[Any] = [None] * len(columns)
        for metric, context, value, _ in record["metrics"]:
            values[where[(metric, context)]] = value
        runs.append([record["hash"], record["status"], record["hparams"], values])
    return {
        "campaign": label,
        "snapshot_sha256": hashlib.sha256(snapshot).hexdigest(),
        "columns": [list(key) for key in columns],
        "runs": runs,
    }


def _encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str).encode()


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
    """A campaign's snapshot, or its values file (:func:`values_document`).

    A snapshot's metric and context names, statuses and hparam values repeat in every run;
    JSON decoding makes a string per occurrence, so they are shared here (a 2,500-run
    campaign held ~110,000 copies: ~6 MB of its aggregation's peak).
    """
    with gc_paused():
        document = json.loads(Path(path).read_bytes())
        for run in document.get("runs", ()):
            if isinstance(run, dict):
                _share_repeats(run)
    return document


def _share_repeats(run: dict[str, Any]) -> None:
    for entry in run.get("metrics", ()):
        entry[0], entry[1] = shared(entry[0]), shared(entry[1])
    for key in ("status", "experiment"):
        if key in run:
            run[key] = shared(run[key])
    hparams = run.get("hparams")
    if isinstance(hparams, dict):
        for key, value in hparams.items():
            hparams[key] = shared(value)
