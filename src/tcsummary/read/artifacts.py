"""Strict parsers for tcbench's per-run artifact files.

tcbench writes sklearn's ``classification_report(output_dict=True)`` transposed
(``<context>_class_rep.csv``) and a labelled confusion matrix
(``<context>_conf_mtx.csv``). Reports built on them are only trustworthy if the
files have exactly that shape, so every deviation raises
:class:`~tcsummary.errors.ArtifactFormatError` naming the file and the problem.

The parsers use the ``csv`` module rather than pandas: a repository of 1,000
runs has ~10,000 such files and pandas' per-call overhead would dominate.
"""

from __future__ import annotations

import csv
import errno
import functools
import io
import math
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import ArtifactFormatError
from ..core.model import ArtifactInventory

#: libyaml's safe loader is ~10x faster than the pure-Python one (1,000 params.yml: 8 s).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CLASS_REPORT_SUFFIX = "_class_rep.csv"
CONF_MATRIX_SUFFIX = "_conf_mtx.csv"
CLASS_REPORT_HEADER = ("index", "precision", "recall", "f1-score", "support")
SUMMARY_ROWS = ("accuracy", "macro avg", "weighted avg")
MODEL_FILE_PATTERN = re.compile(
    r"^(best_model_weights_.*\.pt|xgb_model_split_-?\d+\.json)$"
)
#: Tolerance when comparing numbers a report and a matrix both derive from counts.
TOLERANCE = 1e-6
#: Files larger than this are not tcbench reports (5 classes give ~500 bytes).
MAX_CSV_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ClassReport:
    """One ``<context>_class_rep.csv``: per-class rows plus the three summary rows."""

    path: Path
    classes: tuple[str, ...]
    precision: tuple[float, ...]
    recall: tuple[float, ...]
    f1: tuple[float, ...]
    support: tuple[int, ...]
    accuracy: float
    macro_avg: tuple[float, float, float, int]
    weighted_avg: tuple[float, float, float, int]


@dataclass(frozen=True)
class ConfusionMatrix:
    """One ``<context>_conf_mtx.csv``: rows are true labels, columns predicted labels."""

    path: Path
    classes: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]

    def row_sums(self) -> tuple[int, ...]:
        return tuple(sum(row) for row in self.counts)


def wanted_files(contexts: Iterable[str]) -> list[str]:
    """The files of a run that a report reads for these contexts (params.yml, then CSVs)."""
    names = ["params.yml"]
    for context in contexts:
        names += [f"{context}{CLASS_REPORT_SUFFIX}", f"{context}{CONF_MATRIX_SUFFIX}"]
    return names


#: A file's name, size and mtime (ns) as the manifests and the extraction memo keep it;
#: size and mtime are None for a file that exists but cannot be stat'ed (a broken link).
FileEntry = list[Any]


def file_entries(folder: str, names: Iterable[str]) -> list[FileEntry] | None:
    """Name, size and mtime of each of ``names`` present in ``folder``; None: no folder.

    What decides whether a run's inputs changed: a batch's manifest holds these for
    every run (Snakemake reruns its extraction when they change), and an extraction
    record the ones it saw before reading, so the memo is reused without reading again.
    """
    entries: list[FileEntry] = []
    for name in names:
        path = os.path.join(folder, name)
        try:
            info = os.stat(path)  # follows symlinks, like reading the file
        except FileNotFoundError:
            if os.path.lexists(path):  # a broken link: extraction says which
                entries.append([name, None, None])
            continue
        except OSError:
            entries.append([name, None, None])
            continue
        entries.append([name, info.st_size, info.st_mtime_ns])
    if not entries and not os.path.isdir(folder):
        return None  # no folder (or not a readable one): extraction says which
    return entries


def file_problem(path: Path) -> str | None:
    """Why ``path`` is not a regular file we may read, or None if it is one.

    Checked before opening: ``open()`` on a FIFO blocks forever, and a link to
    ``/dev/zero`` never ends. Links are followed, as reading would.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if path.is_symlink():
            return "broken symbolic link (its target does not exist)"
        return "file not found"
    except PermissionError:
        return "permission denied"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop (too many levels of symbolic links)"
        return f"cannot read ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory, expected a file"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe), not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    return "not a regular file"


def read_artifact_bytes(path: Path, limit: int = MAX_CSV_BYTES) -> bytes:
    """The bytes of a small artifact file: a regular file, read up to ``limit`` bytes.

    Every low-level failure becomes one clear error naming the file; at most
    ``limit + 1`` bytes are ever read, whatever the file claims its size is.
    """
    problem = file_problem(path)
    if problem:
        raise ArtifactFormatError(path, problem)
    try:
        data = _read_at_most(path, limit + 1)
    except PermissionError:
        raise ArtifactFormatError(path, "permission denied") from None
    except OSError as exc:
        raise ArtifactFormatError(path, f"cannot read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise ArtifactFormatError(path, f"larger than {limit} bytes, too large for an artifact")
    return data


#: Bytes asked of the file per read while reading an artifact.
READ_CHUNK = 64 * 1024


def _read_at_most(path: Path, most: int) -> bytes:
    """The file's first ``most`` bytes (all of it when shorter), in reads of :data:`READ_CHUNK`.

    Why not ``read(most)``: Python allocates the whole ``most`` bytes before reading, then
    shrinks them, and a 16 MiB allocation per 500-byte report cost ~20 us, a sixth of an
    extraction's time (11 files a run, 10,000 runs on a cold build). A file's claimed size is
    not trusted: it is read until its end or ``most`` bytes, whichever comes first.
    """
    chunks: list[bytes] = []
    total = 0
    with open(path, "rb", buffering=0) as handle:
        while total < most:
            chunk = handle.read(min(READ_CHUNK, most - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _read_text(path: Path, data: bytes | None = None) -> str:
    """A small artifact file as text (``data``: its bytes, when the caller already read them)."""
    raw = read_artifact_bytes(path) if data is None else data
    if not raw.strip():
        raise ArtifactFormatError(path, "empty file")
    if b"\x00" in raw:
        raise ArtifactFormatError(path, "binary content, not a text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArtifactFormatError(
            path, f"not UTF-8 text (undecodable byte at offset {exc.start})"
        ) from None


def _read_rows(path: Path, data: bytes | None = None) -> list[list[str]]:
    """Read a CSV file into rows (trailing blank lines dropped)."""
    text = _read_text(path, data)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ArtifactFormatError(path, f"malformed CSV ({exc})") from None
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    if not rows:
        raise ArtifactFormatError(path, "no rows, only separators and blanks")
    return rows


def _number(path: Path, row_label: str, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ArtifactFormatError(
            path, f"row '{row_label}': {column} is {text!r}, not a number"
        ) from None
    if not math.isfinite(value):
        raise ArtifactFormatError(
            path, f"row '{row_label}': {column} is {text!r}, not a finite number"
        )
    return value


def _fraction(path: Path, row_label: str, column: str, text: str) -> float:
    value = _number(path, row_label, column, text)
    if not 0.0 <= value <= 1.0:
        raise ArtifactFormatError(
            path, f"row '{row_label}': {column} is {text}, outside 0..1"
        )
    return value


def _count(path: Path, row_label: str, column: str, text: str) -> int:
    value = _number(path, row_label, column, text)
    if value < 0 or value != int(value):
        raise ArtifactFormatError(
            path, f"row '{row_label}': {column} is {text}, not a non-negative integer count"
        )
    return int(value)


def _check_class_names(path: Path, names: Sequence[str], where: str) -> None:
    seen: set[str] = set()
    for name in names:
        if not name.strip():
            raise ArtifactFormatError(path, f"empty class name in {where}")
        if name in seen:
            raise ArtifactFormatError(path, f"class '{name}' appears twice in {where}")
        seen.add(name)


def parse_class_report(path: Path | str, data: bytes | None = None) -> ClassReport:
    """Parse and check a ``<context>_class_rep.csv`` exactly as tcbench writes it."""
    path = Path(path)
    rows = _read_rows(path, data)
    header = tuple(cell.strip() for cell in rows[0])
    if header != CLASS_REPORT_HEADER:
        raise ArtifactFormatError(
            path, f"header is {','.join(rows[0])!r}, expected {','.join(CLASS_REPORT_HEADER)!r}"
        )
    body = rows[1:]
    for number, row in enumerate(body, start=2):
        if len(row) != len(CLASS_REPORT_HEADER):
            raise ArtifactFormatError(
                path, f"line {number} has {len(row)} fields, expected {len(CLASS_REPORT_HEADER)}"
            )
    labels = [row[0] for row in body]
    if "accuracy" not in labels:
        raise ArtifactFormatError(
            path,
            f"truncated after {len(body)} rows: no 'accuracy', 'macro avg', 'weighted avg' rows",
        )
    first_summary = labels.index("accuracy")
    class_rows, summary = body[:first_summary], body[first_summary:]
    if tuple(row[0] for row in summary) != SUMMARY_ROWS:
        found = ", ".join(repr(row[0]) for row in summary)
        expected_rows = first_summary + len(SUMMARY_ROWS)
        if len(summary) < len(SUMMARY_ROWS):
            problem = f"truncated after {len(body)} of {expected_rows} rows"
        else:
            problem = "summary rows are " + found
        raise ArtifactFormatError(
            path, f"{problem}: expected 'accuracy', 'macro avg', 'weighted avg' after the classes"
        )
    if not class_rows:
        raise ArtifactFormatError(path, "no class rows before 'accuracy'")
    classes = tuple(row[0] for row in class_rows)
    _check_class_names(path, classes, "the class rows")

    precision, recall, f1, support = [], [], [], []
    for label, p, r, f, s in class_rows:
        precision.append(_fraction(path, label, "precision", p))
        recall.append(_fraction(path, label, "recall", r))
        f1.append(_fraction(path, label, "f1-score", f))
        support.append(_count(path, label, "support", s))

    acc_cells = summary[0][1:]
    accuracy = _fraction(path, "accuracy", "precision", acc_cells[0])
    for column, cell in zip(CLASS_REPORT_HEADER[2:], acc_cells[1:], strict=True):
        if abs(_number(path, "accuracy", column, cell) - accuracy) > TOLERANCE:
            raise ArtifactFormatError(
                path, f"row 'accuracy': {column} is {cell}, expected the accuracy {acc_cells[0]}"
            )

    total = sum(support)
    averages = []
    for label, p, r, f, s in summary[1:]:
        values = (
            _fraction(path, label, "precision", p),
            _fraction(path, label, "recall", r),
            _fraction(path, label, "f1-score", f),
            _count(path, label, "support", s),
        )
        if values[3] != total:
            raise ArtifactFormatError(
                path, f"row '{label}': support is {s}, expected the sum of class supports {total}"
            )
        averages.append(values)

    return ClassReport(
        path=path,
        classes=classes,
        precision=tuple(precision),
        recall=tuple(recall),
        f1=tuple(f1),
        support=tuple(support),
        accuracy=accuracy,
        macro_avg=averages[0],
        weighted_avg=averages[1],
    )


def parse_confusion_matrix(path: Path | str, data: bytes | None = None) -> ConfusionMatrix:
    """Parse and check a ``<context>_conf_mtx.csv``: square, labelled, integer counts."""
    path = Path(path)
    rows = _read_rows(path, data)
    header = rows[0]
    if not header or header[0].strip() != "index":
        raise ArtifactFormatError(
            path, f"header starts with {header[0] if header else ''!r}, expected 'index'"
        )
    classes = tuple(header[1:])
    if not classes:
        raise ArtifactFormatError(path, "header names no classes")
    _check_class_names(path, classes, "the header")
    body = rows[1:]
    if len(body) < len(classes):
        raise ArtifactFormatError(
            path, f"truncated after {len(body)} of {len(classes)} rows"
        )
    if len(body) > len(classes):
        raise ArtifactFormatError(
            path, f"not square: {len(body)} rows for {len(classes)} classes"
        )
    counts = []
    for number, (row, expected) in enumerate(zip(body, classes, strict=True), start=2):
        if len(row) != len(classes) + 1:
            raise ArtifactFormatError(
                path, f"line {number} has {len(row)} fields, expected {len(classes) + 1}"
            )
        if row[0] != expected:
            raise ArtifactFormatError(
                path,
                f"line {number} is labelled {row[0]!r}, expected {expected!r} "
                "(same order as the header)",
            )
        counts.append(
            tuple(
                _count(path, row[0], f"column '{col}'", cell)
                for col, cell in zip(classes, row[1:], strict=True)
            )
        )
    return ConfusionMatrix(path=path, classes=classes, counts=tuple(counts))


def check_report_matches_matrix(report: ClassReport, matrix: ConfusionMatrix) -> None:
    """Cross-check a context's two files; catches tcbench's shifted-label flaw.

    tcbench maps class names onto matrix rows by position, so a class absent from
    both targets and predictions shifts every later label. The per-class support
    of the report then no longer equals the matrix row sums.
    """
    if report.classes != matrix.classes:
        raise ArtifactFormatError(
            matrix.path,
            f"classes {list(matrix.classes)} differ from {report.path.name} "
            f"classes {list(report.classes)}",
        )
    row_sums = matrix.row_sums()
    for name, support, row_sum in zip(report.classes, report.support, row_sums, strict=True):
        if support != row_sum:
            raise ArtifactFormatError(
                matrix.path,
                f"row '{name}' sums to {row_sum} but {report.path.name} gives support "
                f"{support}: labels may be shifted",
            )
    for i, (name, row_sum) in enumerate(zip(report.classes, row_sums, strict=True)):
        recall = matrix.counts[i][i] / row_sum if row_sum else 0.0
        if abs(recall - report.recall[i]) > TOLERANCE:
            raise ArtifactFormatError(
                matrix.path,
                f"class '{name}': recall from the matrix is {recall:.6f} but "
                f"{report.path.name} gives {report.recall[i]:.6f}",
            )


#: A line :func:`_flat_params` may hand to YAML on its own: a top-level key, ``": "``, then
#: nothing, a single-quoted scalar closed on the line, or a plain scalar free of every
#: character that could start a comment, tag, anchor, alias, flow collection, quote or
#: nested mapping. Such lines cannot continue on, or refer to, another line.
_FLAT_LINE = re.compile(
    r"[A-Za-z_][A-Za-z0-9_.-]*: (?:'[^'\t\r]*'|[A-Za-z0-9_.+/-][^\t\r#:'\"&*!|>%@`{}\[\],]*)?"
)


@functools.lru_cache(maxsize=4096)
def _flat_line(line: str) -> tuple[Any, Any]:
    """One ``key: value`` line as YAML reads it (the same lines recur across a campaign)."""
    ((key, value),) = yaml.load(line, Loader=_SAFE_LOADER).items()
    return key, value


def _flat_params(text: str) -> dict[Any, Any] | None:
    """``params.yml`` read line by line when every line is a plain ``key: value``; else None.

    tcbench writes exactly such files, and YAML reads a document of them as the union of its
    lines (a repeated key: the last wins), so the result is ``yaml.load``'s. Parsing each
    distinct line once instead of every file whole saves ~0.2 ms of each run's extraction.
    Anything else (comments, nesting, quotes spanning lines, errors) goes to the full parser.
    """
    lines = [line for line in text.split("\n") if line]
    if not lines or not all(_FLAT_LINE.fullmatch(line) for line in lines):
        return None
    try:
        return dict(_flat_line(line) for line in lines)
    except (yaml.YAMLError, ValueError):
        return None


def read_params(path: Path | str, data: bytes | None = None) -> dict[str, Any]:
    """Read a run's ``params.yml``: a flat YAML mapping of the run's CLI arguments."""
    path = Path(path)
    text = _read_text(path, data)
    flat = _flat_params(text)
    if flat is not None:
        return {str(key): value for key, value in flat.items()}
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ArtifactFormatError(path, f"not valid YAML{where}") from None
    if data is None:
        raise ArtifactFormatError(path, "empty file")
    if not isinstance(data, dict):
        raise ArtifactFormatError(
            path, f"expected a mapping of parameters, got a {type(data).__name__}"
        )
    return {str(key): value for key, value in data.items()}


def check_params(path: Path, data: bytes | None = None) -> tuple[dict[str, Any] | None, str | None]:
    """A run's ``params.yml`` and what is wrong with it (one of the two is None)."""
    if data is None and not os.path.lexists(path):
        return None, f"{path.name} is missing"
    try:
        return read_params(path, data), None
    except ArtifactFormatError as exc:
        return None, exc.in_folder


def check_context(
    folder: Path, context: str, data: dict[str, bytes] | None = None
) -> tuple[ClassReport, ConfusionMatrix]:
    """Parse and cross-check the two files of one context of one run (``data``: name -> bytes)."""
    data = data or {}
    report_name, matrix_name = f"{context}{CLASS_REPORT_SUFFIX}", f"{context}{CONF_MATRIX_SUFFIX}"
    report = parse_class_report(folder / report_name, data.get(report_name))
    matrix = parse_confusion_matrix(folder / matrix_name, data.get(matrix_name))
    check_report_matches_matrix(report, matrix)
    return report, matrix


def inventory_artifacts(folder: Path, run_hash: str, validate: bool = True) -> ArtifactInventory:
    """List one run's artifact folder; with ``validate``, parse every file and note problems.

    Problems are recorded, not raised: one broken file must not hide the rest of
    the repository. Each problem starts with the file name it is about.
    """
    inventory = ArtifactInventory(hash=run_hash, path=folder)
    try:
        names = sorted(entry.name for entry in folder.iterdir())
    except OSError as exc:
        inventory.problems.append(f"artifact folder unreadable ({exc.strerror or exc})")
        return inventory
    for name in names:
        if name.endswith(CLASS_REPORT_SUFFIX):
            inventory.class_reports[name[: -len(CLASS_REPORT_SUFFIX)]] = name
        elif name.endswith(CONF_MATRIX_SUFFIX):
            inventory.confusion_matrices[name[: -len(CONF_MATRIX_SUFFIX)]] = name
        elif MODEL_FILE_PATTERN.match(name):
            inventory.model_files.append(name)
    inventory.has_log = "log.txt" in names

    if "params.yml" not in names:
        inventory.problems.append("params.yml is missing")
    elif validate:
        inventory.params, problem = check_params(folder / "params.yml")
        if problem:
            inventory.problems.append(problem)
    for context in sorted(set(inventory.class_reports) - set(inventory.confusion_matrices)):
        inventory.problems.append(
            f"{context}{CONF_MATRIX_SUFFIX} is missing ({context}{CLASS_REPORT_SUFFIX} exists)"
        )
    for context in sorted(set(inventory.confusion_matrices) - set(inventory.class_reports)):
        inventory.problems.append(
            f"{context}{CLASS_REPORT_SUFFIX} is missing ({context}{CONF_MATRIX_SUFFIX} exists)"
        )
    if validate:
        for context in inventory.contexts:
            try:
                check_context(folder, context)
            except ArtifactFormatError as exc:
                inventory.problems.append(exc.in_folder)
    return inventory
