"""What a campaign report covers: metrics, contexts and group keys, resolved and checked.

The config may leave contexts and group keys to tcbench's defaults; those are
resolved per campaign here (tcbench computed them over the whole repository, which
mixes campaigns). Anything the user names that the repository does not have is a
one-line error listing what exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.errors import TcsummaryError
from ..core.model import FINISHED, RunInfo, is_replicate_key
from ..core.values import names_of
from .grid import varying_hparams


class ConfigError(TcsummaryError):
    """A config value that names something the repository does not have."""


@dataclass(frozen=True)
class Selection:
    """The user's choice, before it is resolved against a campaign (None = default)."""

    metrics: tuple[str, ...]
    contexts: tuple[str, ...] | None = None
    groupby: tuple[str, ...] | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Selection:
        """From the validated config (the schema fills every default)."""
        return cls(
            metrics=names_of(config["metrics"]) or (),
            contexts=names_of(config["contexts"]),
            groupby=names_of(config["groupby"]),
        )


def _listing(values: Iterable[str]) -> str:
    return ", ".join(sorted(values)) or "none"


def selection_names(runs: Sequence[RunInfo]) -> tuple[set[str], set[str], set[str]]:
    """The metric, context and hparam names of the runs: what a selection may name."""
    metrics = {m for r in runs for m, _ in r.metrics}
    contexts = {c for r in runs for _, c in r.metrics if c}
    hparams = {k for r in runs for k in r.hparams}
    return metrics, contexts, hparams


def check_names(
    selection: Selection, names: tuple[set[str], set[str], set[str]], where: str
) -> None:
    """Fail with one line when a named metric, context or group key is not among ``names``.

    ``names``: :func:`selection_names` of the repository's runs (a plan gathers them per
    campaign and keeps them, so a change re-checks without every run's record).
    """
    metrics, contexts, hparams = names
    for kind, wanted, known in (
        ("metric", selection.metrics, metrics),
        ("context", selection.contexts or (), contexts),
        ("groupby key", selection.groupby or (), hparams),
    ):
        unknown = [name for name in wanted if name not in known]
        if unknown:
            raise ConfigError(
                f"{where}: unknown {kind} {', '.join(map(repr, unknown))}; "
                f"the repository has: {_listing(known)}"
            )


def default_contexts(runs: Sequence[RunInfo]) -> tuple[str, ...]:
    """tcbench's default: every context whose name starts with ``test``."""
    return tuple(sorted({c for r in runs for _, c in r.metrics if c.startswith("test")}))


#: The groupby of a campaign in which no hparam varies: the campaign is the one group.
CAMPAIGN_GROUP = "campaign_id"
#: How reports name the one configuration when no hparam varies (a campaign grouped by itself,
#: a comparison whose sources differ in nothing but the factor).
ALL_RUNS = "all runs"


def default_groupby(runs: Sequence[RunInfo]) -> tuple[str, ...]:
    """hparams with more than one value among the runs, except seeds, splits and campaign keys.

    tcbench's rule, computed per campaign and over finished runs; with no such
    hparam the campaign itself is the one group (tcbench then groups by campaign_id).
    """
    keys = [name for name in varying_hparams(runs) if not is_replicate_key(name)]
    return tuple(keys) if keys else (CAMPAIGN_GROUP,)


@dataclass(frozen=True)
class CampaignSettings:
    """A selection resolved for one campaign."""

    metrics: tuple[str, ...]
    contexts: tuple[str, ...]
    groupby: tuple[str, ...]


def resolve(selection: Selection, runs: Sequence[RunInfo]) -> CampaignSettings:
    finished = [r for r in runs if r.status == FINISHED] or list(runs)
    return CampaignSettings(
        metrics=selection.metrics,
        contexts=selection.contexts or default_contexts(finished),
        groupby=selection.groupby or default_groupby(finished),
    )
