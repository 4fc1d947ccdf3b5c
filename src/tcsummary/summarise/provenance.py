"""What a report was built from: versions, settings, runs used and excluded, input checksums."""

from __future__ import annotations

import functools
import hashlib
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .campaign import RunRow

if TYPE_CHECKING:
    from .across import SourceRuns

PACKAGES = ("tcsummary", "pandas", "numpy", "pyarrow", "scipy", "jinja2", "pyyaml", "aimrocks")


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def package_versions() -> dict[str, str]:
    """The versions provenance records (a copy: callers may keep or change it)."""
    return dict(_package_versions())


@functools.cache
def _package_versions() -> dict[str, str]:
    """Read once per process: each lookup scans the installed distributions (~3 ms), and a
    build's jobs share the Snakemake process."""
    versions = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def provenance(
    snapshot: dict[str, Any],
    rows: Sequence[RunRow],
    config: dict[str, Any],
    root: str | list[str],
    snapshot_path: Path,
) -> dict[str, Any]:
    """Versions, effective settings, runs used and a checksum of every input file.

    Artifact checksums were taken by the extraction when it read the files; the
    Aim side is covered by the checksum of the campaign snapshot it was read into.
    """
    checksums = {}
    for row in rows:
        for name, digest in sorted((row.extraction or {}).get("sha256", {}).items()):
            checksums[f"artifacts/{row.hash}/{name}"] = digest
    return {
        "aim_snapshot_sha256": sha256_file(snapshot_path),
        "tool": "tcsummary",
        "versions": package_versions(),
        "repository": root if isinstance(root, list) else str(root),
        "campaign": snapshot["campaign"],
        "config": config,
        "settings": snapshot["settings"],
        "runs_used": sorted(r.hash for r in rows if r.included),
        "runs_excluded": [
            {"hash": r.hash, "reason": r.reason} for r in rows if not r.included
        ],
        "input_checksums": checksums,
    }


def comparison_provenance(
    settings: dict[str, Any], found: Sequence[SourceRuns], config: dict[str, Any]
) -> dict[str, Any]:
    """Versions, the comparison's settings, and per source its campaign, runs and snapshot."""
    sources = [
        {**source, "aim_snapshot_sha256": runs.snapshot_sha256, "campaign_runs": list(runs.hashes)}
        for source, runs in zip(settings["sources"], found, strict=True)
    ]
    return {
        "tool": "tcsummary",
        "versions": package_versions(),
        "comparison": settings["name"],
        "settings": settings,
        "compare": config["compare"],
        "sources": sources,
    }
