"""Extraction batches: a pool of processes only when enough runs need parsing."""

from __future__ import annotations

from tcsummary.summarise.extract import MIN_POOL_RUNS, pool_size


def test_a_batch_mostly_in_its_memo_is_parsed_without_a_pool():
    cached = [(f"{i:024x}", {"digest": "d"}) for i in range(250)]
    one_new = [*cached, ("f" * 24, None)]
    assert pool_size(one_new, workers=2) == 1
    fresh = [(run_hash, None) for run_hash, _ in one_new]
    assert pool_size(fresh, workers=2) == 2
    assert pool_size(fresh[: MIN_POOL_RUNS - 1], workers=2) == 1
    assert pool_size(fresh[:MIN_POOL_RUNS], workers=2) == 2
    assert pool_size(fresh, workers=1) == 1
