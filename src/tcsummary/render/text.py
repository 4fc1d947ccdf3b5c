"""How text from a repository is written into each output format, so it is never markup.

Class names, hparam values and campaign ids come from user data: in HTML they
are escaped by Jinja's autoescaping, in Markdown and LaTeX by the escapers
below, which the Markdown and LaTeX template environments apply to *every*
``{{ ... }}`` output (``finalize``), so a template cannot forget one. Text the
templates mean literally (a LaTeX brace, a figure's file name) is marked with
``| safe``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from markupsafe import Markup

_LATEX = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
}
#: Characters XML 1.0 cannot contain, whatever the escaping.
_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LATEX_RE = re.compile("|".join(re.escape(c) for c in _LATEX))
#: Markdown specials; ``_`` only where it could start or end emphasis (not inside a word).
_MARKDOWN_RE = re.compile(r"[\\`*\[\]|<>#!]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def fmt(value: Any, digits: int = 2) -> str:
    """A number for people: fixed digits, a dash when there is none."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def decimals(values: Any) -> int:
    """Decimals that tell a metric's means apart: 3 for fractions, 2 for percentages.

    tcbench logs accuracy in percent and f1, precision and recall as fractions: at two
    decimals the fractions read "0.71 ± 0.08" beside "0.69 ± 0.07". ``values`` is a number,
    or the means of a table (rows of cells, each with a ``mean``) or any iterable of numbers;
    3 when every finite one lies within [-1, 1], else 2.
    """
    numbers = [v for v in _means(values) if isinstance(v, (int, float)) and math.isfinite(v)]
    return 3 if numbers and all(abs(v) <= 1 for v in numbers) else 2


def _means(values: Any) -> list[Any]:
    if isinstance(values, dict) and "rows" in values:  # a table: rows of cells with a mean
        return [cell.get("mean") for row in values["rows"] for cell in row.get("cells", [])]
    if isinstance(values, (list, tuple)):
        return list(values)
    return [values]


def runs(count: Any) -> str:
    """``1 run``, ``5 runs``."""
    return f"{count} run" if count == 1 else f"{count} runs"


def interval(half: Any, count: Any, digits: int = 2) -> str:
    """What follows a mean: ``± 1.23``, or why there is no interval.

    A configuration of one run has no ci95; "66.27 ± –" read like a missing value. (No
    leading space: the Markdown cell escape trims it; templates put it before the filter.)
    """
    text = fmt(half, digits)
    if text != "–":
        return f"± {text}"
    return "(one run, no interval)" if count == 1 else "(no interval)"


def duration(summary: dict[str, Any], full: bool = False) -> str:
    """The campaign's run durations in a sentence: what a mean over one run or none can say.

    One rule for both reports: a single run has no spread, and "ci95 ± – s" beside its mean
    read like a value gone missing; ``full`` adds the spread and range the HTML details show.
    """
    count = summary.get("n") or 0
    if count == 0:
        return "not recorded"
    mean = fmt(summary.get("mean"), 1)
    if count == 1:
        return f"{mean} s (one run, no interval)"
    if not full:
        return f"{mean} s mean ± {fmt(summary.get('ci95'), 1)} (ci95) over {runs(count)}"
    return (f"{mean} s mean, {fmt(summary.get('std'), 1)} s std, "
            f"ci95 ± {fmt(summary.get('ci95'), 1)} s ({runs(count)}; "
            f"min {fmt(summary.get('min'), 1)}, max {fmt(summary.get('max'), 1)})")


def pm(mean: Any, half: Any, digits: int = 2, latex: bool = False) -> Markup:
    """A table cell's ``mean ± ci95``; the mean alone where there is no interval.

    A group of one run has no ci95: "0.556 ± –" read like a value gone missing, and the
    table's runs column (or the report's answer) already says it is one run. Markup, so
    that neither the Markdown cell escape nor LaTeX's touches the sign or the spacing.
    """
    text = fmt(half, digits)
    sign = "$\\pm$" if latex else "±"
    cell = fmt(mean, digits) if text == "–" else f"{fmt(mean, digits)} {sign} {text}"
    return Markup(cell)


def untestable_note(table: dict[str, Any], alpha: float) -> str:
    """Why a paper table's column marked with ‡ has no cell marked "not significantly worse".

    With few blocks and several levels, Holm-adjusted paired tests cannot reach alpha
    whatever the numbers; marking every other cell would read like evidence of a tie.
    Empty when every column could be tested.
    """
    flags = table.get("untestable") or []
    if not any(flags):
        return ""
    found = [p for p, flag in zip(table.get("smallest_holm_p") or [], flags, strict=False)
             if flag and p is not None and math.isfinite(p)]
    why = (f"smallest possible Holm-adjusted p {min(found):.3g}" if found
           else "no pair could be tested")
    return (f"‡ a column with too few paired blocks for the Holm-adjusted Wilcoxon tests to "
            f"reach alpha {alpha:g} ({why}): none of its cells is marked (the Friedman test "
            f"and the CD diagram of that column may still tell levels apart).")


def statuses(by_status: dict[str, int]) -> str:
    """``36 finished, 1 unfinished``: the statuses that occur, with their run counts."""
    return ", ".join(f"{n} {status}" for status, n in by_status.items() if n)


def one_line(text: Any) -> str:
    return " ".join(str(text).split())


def latex_escape(text: Any) -> str:
    """Every LaTeX special character once (one pass, so ``\\`` is not escaped twice)."""
    if isinstance(text, Markup):
        return str(text)
    return _LATEX_RE.sub(lambda m: _LATEX[m.group(0)], one_line(text))


def markdown_escape(text: Any) -> str:
    """Markdown table-cell text: specials backslash-escaped, on one line (tables break on \\n)."""
    if isinstance(text, Markup):
        return str(text)
    return _MARKDOWN_RE.sub(lambda m: "\\" + m.group(0), one_line(text))


def xml_escape(text: object) -> str:
    """Text safe inside an element or a double- or single-quoted attribute.

    Characters XML 1.0 cannot contain (control characters, lone surrogates) become U+FFFD,
    since escaping cannot make them legal.
    """
    clean = _INVALID_XML.sub("\ufffd", str(text))
    return (
        clean.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )


def iso_utc(timestamp: float | None) -> str:
    """A run's timestamp as people read it: ``2023-05-19 14:03`` (UTC); empty when unknown."""
    if timestamp is None:
        return ""
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")
