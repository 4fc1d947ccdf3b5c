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


def _db_with(tmp_path, items):
    """A RocksDB holding exactly ``items`` (path, encoded value) under one run's meta base."""
    import aimrocks
    from aim.storage.encoding import encode

    from tcsummary.read.aim_format import _CUSTOM_OBJECT, _OBJECT

    flags = {"object": bytes([_OBJECT]), "array": bytes([6]), "custom": bytes([_CUSTOM_OBJECT])}
    db = aimrocks.DB(str(tmp_path / "db"), aimrocks.Options(create_if_missing=True))
    for path, value in items:
        raw = flags[value] if isinstance(value, str) and value in flags else encode(value)
        db.put(encode_path(("meta", "chunks", "h", *path)), raw)
    return db


REGULAR = [
    (("traces",), "object"),
    (("traces", 7), "object"),
    (("traces", 7, "acc"), "object"),
    (("traces", 7, "acc", "dtype"), "float"),
    (("traces", 7, "acc", "last"), 91.5),
    (("traces", 7, "acc", "last_step"), 29),
    (("traces", 7, "acc", "version"), 2),
    (("traces", -3, "f1"), "object"),
    (("traces", -3, "f1", "last"), 0.75),
    (("traces", -3, "f1", "min"), 0.5),
    (("traces", -3, "α-loss"), "object"),
    (("traces", -3, "α-loss", "last_step"), 4),
    (("typed_traces", "metric", 7, "acc"), 1),
]


@pytest.mark.parametrize(
    "extra",
    [
        [],
        [(("traces", 7, "last"), "object"), (("traces", 7, "last", "last"), 1.0)],  # a metric
        [(("traces", 7, "last"), "object")],  # named like a statistic, with and without any
        [(("traces", 7, "acc", "last"), "object"), (("traces", 7, "acc", "last", "x"), 1)],
        [(("traces", 7, "acc", "deep", "version"), 3)],  # deeper nesting
        [(("traces", "text", "acc", "last"), 2.0)],  # a context key that is not an index
        [(("traces", 7, 5, "last"), 2.0)],  # a metric key that is an integer
        [(("traces", 7, "acc", "last"), "array")],
    ],
    ids=["regular", "metric-last", "metric-last-empty", "flag-leaf", "deeper", "text-context",
         "int-metric", "array-leaf"],
)
def test_trace_fields_equal_the_generic_decoder_on_odd_keys(tmp_path, extra, monkeypatch):
    from tcsummary.read.aim_format import read_subtrees, read_trace_fields

    items = dict(REGULAR)
    items.update(dict(extra))
    db = _db_with(tmp_path, list(items.items()))
    base = ("meta", "chunks", "h")
    fast = read_trace_fields(db, base, TRACE_FIELDS)
    assert fast == read_subtrees(db, base, ("traces",), leaves=TRACE_FIELDS)
    if not extra:  # and decoded on the fast path, not handed to the generic one
        from tcsummary.read import aim_format

        monkeypatch.setattr(aim_format, "read_subtrees", None)
        assert read_trace_fields(db, base, TRACE_FIELDS) == fast
        assert fast == {"traces": {7: {"acc": {"last": 91.5, "last_step": 29, "version": 2}},
                                   -3: {"f1": {"last": 0.75}, "α-loss": {"last_step": 4}}}}


@pytest.mark.parametrize("whole", ["absent", None, "object", "array", 3])
def test_trace_fields_of_an_empty_or_odd_traces_node(tmp_path, whole):
    from tcsummary.read.aim_format import read_subtrees, read_trace_fields

    items = [(("traces",), whole)] if whole != "absent" else [(("other",), 1)]
    db = _db_with(tmp_path, items)
    base = ("meta", "chunks", "h")
    assert read_trace_fields(db, base, TRACE_FIELDS) == read_subtrees(
        db, base, ("traces",), leaves=TRACE_FIELDS)
