"""Property-based tests: any input to a parser either parses into valid data or raises the
documented ArtifactFormatError (one line naming the file), never another exception."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcsummary.core.errors import ArtifactFormatError
from tcsummary.read.artifacts import (
    check_report_matches_matrix,
    parse_class_report,
    parse_confusion_matrix,
    read_params,
)

VALID_REPORT = (
    "index,precision,recall,f1-score,support\n"
    "a,0.5,0.6,0.5454545454545454,5.0\n"
    "b,0.75,0.6666666666666666,0.7058823529411765,9.0\n"
    "accuracy,0.6428571428571429,0.6428571428571429,0.6428571428571429,0.6428571428571429\n"
    "macro avg,0.625,0.6333333333333333,0.6256684491978609,14.0\n"
    "weighted avg,0.6607142857142857,0.6428571428571429,0.6486631016042781,14.0\n"
)
VALID_MATRIX = "index,a,b\na,3,2\nb,3,6\n"
SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def mutations(valid: str) -> st.SearchStrategy[bytes]:
    """Near-valid files: a valid one with a slice replaced, deleted or duplicated."""
    data = valid.encode()

    @st.composite
    def mutate(draw) -> bytes:
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, len(data)))
        insert = draw(st.one_of(
            st.binary(max_size=8),
            st.sampled_from([b",", b"\n", b"nan", b"-1", b"inf", b"1e400", b"", b'"', b"\r\n",
                             b"\x00", b"accuracy", b"1.5", b"0.0"]),
        ))
        return data[:start] + insert + data[end:]

    return st.one_of(st.binary(max_size=400), mutate())


def _check_or_documented_error(parse, path: Path, raw: bytes):
    path.write_bytes(raw)
    try:
        result = parse(path)
    except ArtifactFormatError as exc:
        message = str(exc)
        assert message.startswith(f"{path}: ") and "\n" not in message
        return None
    return result


@SETTINGS
@given(raw=mutations(VALID_REPORT))
def test_class_report_parser(tmp_path, raw):
    report = _check_or_documented_error(parse_class_report, tmp_path / "r.csv", raw)
    if report is not None:
        assert report.classes and len(set(report.classes)) == len(report.classes)
        for values in (report.precision, report.recall, report.f1):
            assert all(0.0 <= v <= 1.0 for v in values)
        assert all(isinstance(s, int) and s >= 0 for s in report.support)
        assert report.weighted_avg[3] == sum(report.support)


@SETTINGS
@given(raw=mutations(VALID_MATRIX))
def test_confusion_matrix_parser(tmp_path, raw):
    matrix = _check_or_documented_error(parse_confusion_matrix, tmp_path / "m.csv", raw)
    if matrix is not None:
        n = len(matrix.classes)
        assert n and len(matrix.counts) == n and all(len(row) == n for row in matrix.counts)
        assert all(isinstance(v, int) and v >= 0 for row in matrix.counts for v in row)


@SETTINGS
@given(report_raw=mutations(VALID_REPORT), matrix_raw=mutations(VALID_MATRIX))
def test_cross_check(tmp_path, report_raw, matrix_raw):
    report = _check_or_documented_error(parse_class_report, tmp_path / "r.csv", report_raw)
    matrix = _check_or_documented_error(parse_confusion_matrix, tmp_path / "m.csv", matrix_raw)
    if report is not None and matrix is not None:
        try:
            check_report_matches_matrix(report, matrix)
        except ArtifactFormatError as exc:
            assert "\n" not in str(exc)


@SETTINGS
@given(raw=st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    st.dictionaries(st.text(max_size=10), st.one_of(
        st.integers(), st.floats(allow_nan=True), st.text(max_size=10), st.booleans(),
        st.none()), max_size=8).map(lambda d: "\n".join(f"{k!r}: {v!r}" for k, v in d.items())
                                    .encode()),
))
def test_params_reader(tmp_path, raw):
    params = _check_or_documented_error(read_params, tmp_path / "params.yml", raw)
    if params is not None:
        assert isinstance(params, dict) and all(isinstance(k, str) for k in params)


def test_a_valid_pair_still_parses(tmp_path):
    (tmp_path / "r.csv").write_text(VALID_REPORT)
    (tmp_path / "m.csv").write_text(VALID_MATRIX)
    report = parse_class_report(tmp_path / "r.csv")
    matrix = parse_confusion_matrix(tmp_path / "m.csv")
    check_report_matches_matrix(report, matrix)
    assert math.isclose(report.accuracy, 9 / 14)


JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
)


@SETTINGS
@given(value=st.one_of(JSON_SCALARS, st.lists(JSON_SCALARS, max_size=3),
                       st.dictionaries(st.text(max_size=3), JSON_SCALARS, max_size=3)))
def test_identity_fast_paths_write_what_json_writes(value):
    """identity() skips json.dumps for plain values; the key must not change by it."""
    from tcsummary.core.values import identity, is_missing

    expected = "null" if is_missing(value) else json.dumps(value, sort_keys=True, default=str)
    assert identity(value) == expected


def _plain_reference(value):
    """core.values.plain as first written: the definition its fast paths must keep."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _plain_reference(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_reference(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _plain_reference(value.item())
    return value


NUMPY_SCALARS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(np.float64),
    st.floats(width=32, allow_nan=True, allow_infinity=True).map(np.float32),
    st.integers(-(2**62), 2**62).map(np.int64), st.booleans().map(np.bool_),
    st.text(max_size=3).map(np.str_),
)
VIEW_VALUES = st.recursive(
    st.one_of(JSON_SCALARS, NUMPY_SCALARS),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.tuples(inner, inner),
                            st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=12,
)


@SETTINGS
@given(value=VIEW_VALUES)
def test_plain_fast_paths_keep_its_definition(value):
    from tcsummary.core.values import plain

    assert repr(plain(value)) == repr(_plain_reference(value))  # repr: types too


class _Text(str):
    """A str subclass: kinds() must decide it value by value, as before its fast path."""


HPARAM_CELLS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from([0.5, -0.0, math.nan, 2.0]),
    st.sampled_from(["a", "32", ""]), st.builds(_Text, st.sampled_from(["x", "1"])),
    st.lists(st.integers(0, 3), max_size=2), st.tuples(st.integers(0, 3)),
    st.dictionaries(st.sampled_from(["k"]), st.integers(0, 2), max_size=1),
)


def _column_reference(values):
    """core.values.column as first written: the definition its fast paths must keep."""
    from tcsummary.core.values import _kinds_of_each, as_written, cell

    if len(_kinds_of_each(values)) <= 1:
        return [cell(v) for v in values]
    return [as_written(v) for v in values]


@SETTINGS
@given(values=st.lists(HPARAM_CELLS, max_size=8))
def test_kinds_and_column_fast_paths_keep_their_definition(values):
    from tcsummary.core.values import _kinds_of_each, column, kinds

    assert kinds(values) == _kinds_of_each(values)
    assert kinds(iter(values)) == _kinds_of_each(values)
    got, expected = column(values), _column_reference(values)
    assert [type(v) for v in got] == [type(v) for v in expected]
    assert json.dumps(got, default=repr) == json.dumps(expected, default=repr)


@SETTINGS
@given(rows=st.lists(st.dictionaries(st.sampled_from(["a", "b", "seed"]), HPARAM_CELLS,
                                     max_size=3), min_size=1, max_size=6))
def test_varying_keys_is_two_identities_among_the_runs(rows):
    from tcsummary.core.values import identity
    from tcsummary.plan.grid import varying_keys

    names = sorted({k for row in rows for k in row})
    expected = [k for k in names if len({identity(row.get(k)) for row in rows}) > 1]
    assert varying_keys(rows, exclude=()) == expected
