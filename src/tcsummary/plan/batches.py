"""Extraction batches: which runs one extraction job reads, and the manifest that reruns it.

A job per run would cost ~50 ms of Snakemake scheduling each; a campaign is one
batch up to :data:`BATCH_RUNS` runs, then one batch per hash prefix (stable as
runs arrive, so a new run dirties one batch).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from ..read.artifacts import file_entries, wanted_files

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
    base = str(artifacts)
    runs = {h: file_entries(os.path.join(base, h), wanted) for h in hashes}
    document = {"artifacts": str(artifacts), "contexts": list(contexts), "runs": runs}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def extractions_pending(batches: Iterable[tuple[str, str]]) -> bool:
    """Whether some batch's extraction is missing or older than its manifest.

    Snakemake's own rule (mtime) for rerunning an extraction; an extraction job asks it
    after writing, and the last one of a build ends the worker processes then instead
    of leaving them idle beside the aggregations (~22 MB each).
    """
    for manifest, output in batches:
        try:
            if os.stat(output).st_mtime < os.stat(manifest).st_mtime:
                return True
        except FileNotFoundError:
            return True
    return False
