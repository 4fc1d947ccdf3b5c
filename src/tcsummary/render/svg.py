"""Figures as hand-written SVG: confusion-matrix heatmaps and dot-and-whisker plots (mean, ci95).

A build renders one heatmap per group x context x campaign (hundreds are normal);
writing SVG text costs well under a millisecond per figure where a plotting
library costs tens of milliseconds and a second to import. The output is
deterministic text, so rebuilt reports are byte-identical.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .text import decimals
from .text import xml_escape as escape

FONT = "font-family='Helvetica, Arial, sans-serif'"
#: Width of one character at 11-12 px, generous so labels and titles are never clipped.
CHAR = 7.5


def _blue(value: float) -> str:
    """White (0) to dark blue (1); grey for a cell with no data."""
    if math.isnan(value):
        return "#eeeeee"
    v = min(1.0, max(0.0, value))
    r = round(247 - v * (247 - 8))
    g = round(251 - v * (251 - 48))
    b = round(255 - v * (255 - 107))
    return f"#{r:02x}{g:02x}{b:02x}"


def _head(width: str, height: int | float, title: str) -> list[str]:
    """The opening of every figure here: the svg element, its title, the bold caption."""
    return [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' {FONT} font-size='11' role='img'>",
        f"<title>{escape(title)}</title>",
        f"<text x='10' y='16' font-size='12' font-weight='bold'>{escape(title)}</text>",
    ]


def _num(value: float, digits: int = 1) -> str:
    return "–" if math.isnan(value) else f"{value:.{digits}f}"


def heatmap(
    classes: Sequence[str],
    mean: Sequence[Sequence[float]],
    std: Sequence[Sequence[float]],
    title: str,
) -> str:
    """Row-normalised confusion matrix: percent of each true class, ±std over runs."""
    n = len(classes)
    cell = 64
    label_w = max(60, CHAR * max((len(c) for c in classes), default=4))
    left, top = label_w + 40, label_w * 0.75 + 40
    width = max(left + n * cell + 20, 20 + CHAR * 1.1 * len(title))
    height = top + n * cell + 20
    out = [
        *_head(str(width), height, title),
        f"<text x='{left + n * cell / 2}' y='34' text-anchor='middle'>predicted</text>",
        f"<text transform='translate(14,{top + n * cell / 2}) rotate(-90)' "
        "text-anchor='middle'>true</text>",
    ]
    for j, name in enumerate(classes):
        x = left + j * cell + cell / 2
        out.append(
            f"<text transform='translate({x},{top - 6}) rotate(-45)'>{escape(name)}</text>"
        )
    for i, name in enumerate(classes):
        y = top + i * cell
        out.append(
            f"<text x='{left - 6}' y='{y + cell / 2 + 4}' text-anchor='end'>{escape(name)}</text>"
        )
        for j in range(n):
            value = mean[i][j]
            x = left + j * cell
            ink = "#ffffff" if not math.isnan(value) and value > 0.55 else "#222222"
            out.append(
                f"<rect x='{x}' y='{y}' width='{cell}' height='{cell}' fill='{_blue(value)}' "
                "stroke='#ffffff'/>"
            )
            pct = value * 100 if not math.isnan(value) else math.nan
            spread = std[i][j] * 100 if not math.isnan(std[i][j]) else math.nan
            out.append(
                f"<text x='{x + cell / 2}' y='{y + cell / 2}' text-anchor='middle' "
                f"fill='{ink}'>{_num(pct)}</text>"
            )
            if not math.isnan(spread):
                out.append(
                    f"<text x='{x + cell / 2}' y='{y + cell / 2 + 13}' text-anchor='middle' "
                    f"font-size='9' fill='{ink}'>±{_num(spread)}</text>"
                )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2 or 5 times a power of ten apart)."""
    span = high - low
    if span <= 0:
        return [low]
    raw = span / (count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def dot_whisker(
    labels: Sequence[str],
    means: Sequence[float],
    ci95: Sequence[float],
    title: str,
) -> str:
    """A dot per group at its mean with its ci95 whisker, on an axis zoomed to the data.

    Bars from 0 make 70.4 and 72.2 look alike; the axis here spans the intervals
    (plus a margin), so differences and overlaps of the intervals are what one sees.
    """
    row, left_pad = 22, 20
    label_w = max(80, CHAR * max((len(lbl) for lbl in labels), default=4))
    plot_w = 380
    left, top = label_w + left_pad, 30
    ends = [
        (m - (0 if math.isnan(h) else h), m + (0 if math.isnan(h) else h))
        for m, h in zip(means, ci95, strict=True) if not math.isnan(m)
    ]
    low = min((a for a, _ in ends), default=0.0)
    high = max((b for _, b in ends), default=1.0)
    digits = decimals(list(means))  # fractions at 3, as the tables: "0.95" beside "0.97" hid them
    pad = (high - low) * 0.08 or max(abs(high) * 0.01, 0.01)
    low, high = low - pad, high + pad
    height = top + len(labels) * row + 30
    width = max(left + plot_w + 120, 20 + CHAR * 1.1 * len(title))
    scale = plot_w / (high - low)

    def x_of(value: float) -> float:
        return left + (value - low) * scale

    out = [
        *_head(f"{width:.0f}", height, title),
    ]
    axis_y = top + len(labels) * row
    for tick in _nice_ticks(low, high):
        x = x_of(tick)
        out.append(
            f"<line x1='{x:.1f}' y1='{top - 4}' x2='{x:.1f}' y2='{axis_y}' stroke='#dddddd'/>"
        )
        out.append(f"<text x='{x:.1f}' y='{axis_y + 14}' text-anchor='middle'>{tick:g}</text>")
    for i, (label, value, half) in enumerate(zip(labels, means, ci95, strict=True)):
        mid = top + i * row + row / 2
        out.append(f"<text x='{left - 6}' y='{mid + 4}' text-anchor='end'>{escape(label)}</text>")
        if math.isnan(value):
            continue
        text_x = x_of(value) + 8
        if not math.isnan(half):
            lo, hi = x_of(value - half), x_of(value + half)
            out.append(
                f"<path d='M{lo:.1f},{mid} H{hi:.1f} M{lo:.1f},{mid - 5} V{mid + 5} "
                f"M{hi:.1f},{mid - 5} V{mid + 5}' stroke='#222222' fill='none'/>"
            )
            text_x = hi + 6
        out.append(f"<circle cx='{x_of(value):.1f}' cy='{mid}' r='4' fill='#24415f'/>")
        out.append(
            f"<text x='{text_x:.1f}' y='{mid + 4}'>{_num(value, digits)}"
            f"{'' if math.isnan(half) else ' ± ' + _num(half, digits)}</text>"
        )
    out.append("</svg>")
    return "\n".join(out)


#: Distinct colours for up to eight sources (colour-blind safe, Okabe-Ito), then repeated.
SOURCE_COLOURS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00",
                  "#f0e442", "#000000")


def rank_dots(
    levels: Sequence[str],
    sources: Sequence[str],
    ranks: Sequence[Sequence[float]],
    title: str,
) -> str:
    """Average rank of each level per source (the tcbench paper's Figure 5), as a dot plot.

    One row per level, the mean-rank axis from 1 (best, left) to the number of
    levels; a coloured dot per source, so a level that is best on one dataset
    and poor on another shows as a wide row. ``ranks[i][j]``: level i, source j.
    """
    row, top = 24, 30
    label_w = max(80, CHAR * max((len(lbl) for lbl in levels), default=4))
    left, plot_w = label_w + 20, 380
    k = max(2, len(levels))
    legend_w = 30 + CHAR * max((len(s) for s in sources), default=4)
    width = max(left + plot_w + legend_w + 20, 20 + CHAR * 1.1 * len(title))
    height = top + max(len(levels) * row, len(sources) * 18) + 34
    scale = plot_w / (k - 1)

    def x_of(rank: float) -> float:
        return left + (rank - 1) * scale

    out = [
        *_head(f"{width:.0f}", height, title),
    ]
    axis_y = top + len(levels) * row
    for tick in range(1, k + 1):
        x = x_of(tick)
        out.append(
            f"<line x1='{x:.1f}' y1='{top - 4}' x2='{x:.1f}' y2='{axis_y}' stroke='#dddddd'/>"
        )
        out.append(f"<text x='{x:.1f}' y='{axis_y + 14}' text-anchor='middle'>{tick}</text>")
    out.append(
        f"<text x='{left + plot_w / 2:.1f}' y='{axis_y + 28}' text-anchor='middle'>"
        "mean rank (1 = best)</text>"
    )
    for i, label in enumerate(levels):
        mid = top + i * row + row / 2
        out.append(f"<text x='{left - 6}' y='{mid + 4}' text-anchor='end'>{escape(label)}</text>")
        values = [v for v in ranks[i] if not math.isnan(v)]
        if len(values) > 1:
            out.append(
                f"<line x1='{x_of(min(values)):.1f}' y1='{mid}' x2='{x_of(max(values)):.1f}' "
                f"y2='{mid}' stroke='#999999'/>"
            )
        for j, value in enumerate(ranks[i]):
            if math.isnan(value):
                continue
            colour = SOURCE_COLOURS[j % len(SOURCE_COLOURS)]
            out.append(
                f"<circle cx='{x_of(value):.1f}' cy='{mid}' r='5' fill='{colour}' "
                f"fill-opacity='0.85'><title>{escape(sources[j])}: {_num(value, 2)}</title>"
                "</circle>"
            )
    legend_x = left + plot_w + 24
    for j, source in enumerate(sources):
        y = top + j * 18 + 6
        colour = SOURCE_COLOURS[j % len(SOURCE_COLOURS)]
        out.append(f"<circle cx='{legend_x}' cy='{y}' r='5' fill='{colour}'/>")
        out.append(f"<text x='{legend_x + 10}' y='{y + 4}'>{escape(source)}</text>")
    out.append("</svg>")
    return "\n".join(out)
