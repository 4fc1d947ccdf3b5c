"""Critical-difference (CD) diagram as a standalone SVG string (pure, no I/O, no scripts).

This module owns the drawing of Demšar's CD diagram from mean ranks and a critical difference
(both computed by ``tcsummary.summarise.comparisons``): a rank axis 1..k, each level dropped
to its label (half the levels labelled on the left, half on the right), a bar of length CD
above the axis, and thick bars joining the levels whose mean ranks lie within CD of each other
(only maximal groups, as Orange's ``graph_ranks`` and ``autorank.plot_stats`` draw them).

By default rank 1 (best) is on the left, as in Orange; ``best_on_right=True`` gives the
layout of ``autorank.plot_stats`` (and so of the tcbench paper's figures), which reverses the
axis. Labels come from user data: every text is XML-escaped and stripped of characters XML
cannot hold, and sizes are computed from label lengths so no text is clipped.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

from .text import xml_escape

CHAR_PX = 7.0  # average advance of one character at FONT_PX, for sans-serif
FONT_PX = 12
TITLE_FONT_PX = 14
TITLE_CHAR_PX = 8.5
NOTE_FONT_PX = 11
NOTE_CHAR_PX = 6.5
TARGET_WIDTH = 700.0
MIN_AXIS_PX = 280.0
MARGIN = 16.0
LABEL_GAP = 10.0  # axis end -> elbow of the label line
TEXT_GAP = 4.0  # elbow -> text
ROW_PX = 20.0  # vertical distance between two labels on one side
BAR_STEP = 8.0  # vertical distance between two clique bars
BAR_OVERHANG = 4.0
TOLERANCE = 1e-9  # mean ranks exactly CD apart count as "within CD" despite float error



def cliques(sorted_ranks: Sequence[float], cd: float) -> list[tuple[int, int]]:
    """Maximal runs (i, j), i < j, of ascending mean ranks lying within ``cd`` of each other.

    A bar joins levels i..j when rank[j] - rank[i] <= cd; a run contained in an earlier,
    longer one is not drawn (Orange / autorank rule), so each bar is a maximal group of levels
    that the Nemenyi test cannot tell apart. Empty when ``cd`` is NaN.
    """
    if cd is None or math.isnan(cd):
        return []
    groups: list[tuple[int, int]] = []
    reach = -1
    for i, low in enumerate(sorted_ranks):
        j = i
        while j + 1 < len(sorted_ranks) and sorted_ranks[j + 1] - low <= cd + TOLERANCE:
            j += 1
        if j > i and j > reach:
            groups.append((i, j))
            reach = j
    return groups


def _pairs(ranks: Mapping[Hashable, float] | Iterable[tuple[Hashable, float]]) -> list[Any]:
    items = ranks.items() if hasattr(ranks, "items") else ranks
    return [(label, float(rank)) for label, rank in items]


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def _text(x: float, y: float, body: str, cls: str, **attrs: str) -> str:
    extra = "".join(f' {key.replace("_", "-")}="{val}"' for key, val in attrs.items())
    return f'<text class="{cls}" x="{_fmt(x)}" y="{_fmt(y)}"{extra}>{body}</text>'


def _line(x1: float, y1: float, x2: float, y2: float, width: float = 1.0) -> str:
    return (
        f'<line x1="{_fmt(x1)}" y1="{_fmt(y1)}" x2="{_fmt(x2)}" y2="{_fmt(y2)}" '
        f'stroke="black" stroke-width="{width:g}"/>'
    )


def cd_diagram(
    ranks: Mapping[Hashable, float] | Iterable[tuple[Hashable, float]],
    cd: float,
    title: str,
    lower_is_better: bool = False,
    *,
    note: str = "",
    best_on_right: bool = False,
    joined: bool = False,
) -> str:
    """Standalone SVG of a CD diagram for levels with mean ranks (1 = best) and CD.

    ``ranks`` maps level -> mean rank (a dict, a pandas Series or (level, rank) pairs).
    Levels with a NaN rank are not placed. With a NaN ``cd`` (too few blocks, k == 2) the
    ranks are drawn without CD bar and cliques, and ``note`` (or a default) says why.
    ``lower_is_better`` only changes the caption: ranks already have 1 = best.
    ``joined``: without a CD, one bar joins all levels (two levels whose one paired test
    found no difference: drawn apart, the legend's "no bar" would read as a difference).
    """
    entries = _pairs(ranks)
    levels = len(entries)
    placed = sorted(
        ((label, rank) for label, rank in entries if not math.isnan(rank)),
        key=lambda item: item[1],
    )
    has_cd = cd is not None and not math.isnan(cd) and cd > 0
    top = max(2, levels, *(math.ceil(rank) for _, rank in placed))
    if has_cd:
        top = max(top, math.ceil(1 + cd - TOLERANCE))

    texts = [f"{xml_escape(label)} ({rank:.2f})" for label, rank in placed]
    widths = [len(f"{label} ({rank:.2f})") * CHAR_PX for label, rank in placed]
    # order by position on the axis, left to right
    by_x = list(range(len(placed)))
    if best_on_right:
        by_x.reverse()
    n_left = math.ceil(len(placed) / 2)
    left, right = by_x[:n_left], by_x[n_left:]
    left_px = max((widths[i] for i in left), default=0.0)
    right_px = max((widths[i] for i in right), default=0.0)
    margin_left = MARGIN + left_px + LABEL_GAP + TEXT_GAP
    margin_right = MARGIN + right_px + LABEL_GAP + TEXT_GAP
    axis_px = max(MIN_AXIS_PX, TARGET_WIDTH - margin_left - margin_right)
    title_px = len(title) * TITLE_CHAR_PX + 2 * MARGIN
    axis_px = max(axis_px, title_px - margin_left - margin_right)
    width = margin_left + axis_px + margin_right
    x0, x1 = margin_left, margin_left + axis_px

    def xpos(rank: float) -> float:
        share = (rank - 1.0) / (top - 1.0)
        return x1 - share * axis_px if best_on_right else x0 + share * axis_px

    if not note and not has_cd and not joined:
        note = "no critical difference: too few blocks or levels for the Nemenyi test"
    note_lines = (
        textwrap.wrap(note, max(20, int((width - 2 * MARGIN) / NOTE_CHAR_PX))) if note else []
    )

    title_y = MARGIN + TITLE_FONT_PX
    caption_y = title_y + 18
    cd_y = caption_y + 26
    axis_y = cd_y + 34
    if has_cd:
        groups = cliques([rank for _, rank in placed], cd)
    else:
        groups = [(0, len(placed) - 1)] if joined and len(placed) > 1 else []
    first_bar_y = axis_y + 14
    label_y0 = max(axis_y + 30, first_bar_y + BAR_STEP * len(groups) + 10)
    rows = max(len(left), len(right))
    bottom = label_y0 + max(rows - 1, 0) * ROW_PX + 12
    note_y0 = bottom + 14
    height = note_y0 + len(note_lines) * 15 + MARGIN - 4

    better = "lowest" if lower_is_better else "highest"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_fmt(width)}" '
        f'height="{_fmt(height)}" viewBox="0 0 {_fmt(width)} {_fmt(height)}" '
        f'font-family="sans-serif" font-size="{FONT_PX}">',
        f"<title>{xml_escape(title)}</title>",
        f'<rect x="0" y="0" width="{_fmt(width)}" height="{_fmt(height)}" fill="white"/>',
        _text(width / 2, title_y, xml_escape(title), "title", text_anchor="middle",
              font_size=str(TITLE_FONT_PX), font_weight="bold"),
        _text(width / 2, caption_y,
              f"mean rank over blocks (rank 1 = the {better} value of a block)", "caption",
              text_anchor="middle", font_size=str(NOTE_FONT_PX), fill="#444"),
    ]
    if has_cd:
        start = xpos(1.0)
        end = xpos(1.0 + cd)
        parts += [
            '<g class="cd-bar">',
            _line(start, cd_y, end, cd_y),
            _line(start, cd_y - 5, start, cd_y + 5),
            _line(end, cd_y - 5, end, cd_y + 5),
            _text((start + end) / 2, cd_y - 7, f"CD = {cd:.2f}", "cd", text_anchor="middle"),
            "</g>",
        ]
    # axis with ticks every half rank, labels on whole ranks
    parts.append('<g class="axis">')
    parts.append(_line(x0, axis_y, x1, axis_y))
    for half in range(2, 2 * top + 1):
        rank = half / 2
        tick = 8 if half % 2 == 0 else 4
        parts.append(_line(xpos(rank), axis_y - tick, xpos(rank), axis_y))
        if half % 2 == 0:
            parts.append(
                _text(xpos(rank), axis_y - 12, str(half // 2), "tick", text_anchor="middle")
            )
    parts.append("</g>")
    # one drop line and label per level
    for row, index in enumerate(left):
        parts.append(_label(xpos(placed[index][1]), axis_y, label_y0 + row * ROW_PX,
                            x0 - LABEL_GAP, texts[index], "end"))
    for row, index in enumerate(reversed(right)):
        parts.append(_label(xpos(placed[index][1]), axis_y, label_y0 + row * ROW_PX,
                            x1 + LABEL_GAP, texts[index], "start"))
    # cliques: levels the Nemenyi test cannot tell apart
    for number, (i, j) in enumerate(groups):
        y = first_bar_y + number * BAR_STEP
        xa, xb = sorted((xpos(placed[i][1]), xpos(placed[j][1])))
        members = ", ".join(xml_escape(label) for label, _ in placed[i : j + 1])
        parts.append(
            f'<g class="clique"><title>{members}</title>'
            f"{_line(xa - BAR_OVERHANG, y, xb + BAR_OVERHANG, y, 4)}</g>"
        )
    for number, line in enumerate(note_lines):
        parts.append(
            _text(MARGIN, note_y0 + number * 15, xml_escape(line), "note",
                  font_size=str(NOTE_FONT_PX), font_style="italic", fill="#444")
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _label(x: float, axis_y: float, y: float, elbow_x: float, body: str, anchor: str) -> str:
    """Drop line from the axis to the label row, then across to the label text."""
    text_x = elbow_x - TEXT_GAP if anchor == "end" else elbow_x + TEXT_GAP
    return (
        '<g class="level-line">'
        f'<polyline points="{_fmt(x)},{_fmt(axis_y)} {_fmt(x)},{_fmt(y)} '
        f'{_fmt(elbow_x)},{_fmt(y)}" fill="none" stroke="black" stroke-width="1"/>'
        + _text(text_x, y + 4, body, "level", text_anchor=anchor)
        + "</g>"
    )
