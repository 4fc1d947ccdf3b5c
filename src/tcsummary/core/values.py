"""What an hparam value is in a table, when two values are the same, and how values become JSON.

tcbench hparams are whatever the user's script put into ``run["hparams"]``:
numbers, strings, booleans, None, lists (SimCLR's ``augmentations``) and, in
hand-written runs, dicts. Every table, grid and group key in tcsummary goes
through these few functions, so the CLI and the workflow cannot disagree on
what ``[1, 2]`` looks like or on whether ``1`` and ``"1"`` are one value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any


def is_missing(value: Any) -> bool:
    """None or a float NaN (pandas' marker for "this run has no such value")."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def cell(value: Any) -> Any:
    """An hparam value as a table cell: containers as JSON text (hashable and readable)."""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, sort_keys=True)
    return value


def identity(value: Any) -> str:
    """A key under which two hparam values are equal only if they were written the same.

    ``1``, ``1.0``, ``True`` and ``"1"`` are four values (Python's own equality
    merges the first three); NaN and None are one value: missing.
    """
    kind = type(value)
    if kind is str and value.isascii() and value.isprintable() and not _ESCAPED & set(value):
        return f'"{value}"'  # what json.dumps writes, without its cost (called per cell)
    if kind is int:
        return str(value)
    if kind is float and math.isfinite(value):
        return repr(value)  # json.dumps writes a finite float as its repr
    if kind is bool:
        return "true" if value else "false"
    if is_missing(value):
        return "null"
    return json.dumps(value, sort_keys=True, default=str)


def identities(values: Iterable[Any]) -> list[str]:
    """:func:`identity` of each value, computed once per distinct text or integer.

    A column of a campaign repeats a handful of values over thousands of runs, and grouping
    asks for every cell's identity. Only ``str`` and ``int`` are remembered (keyed by type
    and value): floats have a fast path already, and 0.0 == -0.0 would share one entry.
    """
    memo: dict[tuple[type, Any], str] = {}
    out = []
    for value in values:
        kind = type(value)
        if kind is str or kind is int:
            key = (kind, value)
            found = memo.get(key)
            if found is None:
                found = memo[key] = identity(value)
            out.append(found)
        else:
            out.append(identity(value))
    return out


#: Characters json.dumps escapes inside a printable ASCII string.
_ESCAPED = frozenset('"\\')


#: The kind of each plain type's values (bool before int: ``True`` is not a number here).
_KIND_OF = {bool: "bool", int: "number", float: "number", str: "text", dict: "mapping",
            list: "list", tuple: "list", type(None): ""}


def kinds(values: Iterable[Any]) -> set[str]:
    """The kinds of the non-missing values: number, bool, text, list or mapping.

    Decided per type when every value is of a plain type (a column of thousands of runs
    holds one or two), value by value otherwise.
    """
    values = values if isinstance(values, list) else list(values)
    types = set(map(type, values))
    if not types <= _KIND_OF.keys():
        return _kinds_of_each(values)
    found = {_KIND_OF[t] for t in types if t is not float} - {""}
    if float in types and any(type(v) is float and not math.isnan(v) for v in values):
        found.add("number")
    return found


def _kinds_of_each(values: Iterable[Any]) -> set[str]:
    found = set()
    for value in values:
        if is_missing(value):
            continue
        if isinstance(value, bool):
            found.add("bool")
        elif isinstance(value, (int, float)):
            found.add("number")
        elif isinstance(value, str):
            found.add("text")
        elif isinstance(value, dict):
            found.add("mapping")
        else:
            found.add("list")
    return found


def column(values: list[Any]) -> list[Any]:
    """One hparam across runs as a table column that a typed file format can store.

    Values of one kind stay as they are (containers as JSON text); a column
    mixing kinds (``32`` and ``"32"``, ``1`` and ``True``) holds each value's
    JSON text instead, so every run is kept and each value reads as written.
    """
    found = kinds(values)
    if len(found) <= 1:
        if found <= {"number", "bool", "text"}:
            return list(values)  # no container: every cell is the value itself
        return [cell(v) for v in values]
    return [as_written(v) for v in values]


def as_written(value: Any) -> str | None:
    """A value's JSON text (``32`` -> ``32``, ``"32"`` -> ``"32"``); missing stays None."""
    return None if is_missing(value) else identity(value)


def distinct(values: Iterable[Any]) -> list[Any]:
    """The distinct values among ``values`` (by :func:`identity`), first occurrence kept."""
    values = list(values)
    seen: dict[str, Any] = {}
    for key, value in zip(identities(values), values, strict=True):
        if key not in seen:
            seen[key] = None if is_missing(value) else value
    return list(seen.values())


def sort_key(value: Any) -> tuple[int, Any]:
    """Numbers in numeric order, then text, then missing: the natural order of a grid axis."""
    if is_missing(value):
        return (3, "")
    if isinstance(value, bool):
        return (1, str(value))
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, identity(value))


def sorted_values(values: Iterable[Any]) -> list[Any]:
    """Distinct values in :func:`sort_key` order."""
    return sorted(distinct(values), key=sort_key)


def plain(value: Any) -> Any:
    """Plain JSON data: NaN and infinities become null, numpy scalars numbers, tuples lists."""
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:
        return value  # most of a view's leaves: nothing to convert (a third of its writing)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if kind is float:
            return value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        return plain(value.item())
    return value


def names_of(value: Iterable[Any] | None) -> tuple[str, ...] | None:
    """A config list of names as a tuple of text; None (the key's "use the default") stays None."""
    return None if value is None else tuple(str(v) for v in value)
