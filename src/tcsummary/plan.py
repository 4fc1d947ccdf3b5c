"""Parse-time planning: which campaigns, runs, batches and files a build involves.

Called from ``workflow/rules/common.smk`` when Snakemake builds its DAG (and by
the CLI). It discovers the runs (see :mod:`snapshot`), groups them by campaign
and writes one *campaign snapshot* per campaign: the Aim side of its runs as
JSON, rewritten only when its content changes. The snapshot is an input of the
campaign's aggregation, so Snakemake's own mtime logic reruns exactly the
campaigns whose Aim data changed; per-run artifact files are inputs of the
extraction batches, so an edited CSV reruns its batch and its campaign.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .aim_reader import RUN_HASH
from .atomic import write_if_changed
from .extract import wanted_files
from .model import FINISHED, NO_CAMPAIGN, UNREADABLE, RunInfo
from .settings import CampaignSettings, ConfigError, Selection, check_selection, resolve
from .snapshot import discover_runs

#: Intermediate files live here, inside the output folder (never in .aim or artifacts).
WORK_DIR = ".tcsummary"
#: Runs per extraction job before a campaign is split into batches by hash prefix.
BATCH_RUNS = 1000
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def safe_name(text: str) -> str:
    """A file or folder name for any text that can never leave its parent folder.

    Plain names (tcbench's epoch campaign ids) are kept as they are; anything
    else (slashes, ``..``, spaces, unicode) is reduced to safe characters and
    made unique with a short hash of the original text.
    """
    if _SAFE_NAME.match(text) and ".." not in text:
        return text
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:60] or "x"
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"{safe}-{digest}"


def campaign_folder(label: str) -> str:
    """The folder of a campaign under the output folder; runs without campaign_id get their own."""
    return "_no_campaign" if label == NO_CAMPAIGN else safe_name(label)


def batch_names(hashes: list[str]) -> dict[str, list[str]]:
    """Split a campaign's runs into extraction batches by hash prefix (stable as runs arrive)."""
    digits = 0
    while len(hashes) > BATCH_RUNS * 16**digits and digits < 3:
        digits += 1
    batches: dict[str, list[str]] = {}
    for run_hash in hashes:
        batches.setdefault(run_hash[:digits] or "all", []).append(run_hash)
    return batches


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

    @property
    def tcbench_files(self) -> list[str]:
        names = []
        for value in self.split_values:
            names += [f"summary_{self.split_key}_{value}.csv",
                      f"runsinfo_{self.split_key}_{value}.parquet"]
        return names


@dataclass
class RepositoryPlan:
    root: Path
    summary: Path
    campaigns: dict[str, CampaignPlan] = field(default_factory=dict)

    @property
    def work(self) -> Path:
        return self.summary / WORK_DIR

    @property
    def problems(self) -> Path:
        """Problems that belong to no campaign (JSON, rewritten only on change)."""
        return self.work / "problems.json"

    def manifest(self, folder: str, batch: str) -> Path:
        return self.work / folder / "inputs" / f"{batch}.json"

    def extraction(self, folder: str, batch: str) -> Path:
        return self.work / folder / "extract" / f"{batch}.json"


def batch_manifest(artifacts: Path, hashes: list[str], contexts: tuple[str, ...]) -> bytes:
    """Name, size and mtime of every artifact file a batch's extraction reads.

    The extraction job's one input, rewritten only when a file appears,
    disappears or changes. Declaring the thousands of CSVs themselves would make
    Snakemake stat every one of them in every scheduling round (measured: 16 s
    of a 25 s build at 1,000 runs); this file carries the same information.
    """
    wanted = wanted_files(contexts)
    runs: dict[str, Any] = {}
    for run_hash in hashes:
        try:
            found = {entry.name: entry for entry in os.scandir(artifacts / run_hash)}
        except OSError:  # no folder (or not a readable one): extraction says which
            runs[run_hash] = None
            continue
        entries = []
        for name in wanted:
            if name not in found:
                continue
            try:
                stat = found[name].stat()  # follows symlinks, like reading the file
            except OSError:
                entries.append([name, None, None])
                continue
            entries.append([name, stat.st_size, stat.st_mtime_ns])
        runs[run_hash] = entries
    document = {"artifacts": str(artifacts), "contexts": list(contexts), "runs": runs}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def repository_problems(root: Path, runs: dict[str, RunInfo]) -> list[dict[str, str]]:
    """What is wrong outside any campaign: unreadable runs, orphan or stray artifact entries."""
    problems = []
    for run in runs.values():
        if run.unreadable:
            reason = next(p for p in run.problems if p.startswith(UNREADABLE))
            problems.append({
                "hash": run.hash,
                "path": f".aim/meta/chunks/{run.hash}",
                "problem": f"{reason}; its campaign is unknown, so it is in no report",
            })
    artifacts = root / "artifacts"
    try:
        entries = sorted(os.scandir(artifacts), key=lambda e: e.name)
    except OSError:
        entries = []
    for entry in entries:
        if not RUN_HASH.match(entry.name):
            problems.append({
                "hash": "",
                "path": f"artifacts/{entry.name}",
                "problem": "not a run folder (the name is not a 24-character run hash)",
            })
        elif entry.name not in runs:
            problems.append({
                "hash": entry.name,
                "path": f"artifacts/{entry.name}",
                "problem": "artifact folder without an Aim run (the run was deleted or "
                "never reached Aim); not in any report",
            })
    return problems


def plan_repository(
    root: Path | str,
    summary: Path | str | None,
    selection: Selection,
    campaigns: list[str] | None = None,
    workers: int = 1,
    write: bool = True,
) -> RepositoryPlan:
    """Discover, group, resolve and write the campaign snapshots of one repository.

    ``write=False`` plans without writing anything: a cluster job re-parses the
    workflow and must see the files the main process wrote, not rewrite them.
    """
    def save(path: Path, data: bytes) -> None:
        if write:
            write_if_changed(path, data)

    root = Path(root).resolve()
    summary = Path(summary).resolve() if summary else root / "campaign_summary"
    plan = RepositoryPlan(root=root, summary=summary)
    runs = discover_runs(
        root, cache_path=plan.work / "aim-cache.json", workers=workers, save=write
    )
    readable = [r for r in runs.values() if not r.unreadable]
    if readable:
        check_selection(selection, readable, where=str(root))
    problems = repository_problems(root, runs)
    save(plan.problems, json.dumps(problems, indent=1).encode())
    by_campaign: dict[str, list[RunInfo]] = {}
    for run in runs.values():
        if not run.unreadable:
            by_campaign.setdefault(run.campaign, []).append(run)
    if campaigns is not None:
        unknown = sorted(set(campaigns) - set(by_campaign))
        if unknown:
            raise ConfigError(
                f"{root}: unknown campaign {', '.join(map(repr, unknown))}; the repository "
                f"has: {', '.join(sorted(by_campaign)) or 'none'}"
            )
    for label in sorted(by_campaign):
        if campaigns is not None and label not in campaigns:
            continue
        members = sorted(by_campaign[label], key=lambda r: r.hash)
        finished = [r for r in members if r.status == FINISHED]
        settings = resolve(selection, members)
        folder = campaign_folder(label)
        key = split_key(finished)
        campaign = CampaignPlan(
            label=label,
            folder=folder,
            runs=[r.hash for r in members],
            settings=settings,
            batches=batch_names([r.hash for r in members]),
            split_key=key,
            split_values=split_values(finished, key),
            snapshot=plan.work / folder / "snapshot.json",
        )
        document = {
            "campaign": label,
            "settings": {
                "metrics": list(settings.metrics),
                "contexts": list(settings.contexts),
                "groupby": list(settings.groupby),
            },
            "runs": [r.to_record() for r in members],
        }
        data = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str).encode()
        save(campaign.snapshot, data)
        if write:
            for batch, hashes in campaign.batches.items():
                manifest = batch_manifest(root / "artifacts", hashes, settings.contexts)
                save(plan.manifest(folder, batch), manifest)
        plan.campaigns[folder] = campaign
    return plan


def read_snapshot(path: Path | str) -> dict[str, Any]:
    return json.loads(Path(path).read_bytes())
