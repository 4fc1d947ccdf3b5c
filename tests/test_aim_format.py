"""The aim-free decoder of run metadata agrees with aim's own, on all repository kinds."""

from __future__ import annotations

import math

import pytest

from tcsummary.read.aim_format import decode_path, decode_value, encode_path
from tcsummary.read.aim_reader import TRACE_FIELDS, list_run_hashes, read_meta


@pytest.mark.parametrize(
    "path",
    [("meta", "chunks", "abc"), ("traces", 0, "acc", "last"), ("x", -5, 2**40, "α-γ"), ()],
)
def test_paths_round_trip(path):
    assert decode_path(encode_path(path)) == list(path)


def test_values_decode_aims_encoding():
    from aim.storage.encoding import encode

    for value in (None, True, False, 0, -7, 2**62, 1.5, math.pi, "", "flowpic", b"\x00\xfe"):
        assert decode_value(encode(value)) == value


def _aim_view(aim_dir, run_hash):
    """The same subtrees, read through aim's RocksContainer and tree decoder."""
    from aim.storage.rockscontainer import RocksContainer

    container = RocksContainer(
        str(aim_dir / "meta" / "chunks" / run_hash), read_only=True, skip_read_optimization=True
    )
    try:
        meta = container.tree().subtree(("meta", "chunks", run_hash)).collect()
    finally:
        container.close()
    traces = {
        ctx: {
            metric: {k: v for k, v in info.items() if k in TRACE_FIELDS}
            for metric, info in metrics.items()
        }
        for ctx, metrics in (meta.get("traces") or {}).items()
    }
    return {
        "hparams": (meta.get("attrs") or {}).get("hparams"),
        "end_time": meta.get("end_time"),
        "contexts": meta.get("contexts"),
        "traces": traces,
    }


def test_read_meta_equals_aims_decoder(any_repo):
    aim_dir = any_repo.root / ".aim"
    hashes = list_run_hashes(aim_dir)
    assert hashes
    for run_hash in hashes:
        ours = read_meta(aim_dir, run_hash)
        theirs = _aim_view(aim_dir, run_hash)
        assert ours.get("attrs", {}).get("hparams") == theirs["hparams"], run_hash
        assert ours.get("end_time") == theirs["end_time"], run_hash
        assert ours.get("contexts") == theirs["contexts"], run_hash
        assert ours.get("traces", {}) == theirs["traces"], run_hash
