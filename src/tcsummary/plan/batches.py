"""Extraction batches: which runs one extraction job reads, and the manifest that reruns it.

A job per run would cost ~50 ms of Snakemake scheduling each; a campaign is one
batch up to :data:`BATCH_RUNS` runs, then 2, 4, 8, ... batches of hash-prefix ranges
(stable as runs arrive, so a new run dirties one batch).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..core.parallel import map_chunks
from ..read.artifacts import file_entries, wanted_files

#: Most runs in one extraction job: a campaign is split in 2, 4, 8, ... batches to stay below.
BATCH_RUNS = 1000
#: Batches of a campaign at most (then batches grow beyond :data:`BATCH_RUNS`).
MAX_BATCHES = 4096
#: Bits of a run hash's first hex digits that place it in a batch.
_PLACE_BITS = 16


def batch_names(hashes: list[str]) -> dict[str, list[str]]:
    """Split a campaign's runs into extraction batches by hash prefix (stable as runs arrive).

    The batches are the power of two that keeps each under :data:`BATCH_RUNS` runs; a run's
    batch is the range of hash prefixes its own falls in (named ``0-3``, ``4-7``, ... or,
    with 16 or 256 batches, the prefix itself), so a new run dirties one batch, and all
    move only when the campaign crosses a power of two. Why not always 16 (one hex digit)
    from 1,000 runs on: a 2,500-run campaign then had 16 jobs of ~156 runs, each paying
    Snakemake's scheduling and the workers' round trip, 64 at 10,000 runs (measured: 8.8 s
    of extraction in a cold build against ~6 s in 16 jobs).
    """
    count = 1
    while len(hashes) > BATCH_RUNS * count and count < MAX_BATCHES:
        count *= 2
    if count == 1:
        return {"all": list(hashes)}
    bits = count.bit_length() - 1
    digits = (bits + 3) // 4
    span = 16**digits // count  # prefixes (of ``digits`` hex digits) per batch
    names = [
        _prefix_range(i * span, (i + 1) * span - 1, digits) for i in range(count)
    ]
    batches: dict[str, list[str]] = {}
    for run_hash in hashes:
        place = int(run_hash[: _PLACE_BITS // 4], 16) >> (_PLACE_BITS - bits)
        batches.setdefault(names[place], []).append(run_hash)
    return batches


def _prefix_range(first: int, last: int, digits: int) -> str:
    low, high = f"{first:0{digits}x}", f"{last:0{digits}x}"
    return low if low == high else f"{low}-{high}"


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
