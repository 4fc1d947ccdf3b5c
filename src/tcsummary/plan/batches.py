"""Extraction batches: which runs one extraction job reads, and the manifest that reruns it.

A job per run would cost ~50 ms of Snakemake scheduling each; a campaign is one
batch up to :data:`BATCH_RUNS` runs, then one batch per hash prefix (stable as
runs arrive, so a new run dirties one batch).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..core.parallel import map_chunks
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


#: A batch: its artifacts folder, run hashes and contexts (what its manifest lists).
Batch = tuple[str, list[str], tuple[str, ...]]

#: From this many runs on, the manifests are built in worker processes: one stat call per
#: artifact file, ~70,000 at 10,000 runs (0.31 s in one process), on every build.
PARALLEL_MANIFEST_RUNS = 2000


def _manifests(batches: list[Batch]) -> list[bytes]:
    return [batch_manifest(Path(folder), hashes, contexts) for folder, hashes, contexts in batches]


def batch_manifests(batches: Sequence[Batch], workers: int = 1) -> list[bytes]:
    """:func:`batch_manifest` of each batch, in order; in ``workers`` processes for many runs.

    Planning asks for them on every build, no-op included, since only they notice an
    artifact file that changed while its run's Aim data did not.
    """
    runs = sum(len(hashes) for _, hashes, _ in batches)
    wanted = workers if runs >= PARALLEL_MANIFEST_RUNS else 1
    return map_chunks(_manifests, list(batches), wanted, min_items=2)


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
