"""Extraction batches: which runs one extraction job reads, and the manifest that reruns it.

A job per run would cost ~50 ms of Snakemake scheduling each; a campaign is one
batch up to :data:`BATCH_RUNS` runs, then one batch per hash prefix (stable as
runs arrive, so a new run dirties one batch).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..read.artifacts import wanted_files

#: Runs per extraction job before a campaign is split into batches by hash prefix.
BATCH_RUNS = 1000


def batch_names(hashes: list[str]) -> dict[str, list[str]]:
    """Split a campaign's runs into extraction batches by hash prefix (stable as runs arrive)."""
    digits = 0
    while len(hashes) > BATCH_RUNS * 16**digits and digits < 3:
        digits += 1
    batches: dict[str, list[str]] = {}
    for run_hash in hashes:
        batches.setdefault(run_hash[:digits] or "all", []).append(run_hash)
    return batches


def batch_manifest(artifacts: Path, hashes: list[str], contexts: tuple[str, ...]) -> bytes:
    """Name, size and mtime of every artifact file a batch's extraction reads.

    The extraction job's one input, rewritten only when a file appears,
    disappears or changes. Declaring the thousands of CSVs themselves would make
    Snakemake stat every one of them in every scheduling round (measured: 16 s
    of a 25 s build at 1,000 runs); this file carries the same information.
    """
    wanted = wanted_files(contexts)
    runs: dict[str, Any] = {}
    base = str(artifacts)
    for run_hash in hashes:
        folder = os.path.join(base, run_hash)
        entries = []
        for name in wanted:
            path = os.path.join(folder, name)
            try:
                stat = os.stat(path)  # follows symlinks, like reading the file
            except FileNotFoundError:
                if os.path.lexists(path):  # a broken link: extraction says which
                    entries.append([name, None, None])
                continue
            except OSError:
                entries.append([name, None, None])
                continue
            entries.append([name, stat.st_size, stat.st_mtime_ns])
        if not entries and not os.path.isdir(folder):
            entries = None  # no folder (or not a readable one): extraction says which
        runs[run_hash] = entries
    document = {"artifacts": str(artifacts), "contexts": list(contexts), "runs": runs}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
