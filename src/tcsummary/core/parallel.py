"""Spread per-run work over processes: reading RocksDB and parsing CSVs is CPU-bound Python."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Below this many items a process pool costs more than it saves.
MIN_PARALLEL_ITEMS = 200


def chunked(items: Sequence[T], parts: int) -> list[list[T]]:
    """Split ``items`` into at most ``parts`` contiguous chunks of near-equal size."""
    size = max(1, math.ceil(len(items) / max(1, parts)))
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def map_chunks(
    func: Callable[[list[T]], list[R]],
    items: Sequence[T],
    workers: int,
    min_items: int | None = None,
) -> list[R]:
    """``func`` over chunks of ``items`` (in ``workers`` processes when worth it), in order.

    ``min_items``: below this many items one process does it all (default
    :data:`MIN_PARALLEL_ITEMS`; cheap items need more of them to pay for a pool).
    """
    threshold = MIN_PARALLEL_ITEMS if min_items is None else min_items
    if workers <= 1 or len(items) < threshold:
        return func(list(items))
    chunks = chunked(items, workers * 2)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return [result for part in pool.map(func, chunks) for result in part]
