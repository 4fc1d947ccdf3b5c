"""Spread per-run work over processes: reading RocksDB and parsing CSVs is CPU-bound Python.

The processes are :mod:`.workers`: fresh interpreters started once per process and reused,
not forks of the (large) build process.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypeVar

from .progress import Progress
from .workers import pool

T = TypeVar("T")
R = TypeVar("R")

#: Below this many items a process pool costs more than it saves.
MIN_PARALLEL_ITEMS = 200


def chunked(items: Sequence[T], parts: int) -> list[list[T]]:
    """Split ``items`` into at most ``parts`` contiguous chunks of near-equal size."""
    size = max(1, math.ceil(len(items) / max(1, parts)))
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def in_workers(count: int, workers: int, min_items: int | None = None) -> bool:
    """Whether :func:`map_chunks` gives ``count`` items to worker processes (see there)."""
    return workers > 1 and count >= (MIN_PARALLEL_ITEMS if min_items is None else min_items)


def map_chunks(
    func: Callable[[list[T]], list[R]],
    items: Sequence[T],
    workers: int,
    min_items: int | None = None,
    progress: Progress | None = None,
    max_chunk: int | None = None,
) -> list[R]:
    """``func`` over chunks of ``items`` (in ``workers`` processes when worth it), in order.

    ``min_items``: below this many items one process does it all (default
    :data:`MIN_PARALLEL_ITEMS`; cheap items need more of them to pay for a pool).
    ``progress`` advances as chunks finish (smaller chunks then, so it moves).
    ``max_chunk``: at most this many items per call to a worker (a worker's memory grows
    with the largest result it pickled).
    """
    results: list[R] = []
    if not in_workers(len(items), workers, min_items):
        if progress is None:
            return func(list(items))
        for chunk in chunked(items, max(1, math.ceil(len(items) / PROGRESS_CHUNK))):
            results += func(chunk)
            progress.advance(len(chunk))
        return results
    parts = workers * 2 if progress is None else max(workers * 2, len(items) // PROGRESS_CHUNK)
    if max_chunk:
        parts = max(parts, math.ceil(len(items) / max_chunk))
    chunks = chunked(items, parts)
    for chunk, part in zip(chunks, pool(workers).map(func, chunks), strict=True):
        results += part
        if progress is not None:
            progress.advance(len(chunk))
    return results


#: Items per chunk when progress is shown (a chunk's items are reported together).
PROGRESS_CHUNK = 100
