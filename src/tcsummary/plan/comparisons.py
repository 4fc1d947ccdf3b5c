"""Named comparisons across campaigns and repositories: the ``comparisons`` config key, resolved.

A comparison pools campaigns (its *sources*: one campaign of one repository
each) and compares the levels of one factor over blocks that may include the
source itself, as the tcbench paper does across datasets ("blocks are
(dataset, split, seed)"). Here only *which* campaigns and settings: names are
checked against what the build found, with one line listing what exists. The
statistics are :mod:`summarise.across`'s.

Its job reads the sources' campaign snapshots only, in the compact form written
beside each (``values.json``: final metrics come from Aim, as in every comparison
of a campaign), so a new run in one source reruns that source's campaign and the
comparisons that include it, nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.model import NO_CAMPAIGN
from ..core.values import names_of
from .campaigns import COMPARISONS, CampaignPlan, RepositoryPlan
from .selection import ConfigError

#: What every comparison folder gets.
COMPARISON_FILES = (
    "report.html", "report.md", "ranks.csv", "tests.csv", "pairwise.csv",
    "ranks_by_source.csv", "side_by_side.csv", "provenance.json",
)
#: Columns every comparison has besides the hparams: the campaign's label and its repository.
SOURCE, REPOSITORY = "source", "repository"
PSEUDO_KEYS = (SOURCE, REPOSITORY)


@dataclass(frozen=True)
class Source:
    """One campaign of one repository, as a comparison sees it."""

    label: str
    repository: str
    campaign: str
    #: the campaign's snapshot as comparisons read it (``CampaignPlan.values``).
    values: Path
    #: comparison context -> this campaign's context (identity unless renamed in the config).
    contexts: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "repository": self.repository,
                "campaign": self.campaign, "contexts": dict(self.contexts)}


@dataclass
class ComparisonPlan:
    name: str
    folder: Path
    sources: list[Source]
    factor: str | None
    blocks: list[str] | None
    metrics: list[str]
    contexts: list[str]

    def settings(self) -> dict[str, Any]:
        """What the comparison job gets (plain data: it is a rule's ``params``)."""
        return {
            "name": self.name,
            "sources": [s.as_dict() for s in self.sources],
            "factor": self.factor,
            "blocks": self.blocks,
            "metrics": list(self.metrics),
            "contexts": list(self.contexts),
        }


def _listing(values: Sequence[str]) -> str:
    return ", ".join(values) or "none"


def _campaigns(plan: RepositoryPlan) -> dict[str, CampaignPlan]:
    """A repository's campaigns by label (runs without campaign_id are no campaign to compare)."""
    return {c.label: c for c in plan.campaigns.values() if c.label != NO_CAMPAIGN}


def _sources(name: str, entries: list[dict[str, Any]],
             plans: dict[str, RepositoryPlan]) -> list[tuple[str, CampaignPlan, dict[str, Any]]]:
    found = []
    for entry in entries:
        repo = str(entry["repository"])
        if repo not in plans:
            raise ConfigError(
                f"comparison {name!r}: no repository {repo!r}; the build has: "
                f"{_listing(sorted(plans))}"
            )
        campaigns = _campaigns(plans[repo])
        wanted = entry.get("campaign")
        if wanted is None:
            if not campaigns:
                raise ConfigError(f"comparison {name!r}: repository {repo!r} has no campaign")
            found += [(repo, c, entry) for c in campaigns.values()]
            continue
        if str(wanted) not in campaigns:
            raise ConfigError(
                f"comparison {name!r}: repository {repo!r} has no campaign {str(wanted)!r}; "
                f"it has: {_listing(sorted(campaigns))}"
            )
        found.append((repo, campaigns[str(wanted)], entry))
    return found


def _label(repo: str, campaign: CampaignPlan, entry: dict[str, Any], several: bool) -> str:
    """The configured label, else the repository's name; with the campaign id when needed."""
    base = str(entry.get("label") or repo)
    return f"{base}/{campaign.label}" if several else base


def plan_comparison(
    entry: dict[str, Any], plans: dict[str, RepositoryPlan], folder: Path,
    default_metrics: Sequence[str],
) -> ComparisonPlan:
    name = str(entry["name"])
    chosen = _sources(name, list(entry["sources"]), plans)
    per_entry: dict[int, int] = {}
    for _, _, source_entry in chosen:
        per_entry[id(source_entry)] = per_entry.get(id(source_entry), 0) + 1
    sources = []
    for repo, campaign, source_entry in chosen:
        several = per_entry[id(source_entry)] > 1 or (
            not source_entry.get("label")
            and sum(1 for r, _, _ in chosen if r == repo) > 1
        )
        renamed = {str(k): str(v) for k, v in (source_entry.get("contexts") or {}).items()}
        sources.append((_label(repo, campaign, source_entry, several), repo, campaign, renamed))
    labels = [s[0] for s in sources]
    twice = sorted({lb for lb in labels if labels.count(lb) > 1})
    if twice:
        raise ConfigError(f"comparison {name!r}: source label {twice[0]!r} is used twice")
    if len(sources) < 1:
        raise ConfigError(f"comparison {name!r}: no source")

    contexts = names_of(entry.get("contexts"))
    if contexts is None:
        shared = None
        for _, _, campaign, renamed in sources:
            back = {v: k for k, v in renamed.items()}
            mine = {back.get(c, c) for c in campaign.settings.contexts}
            shared = mine if shared is None else shared & mine
        contexts = tuple(sorted(shared or ()))
        if not contexts:
            listing = "; ".join(
                f"{label}: {_listing(list(c.settings.contexts))}" for label, _, c, _ in sources
            )
            raise ConfigError(
                f"comparison {name!r}: its sources share no context ({listing}); set contexts, "
                "and per source contexts: {<comparison context>: <its context>}"
            )
    result = []
    for label, repo, campaign, renamed in sources:
        mapping = {c: renamed.get(c, c) for c in contexts}
        missing = [theirs for theirs in mapping.values() if theirs not in campaign.contexts_found]
        if missing:
            raise ConfigError(
                f"comparison {name!r}: source {label!r} has no context {missing[0]!r}; "
                f"it has: {_listing(list(campaign.contexts_found))}"
            )
        result.append(Source(label, repo, campaign.label, campaign.values, mapping))

    hparams = sorted({h for _, _, c, _ in sources for h in c.hparams})
    known = [*PSEUDO_KEYS, *hparams]
    factor = entry.get("factor")
    blocks = names_of(entry.get("blocks"))
    for kind, names in (("factor", [factor] if factor else []), ("block", blocks or ())):
        for key in names:
            if key not in known:
                raise ConfigError(
                    f"comparison {name!r}: unknown {kind} {key!r}; hparams of its sources: "
                    f"{_listing(known)}"
                )
    return ComparisonPlan(
        name=name,
        folder=folder / name,
        sources=result,
        factor=str(factor) if factor else None,
        blocks=list(blocks) if blocks is not None else None,
        metrics=list(names_of(entry.get("metrics")) or default_metrics),
        contexts=list(contexts),
    )


def plan_comparisons(
    entries: list[dict[str, Any]] | None,
    repositories: Sequence[RepositoryPlan],
    output: Path | None,
    default_metrics: Sequence[str],
) -> list[ComparisonPlan]:
    """Every configured comparison, checked against the repositories the build found.

    Each goes to ``<output>/comparisons/<name>``; without ``output``, into the output
    folder of the one repository it compares (several need ``output``).
    """
    entries = list(entries or [])
    names = [str(e["name"]) for e in entries]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"comparisons: the name {twice[0]!r} is used twice")
    plans = {p.name: p for p in repositories}
    found = []
    for entry in entries:
        repos = sorted({str(s["repository"]) for s in entry["sources"]})
        if output is not None:
            where = output / COMPARISONS
        else:
            if len(repos) > 1:
                raise ConfigError(
                    f"comparison {entry['name']!r} spans repositories {', '.join(repos)}: "
                    "set `output`, the folder its reports (and the repositories') go to"
                )
            plan = plans.get(repos[0])
            where = (plan.summary if plan else Path(".")) / COMPARISONS
        found.append(plan_comparison(entry, plans, where, default_metrics))
    return found
