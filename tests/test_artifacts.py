"""Parsers of tcbench's artifact files: valid files parse, every malformed shape is named."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from tcsummary.core.errors import ArtifactFormatError
from tcsummary.example import (
    CLASSES,
    RunSpec,
    class_report_csv,
    conf_matrix_csv,
    simulate_context,
)
from tcsummary.read.artifacts import (
    _FLAT_LINE,
    _flat_params,
    check_report_matches_matrix,
    inventory_artifacts,
    parse_class_report,
    parse_confusion_matrix,
    read_params,
)

SPEC = RunSpec("noaug", 32, 42, 0, "1684447037", 1)


@pytest.fixture
def result():
    return simulate_context(SPEC, "test-human", random.Random(7))


@pytest.fixture
def report_text(result) -> str:
    return class_report_csv(result)


@pytest.fixture
def matrix_text(result) -> str:
    return conf_matrix_csv(result)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_class_report_parses_exactly(tmp_path, report_text, result):
    report = parse_class_report(write(tmp_path, "test-human_class_rep.csv", report_text))
    assert report.classes == CLASSES
    assert report.support == tuple(sum(row) for row in result.counts)
    assert report.accuracy == pytest.approx(result.accuracy)
    assert report.weighted_avg[3] == sum(report.support)
    assert report_text.splitlines()[0] == "index,precision,recall,f1-score,support"
    assert report_text.splitlines()[-3].startswith("accuracy,")


def test_matrix_parses_and_matches_report(tmp_path, report_text, matrix_text, result):
    report = parse_class_report(write(tmp_path, "a_class_rep.csv", report_text))
    matrix = parse_confusion_matrix(write(tmp_path, "a_conf_mtx.csv", matrix_text))
    assert matrix.counts == tuple(tuple(r) for r in result.counts)
    check_report_matches_matrix(report, matrix)


def _lines(text: str) -> list[str]:
    return text.splitlines()


REPORT_DAMAGE = {
    "empty": (lambda t: "", "empty file"),
    "whitespace only": (lambda t: "\n\n  \n", "empty file"),
    "binary": (lambda t: b"\x00\x01\x02garbage", "binary content, not a text file"),
    "not utf8": (lambda t: b"index,precision\n\xff\xfe,1", "not UTF-8"),
    "wrong header": (lambda t: t.replace("f1-score", "f1", 1), "header is"),
    "truncated": (lambda t: "\n".join(_lines(t)[:4]) + "\n", "truncated after 3"),
    "cut mid summary": (lambda t: "\n".join(_lines(t)[:-1]) + "\n", "truncated after 7 of 8"),
    "non numeric": (lambda t: t.replace(_lines(t)[1].split(",")[1], "abc", 1), "not a number"),
    "nan cell": (lambda t: t.replace(_lines(t)[2].split(",")[2], "nan", 1), "not a finite"),
    "out of range": (lambda t: t.replace(_lines(t)[1].split(",")[1], "1.5", 1), "outside 0..1"),
    "fractional support": (
        lambda t: t.replace(_lines(t)[1].rsplit(",", 1)[1], "15.5", 1),
        "not a non-negative integer",
    ),
    "extra field": (
        lambda t: t.replace(_lines(t)[1], _lines(t)[1] + ",1", 1), "fields, expected 5"
    ),
    "duplicate class": (
        lambda t: t.replace(_lines(t)[2].split(",")[0], _lines(t)[1].split(",")[0], 1),
        "appears twice",
    ),
    "no class rows": (
        lambda t: "\n".join([_lines(t)[0], *_lines(t)[-3:]]) + "\n",
        "no class rows",
    ),
    "summary order": (
        lambda t: "\n".join([*_lines(t)[:-2], _lines(t)[-1], _lines(t)[-2]]) + "\n",
        "summary rows are",
    ),
    "accuracy row disagrees": (
        lambda t: t.replace(_lines(t)[-3], _lines(t)[-3].rsplit(",", 1)[0] + ",0.1", 1),
        "expected the accuracy",
    ),
    "average support": (
        lambda t: t.replace(_lines(t)[-1], _lines(t)[-1].rsplit(",", 1)[0] + ",3.0", 1),
        "sum of class supports",
    ),
}


MATRIX_DAMAGE = {
    "empty": (lambda t: "", "empty file"),
    "wrong first header": (lambda t: t.replace("index", "label", 1), "expected 'index'"),
    "no classes": (lambda t: "index\n", "names no classes"),
    "truncated": (lambda t: "\n".join(_lines(t)[:3]) + "\n", "truncated after 2 of 5 rows"),
    "extra row": (lambda t: t + _lines(t)[1] + "\n", "not square"),
    "short row": (lambda t: t.replace(_lines(t)[2], _lines(t)[2].rsplit(",", 1)[0], 1),
                  "fields, expected 6"),
    "negative": (lambda t: t.replace(_lines(t)[1], _lines(t)[1].rsplit(",", 1)[0] + ",-1", 1),
                 "non-negative integer"),
    "float count": (lambda t: t.replace(_lines(t)[1], _lines(t)[1].rsplit(",", 1)[0] + ",0.5", 1),
                    "non-negative integer"),
    "row label order": (
        lambda t: "\n".join([_lines(t)[0], _lines(t)[2], _lines(t)[1], *_lines(t)[3:]]) + "\n",
        "same order as the header",
    ),
    "text cell": (lambda t: t.replace(_lines(t)[3], _lines(t)[3].rsplit(",", 1)[0] + ",x", 1),
                  "not a number"),
}


CASES = [("report", case) for case in sorted(REPORT_DAMAGE)] + [
    ("matrix", case) for case in sorted(MATRIX_DAMAGE)
]


@pytest.mark.parametrize("kind, case", CASES, ids=[f"{k}-{c}" for k, c in CASES])
def test_malformed_file_is_named_with_its_problem(tmp_path, report_text, matrix_text, kind, case):
    damages, text, name, parse = {
        "report": (REPORT_DAMAGE, report_text, "test-human_class_rep.csv", parse_class_report),
        "matrix": (MATRIX_DAMAGE, matrix_text, "test-human_conf_mtx.csv", parse_confusion_matrix),
    }[kind]
    damage, message = damages[case]
    path = write(tmp_path, name, damage(text))
    with pytest.raises(ArtifactFormatError) as info:
        parse(path)
    assert message in str(info.value)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def test_shifted_labels_are_detected(tmp_path, report_text, matrix_text):
    """tcbench's flaw: a class absent from the data shifts the matrix labels by position."""
    report = parse_class_report(write(tmp_path, "x_class_rep.csv", report_text))
    lines = _lines(matrix_text)
    rows = [line.split(",") for line in lines[1:]]
    shifted = [rows[1][1:], rows[0][1:], *[r[1:] for r in rows[2:]]]  # swap two rows' counts
    text = lines[0] + "\n" + "".join(
        f"{name},{','.join(counts)}\n" for name, counts in zip(CLASSES, shifted, strict=True)
    )
    matrix = parse_confusion_matrix(write(tmp_path, "x_conf_mtx.csv", text))
    with pytest.raises(ArtifactFormatError, match="labels may be shifted|recall from the matrix"):
        check_report_matches_matrix(report, matrix)


def test_report_and_matrix_with_other_classes(tmp_path, report_text, matrix_text):
    report = parse_class_report(write(tmp_path, "x_class_rep.csv", report_text))
    renamed = matrix_text.replace("youtube", "netflix")
    matrix = parse_confusion_matrix(write(tmp_path, "x_conf_mtx.csv", renamed))
    with pytest.raises(ArtifactFormatError, match="differ from x_class_rep.csv classes"):
        check_report_matches_matrix(report, matrix)


@pytest.mark.parametrize(
    "text, message",
    [
        ("a: [1, 2\n", "not valid YAML at line"),
        ("- 1\n- 2\n", "expected a mapping"),
        ("", "empty file"),
    ],
)
def test_bad_params(tmp_path, text, message):
    with pytest.raises(ArtifactFormatError, match=message):
        read_params(write(tmp_path, "params.yml", text))


#: Lines of params.yml files: tcbench's own, YAML 1.1's surprises, and lines the fast path
#: must leave to the full parser (comments, quotes, flow collections, anchors, nesting).
PARAMS_LINES = [
    "aug_name: noaug", "flowpic_dim: 32", "seed: 12345", "split_index: -1",
    "learning_rate: 0.001", "gpu_index: '0'", "final: false", "suppress_dropout: False",
    "on: yes", "off: no", "y: n", "nothing: null", "tilde: ~", "empty: ", "hex: 0x1A",
    "octal: 017", "under: 1_000", "exp: 1e3", "expdot: 1.0e+3", "inf: .inf", "nan: .NaN",
    "neg: -.5", "plus: +7", "date: 2001-12-14", "sexagesimal: 1:30", "path: /data/x.parquet",
    "spaces: a b  c  ", "dash: -", "seq: - x", "quoted: 'it''s'", "dq: \"a\"",
    "flow: [1, 2]", "map: {a: 1}", "anchor: &a 1", "alias: *a", "tag: !!str 1",
    "comment: 1 # note", "# a comment", "nested:", "  inner: 1", "colon: a:b", "seed: 7",
    "a.b-c: d", "pipe: |", "gt: >", "percent: %x", "at: @x", "back: `x`",
]


@pytest.mark.parametrize("seed", range(40))
def test_params_fast_path_reads_as_yaml(seed):
    """read_params' line-by-line path gives yaml.load's mapping, or leaves the file to it."""
    rng = random.Random(seed)
    lines = rng.sample(PARAMS_LINES, rng.randint(1, 8))
    if seed % 2:  # half the files hold only lines the fast path takes
        lines = [line for line in lines if _FLAT_LINE.fullmatch(line)] or ["seed: 1"]
    text = "\n".join(lines) + rng.choice(["", "\n", "\n\n"])
    fast = _flat_params(text)
    try:
        whole = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        assert fast is None
        return
    if seed % 2:
        assert fast is not None, text
    if fast is not None:  # repr: NaN equals itself, True differs from 1, dates keep their type
        assert repr(fast) == repr(whole), text


def test_params_fast_path_takes_tcbench_files(tmp_path):
    text = "aug_name: noaug\ngpu_index: '0'\nseed: 12345\nsplit_index: -1\nfinal: false\n"
    assert _flat_params(text) == {
        "aug_name": "noaug", "gpu_index": "0", "seed": 12345, "split_index": -1, "final": False
    }
    # a line YAML rejects sends the file to the full parser, which names the line
    broken = text + "flow: [1, 2\n"
    assert _flat_params(broken) is None
    with pytest.raises(ArtifactFormatError, match=r"not valid YAML at line \d"):
        read_params(write(tmp_path, "params.yml", broken))


def test_unreadable_file_is_named(tmp_path, report_text):
    path = write(tmp_path, "test_class_rep.csv", report_text)
    with pytest.raises(ArtifactFormatError, match="file not found"):
        parse_class_report(tmp_path / "nope_class_rep.csv")
    with pytest.raises(ArtifactFormatError, match="is a directory"):
        parse_class_report(tmp_path)
    assert parse_class_report(path).classes == CLASSES


def test_inventory_reports_each_problem_by_file(tmp_path, report_text, matrix_text):
    folder = tmp_path / ("a" * 24)
    folder.mkdir()
    write(folder, "params.yml", "seed: 1\nsplit_index: 0\n")
    write(folder, "log.txt", "\n")
    write(folder, "test-script_class_rep.csv", report_text)
    write(folder, "test-script_conf_mtx.csv", matrix_text)
    write(folder, "test-human_class_rep.csv", report_text)
    write(folder, "train_class_rep.csv", report_text[:40])
    write(folder, "train_conf_mtx.csv", matrix_text)
    write(folder, "best_model_weights_split_0.pt", b"PK")
    inventory = inventory_artifacts(folder, "a" * 24)
    assert inventory.contexts == ["test-script", "train"]
    assert inventory.params == {"seed": 1, "split_index": 0}
    assert inventory.model_files == ["best_model_weights_split_0.pt"]
    assert inventory.problems == [
        "test-human_conf_mtx.csv is missing (test-human_class_rep.csv exists)",
        "train_class_rep.csv: truncated after 0 rows: no 'accuracy', 'macro avg', "
        "'weighted avg' rows",
    ]


def test_artifact_bytes_read_in_chunks_up_to_one_past_the_limit(tmp_path, monkeypatch):
    """Read in small chunks (not one allocation of the limit), never more than limit + 1
    bytes, whatever the file's size; the whole file when it is within the limit."""
    from tcsummary.core.errors import ArtifactFormatError
    from tcsummary.read import artifacts

    monkeypatch.setattr(artifacts, "READ_CHUNK", 7)
    small = tmp_path / "small.csv"
    small.write_bytes(b"a,b\n" * 10)
    assert artifacts.read_artifact_bytes(small, limit=40) == b"a,b\n" * 10
    assert artifacts._read_at_most(small, 41) == b"a,b\n" * 10
    assert artifacts._read_at_most(small, 9) == b"a,b\na,b\na"
    assert artifacts._read_at_most(small, 7) == b"a,b\na,b"[:7]
    with pytest.raises(ArtifactFormatError, match="larger than 39 bytes"):
        artifacts.read_artifact_bytes(small, limit=39)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert artifacts.read_artifact_bytes(empty) == b""
