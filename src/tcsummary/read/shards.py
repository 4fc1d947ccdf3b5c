"""Several repository folders read as one repository (a campaign written by many nodes).

On a cluster each node or array task often writes its own Aim repository and
artifact folder; tcbench's answer is ``aimrepo merge``, which copies everything
into a new repository. Here the shards are read where they are and their runs
joined by hash: one rule, used by the workflow's discovery and by the CLI.

A run hash found in more than one shard is a problem reported once. The copy
that finished is kept; if it finished in several shards with the same results
(a copied run) the first is kept; with different results none is trusted and
the run is left out of every report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..core.model import FINISHED, RunInfo


@dataclass
class MergedRuns:
    """The runs of a sharded repository and where each one was kept from."""

    runs: dict[str, RunInfo] = field(default_factory=dict)
    #: run hash -> index of the shard its kept copy (and its artifact folder) comes from.
    shard_of: dict[str, int] = field(default_factory=dict)
    #: hashes found in several shards and trusted in none (finished with different results).
    dropped: list[str] = field(default_factory=list)
    #: one problem per duplicated hash, as problems.csv rows.
    problems: list[dict[str, str]] = field(default_factory=list)


def _same_results(a: RunInfo, b: RunInfo) -> bool:
    return a.hparams == b.hparams and a.metrics == b.metrics


def merge_runs(roots: Sequence[Path], per_shard: Sequence[dict[str, RunInfo]]) -> MergedRuns:
    """Join the runs of each shard by hash (shards in the configured order)."""
    copies: dict[str, list[tuple[int, RunInfo]]] = {}
    for index, runs in enumerate(per_shard):
        for run_hash, run in runs.items():
            copies.setdefault(run_hash, []).append((index, run))
    merged = MergedRuns()
    for run_hash in sorted(copies):
        found = copies[run_hash]
        kept, why = _keep(found, roots)
        if why:
            merged.problems.append({
                "hash": run_hash,
                "path": ", ".join(str(roots[i] / ".aim") for i, _ in found),
                "problem": why,
            })
        if kept is None:
            merged.dropped.append(run_hash)
            continue
        merged.shard_of[run_hash] = kept
        merged.runs[run_hash] = dict(found)[kept]
    return merged


def _keep(found: list[tuple[int, RunInfo]], roots: Sequence[Path]) -> tuple[int | None, str]:
    """Which copy of a run to keep, and the problem to report (empty for a single copy)."""
    if len(found) == 1:
        return found[0][0], ""
    names = " and ".join(str(roots[i]) for i, _ in found)
    finished = [(i, run) for i, run in found if run.status == FINISHED]
    if len(finished) == 1:
        i = finished[0][0]
        return i, f"run in {len(found)} shards ({names}); kept from {roots[i]}, where it finished"
    if len(finished) > 1:
        first = finished[0][1]
        if all(_same_results(first, run) for _, run in finished[1:]):
            i = finished[0][0]
            return i, (
                f"run in {len(found)} shards ({names}), finished with the same results; "
                f"kept once, from {roots[i]}"
            )
        return None, (
            f"run finished in {len(found)} shards ({names}) with different results; "
            "left out of every report"
        )
    i = found[0][0]
    return i, f"run in {len(found)} shards ({names}), finished in none; kept from {roots[i]}"
