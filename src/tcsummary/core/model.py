"""The run model: what a run, an artifact folder and a repository scan are, as plain data.

They hold only plain Python values (no Aim objects, no open files), so a scan
can be pickled between processes, cached, and compared in tests.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Run status values, in the order a report lists them.
FINISHED = "finished"
ACTIVE = "active"
UNFINISHED = "unfinished"
STATUSES = (FINISHED, ACTIVE, UNFINISHED)

#: Label of the group of runs that carry no ``campaign_id`` hparam.
NO_CAMPAIGN = "(no campaign)"
#: Label of runs whose Aim metadata cannot be read: they belong to no campaign's report.
UNKNOWN_CAMPAIGN = "(campaign unknown)"

#: How a run whose metadata container cannot be read is marked (its campaign is unknown).
UNREADABLE = "Aim metadata unreadable"
#: How a run with RocksDB data but no row in Aim's SQLite run table is marked.
MISSING_FROM_SQLITE = "run is missing from Aim's run_metadata.sqlite"

#: hparams that identify a run inside a campaign rather than describe it.
CAMPAIGN_KEYS = ("campaign_id", "campaign_exp_idx")


def is_replicate_key(name: str) -> bool:
    """hparams that replicate a configuration rather than define it (seeds and splits)."""
    return name == "split_index" or name.endswith("seed")


@dataclass(frozen=True, slots=True)
class MetricValue:
    """The last value of one tracked (metric, context) series and its step."""

    value: float
    step: int


@functools.lru_cache(maxsize=4096)
def metric_key(metric: str, context: str) -> tuple[str, str]:
    """The one shared ``(metric, context)`` tuple, its strings interned.

    Runs of a repository track the same few dozen series: sharing the keys (and the name
    strings) instead of holding a copy per run is ~1/3 of a run's memory, 40 MB at 10,000
    runs, which planning holds all at once.
    """
    return (sys.intern(metric), sys.intern(context))


def shared(value: Any) -> Any:
    """``value`` with a string interned (hparam names and values repeat across runs)."""
    return sys.intern(value) if type(value) is str else value


@dataclass(slots=True)
class RunInfo:
    """What Aim knows about one run (its own containers plus the SQLite row)."""

    hash: str
    name: str | None = None
    experiment: str | None = None
    creation_time: float | None = None
    end_time: float | None = None
    status: str = UNFINISHED
    description: str | None = None
    archived: bool = False
    tags: tuple[str, ...] = ()
    hparams: dict[str, Any] = field(default_factory=dict)
    #: (metric, context) -> last value; context "" for metrics tracked without one.
    metrics: dict[tuple[str, str], MetricValue] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    #: What :meth:`to_record` is a function of, as discovery saw it (the fingerprint of the
    #: run's RocksDB files, its SQLite row, its status); empty when unknown. Lets a campaign
    #: whose runs all kept their state skip rebuilding its snapshot.
    state: str = field(default="", repr=False, compare=False)

    @property
    def campaign_id(self) -> str | None:
        """The campaign this run belongs to, as a string (tcbench writes epoch strings)."""
        value = self.hparams.get("campaign_id")
        return None if value is None else str(value)

    @property
    def campaign(self) -> str:
        """The campaign id, :data:`NO_CAMPAIGN`, or :data:`UNKNOWN_CAMPAIGN` if unreadable."""
        if self.unreadable:
            return UNKNOWN_CAMPAIGN
        return self.campaign_id if self.campaign_id is not None else NO_CAMPAIGN

    @property
    def unreadable(self) -> bool:
        """True when Aim's metadata of the run could not be read (so its campaign is unknown)."""
        return any(p.startswith(UNREADABLE) for p in self.problems)

    @property
    def duration(self) -> float | None:
        """Seconds from creation to end, as tcbench's ``run_duration``; None while unfinished."""
        if self.creation_time is None or self.end_time is None:
            return None
        return self.end_time - self.creation_time

    def to_record(self) -> dict[str, Any]:
        """The run as plain JSON data (the discovery cache and campaign snapshots store it)."""
        return {
            "hash": self.hash,
            "name": self.name,
            "description": self.description,
            "archived": self.archived,
            "experiment": self.experiment,
            "tags": list(self.tags),
            "creation_time": self.creation_time,
            "end_time": self.end_time,
            "status": self.status,
            "hparams": {k: list(v) if isinstance(v, tuple) else v for k, v in self.hparams.items()},
            "metrics": [[m, c, v.value, v.step] for (m, c), v in sorted(self.metrics.items())],
            "problems": list(self.problems),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any], metrics: bool = True) -> RunInfo:
        """The inverse of :meth:`to_record` (JSON lists back to tuples).

        ``metrics=False`` leaves :attr:`metrics` empty, for callers that need the run's
        identity, status and hparams only (a campaign's grid): its ~25 values per run were
        most of the cost (0.2 s for a 2,500-run campaign).
        """
        return cls(
            hash=record["hash"],
            name=record["name"],
            experiment=shared(record["experiment"]),
            creation_time=record["creation_time"],
            end_time=record["end_time"],
            status=shared(record["status"]),
            description=record["description"],
            archived=record["archived"],
            tags=tuple(record["tags"]),
            hparams={
                sys.intern(k): tuple(v) if isinstance(v, list) else shared(v)
                for k, v in record["hparams"].items()
            },
            metrics={
                metric_key(m, c): MetricValue(float(v), int(s)) for m, c, v, s in record["metrics"]
            } if metrics else {},
            problems=list(record["problems"]),
        )


@dataclass
class ArtifactInventory:
    """What one ``artifacts/<hash>/`` folder holds, and what is wrong with it."""

    hash: str
    path: Path
    #: context -> file name in ``path`` (names, not paths: a 10,000-run listing built
    #: 120,000 Path objects for nothing).
    class_reports: dict[str, str] = field(default_factory=dict)
    confusion_matrices: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] | None = None
    has_log: bool = False
    model_files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def contexts(self) -> list[str]:
        """Contexts with both a class report and a confusion matrix."""
        return sorted(set(self.class_reports) & set(self.confusion_matrices))


@dataclass
class RepositoryScan:
    """A whole repository: Aim runs, artifact folders and how they pair up."""

    root: Path
    runs: dict[str, RunInfo]
    artifacts: dict[str, ArtifactInventory]
    #: folders under artifacts/ that are not named like a run hash.
    stray_artifact_entries: list[str] = field(default_factory=list)

    @property
    def runs_without_artifacts(self) -> list[str]:
        return sorted(set(self.runs) - set(self.artifacts))

    @property
    def artifacts_without_run(self) -> list[str]:
        return sorted(set(self.artifacts) - set(self.runs))
