"""``--config wait=true``: hold the build until the campaigns have no active run.

A report built while a campaign still runs is a report of a partial campaign.
With wait, the build polls the repository (the same cached discovery as the
build itself, so a poll of 1,000 runs costs a directory listing and one SQLite
query) and starts reading only when no selected campaign has an active run.
Runs that crashed are not active (no live writer), so they never block.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from ..core.errors import TcsummaryError
from ..core.model import ACTIVE
from ..read.discovery import discover_runs


class StillRunning(TcsummaryError):
    """The campaigns still had active runs when the wait timed out."""


def active_runs(
    root: Path, campaigns: list[str] | None, cache: Path | None = None
) -> dict[str, int]:
    """Campaign -> number of active runs, for the selected campaigns (None: all)."""
    counts: dict[str, int] = {}
    for run in discover_runs(root, cache_path=cache).values():
        if run.status == ACTIVE and (campaigns is None or run.campaign in campaigns):
            counts[run.campaign] = counts.get(run.campaign, 0) + 1
    return counts


def wait_until_idle(
    root: Path,
    campaigns: list[str] | None,
    poll_seconds: float,
    timeout_seconds: float,
    cache: Path | None = None,
    say: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Block until no selected campaign has an active run; returns the seconds waited."""
    say = say or logging.getLogger(__name__).warning
    started = time.monotonic()
    last = None
    while True:
        counts = active_runs(root, campaigns, cache)
        waited = time.monotonic() - started
        if not counts:
            if last is not None:
                say(f"{root}: no active runs left after {waited:.0f} s, building")
            return waited
        text = ", ".join(f"{n} in campaign {c}" for c, n in sorted(counts.items()))
        if waited >= timeout_seconds:
            raise StillRunning(f"{root}: still active after {waited:.0f} s: {text}")
        if text != last:
            say(f"{root}: waiting for active runs ({text})")
            last = text
        sleep(poll_seconds)
