"""Render a campaign's report: one self-contained HTML, Markdown, LaTeX tables, SVG figures.

Input is the plain JSON view the aggregation wrote; output depends on nothing
else (no clock, no environment), so rebuilds are byte-identical. Templates live
in ``tcsummary/templates``; figures come from :mod:`svg`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2

from ..core.files import safe_name, write_text
from ..core.model import NO_CAMPAIGN, UNKNOWN_CAMPAIGN
from ..plan.selection import ALL_RUNS, CAMPAIGN_GROUP
from . import svg
from .cd_diagram import cd_diagram
from .text import (
    decimals,
    duration,
    fmt,
    interval,
    iso_utc,
    latex_escape,
    markdown_escape,
    pm,
    runs,
    statuses,
    untestable_note,
)

TEMPLATES = Path(__file__).parent / "templates"


def group_label(keys: Sequence[str], record: dict[str, Any]) -> str:
    if list(keys) == [CAMPAIGN_GROUP]:
        return f"campaign {record[CAMPAIGN_GROUP]}"
    return ", ".join(f"{k}={record[k]}" for k in keys)


class CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Templates compiled once per user and machine instead of in every render process.

    Each report renders in a process of its own (:func:`tcsummary.jobs.render.render_in_child`), and
    compiling its templates was a third of that process's time (~0.15 of ~0.45 s). Jinja2
    keeps the compiled code in a per-user folder of the temporary directory (it creates it
    0700 and refuses one it does not own) and compiles again a template whose source
    changed. ``flavour`` separates the environments: the output format and this module's
    source, which sets their options (autoescape, finalize, whitespace), part of the code.
    A cache never fails a report: a template whose code cannot be stored is compiled again
    next time.
    """

    def __init__(self, flavour: str) -> None:
        super().__init__()
        self.flavour = flavour

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return super().get_cache_key(f"{self.flavour}/{name}", filename)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def template_cache(kind: str) -> CompiledTemplates | None:
    """The compiled-template cache of one environment; None when no safe folder exists."""
    flavour = hashlib.sha256(kind.encode() + Path(__file__).read_bytes()).hexdigest()[:16]
    try:
        return CompiledTemplates(flavour)
    except (OSError, RuntimeError):  # no temporary directory we may use: compile each time
        return None


@functools.lru_cache(maxsize=3)
def environment(kind: str) -> jinja2.Environment:
    """The template environment of one output format (``html``, ``md`` or ``tex``).

    HTML autoescapes; Markdown and LaTeX escape every ``{{ ... }}`` through
    ``finalize``. One environment per format and process, its templates compiled once
    per machine (:class:`CompiledTemplates`).
    """
    finalize = {"md": markdown_escape, "tex": latex_escape}.get(kind)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        bytecode_cache=template_cache(kind),
        autoescape=kind == "html",
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        **({"finalize": finalize} if finalize else {}),
    )
    env.filters["fmt"] = fmt
    env.filters["interval"] = interval
    env.filters["decimals"] = decimals
    env.filters["runs"] = runs
    env.filters["duration"] = duration
    env.filters["pm"] = pm
    env.filters["untestable_note"] = untestable_note
    env.filters["statuses"] = statuses
    return env


def best_flags(values: Sequence[Any], lower: bool) -> list[bool]:
    """Which values are the column's best; none when fewer than two can be compared."""
    finite = [v for v in values if v is not None and not math.isnan(v)]
    if len(finite) < 2:
        return [False] * len(values)
    best = min(finite) if lower else max(finite)
    return [v is not None and not math.isnan(v) and v == best for v in values]


def metric_sections(view: dict[str, Any]) -> list[dict[str, Any]]:
    """Per context and metric: rows (one per group) with stats, and the bar figure."""
    settings = view["settings"]
    keys = settings["groupby"]
    sections = []
    for context in settings["contexts"]:
        for metric in settings["metrics"]:
            rows = [
                r for r in view["metrics"] if r["context"] == context and r["metric"] == metric
            ]
            for row in rows:
                row["label"] = group_label(keys, row)
            lower = view["lower"][metric]  # the campaign's setting (config compare)
            columns = ("mean", "median", "min", "max")
            bold = {c: best_flags([r[c] for r in rows], lower) for c in columns}
            figure = svg.dot_whisker(
                [r["label"] for r in rows],
                [math.nan if r["mean"] is None else r["mean"] for r in rows],
                [math.nan if r["ci95"] is None else r["ci95"] for r in rows],
                f"{metric} on {context} (mean ± ci95)",
            )
            sections.append({
                "context": context,
                "metric": metric,
                "rows": rows,
                "bold": bold,
                "figure": figure,
                "figure_file": f"figures/{safe_name(f'metric_{metric}_{context}')}.svg",
                "table_file": f"tables/{safe_name(f'{metric}_{context}')}.tex",
            })
    return sections


#: Above this many classes a heatmap is unreadable (and huge): the report shows the
#: top confusions and the per-class rows of the weakest classes; the CSVs keep everything.
MAX_HEATMAP_CLASSES = 40
TOP_ROWS = 20


def top_confusions(
    classes: Sequence[str], mean: list[list[float]], std: list[list[float]], limit: int = TOP_ROWS
) -> list[dict[str, Any]]:
    """The largest off-diagonal cells of a row-normalised mean matrix (true -> predicted)."""
    cells = [
        {"true": classes[i], "predicted": classes[j], "mean": mean[i][j], "std": std[i][j]}
        for i in range(len(classes)) for j in range(len(classes))
        if i != j and mean[i][j] is not None and mean[i][j] > 0
    ]
    cells.sort(key=lambda c: (-c["mean"], c["true"], c["predicted"]))
    return cells[:limit]


def confusion_sections(view: dict[str, Any]) -> list[dict[str, Any]]:
    keys = view["settings"]["groupby"]
    out = []
    for item in view["confusions"]:
        label = group_label(keys, item["keys"])
        name = safe_name(f"confusion_{item['context']}_{label}")
        title = (f"{item['context']} · {label} "
                 f"({runs(item['runs'])}, % of true class ± std over runs)")
        section = {
            "context": item["context"],
            "label": label,
            "runs": item["runs"],
            "classes": len(item["classes"]),
            "figure": None,
            "figure_file": None,
            "top": [],
        }
        if len(item["classes"]) > MAX_HEATMAP_CLASSES:
            section["top"] = top_confusions(item["classes"], item["mean"], item["std"])
        else:
            nan = math.nan
            mean = [[nan if v is None else v for v in row] for row in item["mean"]]
            std = [[nan if v is None else v for v in row] for row in item["std"]]
            section["figure"] = svg.heatmap(item["classes"], mean, std, title)
            section["figure_file"] = f"figures/{name}.svg"
        out.append(section)
    return out


def diagram_sections(view: dict[str, Any]) -> list[dict[str, Any]]:
    """One critical-difference diagram per metric x context x factor x stratum."""
    out = []
    for item in view.get("diagrams", []):
        where = f" ({item['stratum']})" if item["stratum"] else ""
        title = f"{item['factor']} on {item['metric']}, {item['context']}{where}"
        cd = math.nan if item["cd"] is None else item["cd"]
        parts = (item["metric"], item["context"], item["factor"], item["stratum"])
        name = safe_name("cd_" + "_".join(parts))
        ranked = [(label, rank) for label, rank in item["ranks"] if rank is not None]
        if not ranked:  # no complete block: the tables say why, there is nothing to draw
            continue
        out.append({
            **item,
            "title": title,
            "levels": len(ranked),
            "figure": cd_diagram(
                ranked, cd,
                f"{title}: mean rank over {item['blocks']} blocks",
                note="; ".join(filter(None, [*diagram_notes(item, view["alpha"]), item["note"]])),
                joined=pair_not_different(item, view["alpha"]),
            ),
            "figure_file": f"figures/{name}.svg",
        })
    return out


def _omnibus_p(diagram: dict[str, Any]) -> float:
    p = diagram.get("omnibus_p")
    return math.nan if not diagram.get("omnibus") or p is None else float(p)


def pair_not_different(diagram: dict[str, Any], alpha: float) -> bool:
    """A two-level diagram whose one Wilcoxon test found no difference: its bar joins both."""
    return diagram.get("omnibus") == "wilcoxon" and not _omnibus_p(diagram) < alpha


def diagram_notes(diagram: dict[str, Any], alpha: float) -> list[str]:
    """``Friedman p = 0.834``, and for two levels whether their one test could decide."""
    p = _omnibus_p(diagram)
    if math.isnan(p):
        return []
    notes = [f"{str(diagram['omnibus']).capitalize()} p = {p:.3g}"]
    if diagram["omnibus"] == "wilcoxon" and not diagram.get("pairs_can_reject", True):
        notes.append(f"too few blocks for the test to reach alpha {alpha:g} (smallest possible "
                     f"p {diagram['smallest_holm_p']:.3g})")
    return notes


def per_class_sections(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per context: the per-class rows shown (all, or the weakest per group when many)."""
    keys = view["settings"]["groupby"]
    by_context: dict[str, list[dict[str, Any]]] = {}
    for row in view["per_class"]:
        row["label"] = group_label(keys, row)
        by_context.setdefault(row["context"], []).append(row)
    sections = {}
    for context, rows in by_context.items():
        classes = len({r["class"] for r in rows})
        shown = rows
        if classes > MAX_HEATMAP_CLASSES:
            by_group: dict[str, list[dict[str, Any]]] = {}
            for row in rows:
                by_group.setdefault(row["label"], []).append(row)
            shown = [
                r for members in by_group.values()
                for r in sorted(members, key=lambda r: (_nan_last(r["f1_mean"]), r["class"]))[
                    :TOP_ROWS
                ]
            ]
        sections[context] = {"rows": shown, "classes": classes, "all": shown is rows}
    return sections


def _nan_last(value: Any) -> float:
    return math.inf if value is None or math.isnan(value) else value


def ranking_groups(diagrams: list[dict[str, Any]], primary: str) -> dict[str, list[Any]]:
    """Which diagrams a report shows, folds and only links: ``shown`` (the primary metric's),
    ``pairs`` (its two-level ones, when some rank three or more levels) and ``others``.

    A two-level diagram is one paired Wilcoxon test drawn: beside real rankings it is folded
    away (the example campaign's page was 18 diagrams long, 12 of them such pairs).
    """
    primary_ones = [d for d in diagrams if d["metric"] == primary]
    several = [d for d in primary_ones if d["levels"] > 2]
    return {
        "shown": several or primary_ones,
        "pairs": [d for d in primary_ones if d["levels"] <= 2] if several else [],
        "others": [d for d in diagrams if d["metric"] != primary],
    }


def render_campaign(view: dict[str, Any], out_dir: Path) -> int:
    """Write every rendered file of a campaign; returns the number of figures."""
    metrics = metric_sections(view)
    confusions = confusion_sections(view)
    diagrams = diagram_sections(view)
    per_class = per_class_sections(view)
    primary = view["settings"]["metrics"][0]
    keys = view["settings"]["groupby"]
    context = {
        "view": view,
        "keys": keys,
        "metrics": metrics,
        "confusions": confusions,
        "per_class": per_class,
        "diagrams": diagrams,
        "diagram_groups": ranking_groups(diagrams, primary),
        "primary": primary,
    }
    for section in metrics + confusions + diagrams:
        if section["figure"] is not None:
            write_text(out_dir / section["figure_file"], section["figure"])
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    (out_dir / "tables").mkdir(parents=True, exist_ok=True)
    table = environment("tex").get_template("table.tex.j2")
    for section in metrics:
        write_text(out_dir / section["table_file"], table.render(section=section, keys=keys))
    paper = environment("tex").get_template("paper.tex.j2")
    for tbl in view.get("paper_tables", []):
        name = safe_name(f"paper_{tbl['metric']}_{tbl['context']}")
        write_text(out_dir / "tables" / f"{name}.tex", paper.render(tbl=tbl, alpha=view["alpha"]))
    html = environment("html").get_template("report.html.j2")
    write_text(out_dir / "report.html", html.render(**context))
    markdown = environment("md").get_template("report.md.j2")
    write_text(out_dir / "report.md", markdown.render(**context))
    return sum(1 for s in metrics + confusions + diagrams if s["figure"] is not None)


def _blocks_text(blocks: Sequence[str]) -> str:
    return " x ".join(blocks) if blocks else "nothing"


def side_by_side_tables(view: dict[str, Any]) -> list[dict[str, Any]]:
    """Per metric x context: configurations (rows) x sources (columns), best per column marked."""
    sources = [s["label"] for s in view["sources"]]
    tables: dict[tuple[str, str], dict[str, Any]] = {}
    for row in view["side_by_side"]:
        key = (row["metric"], row["context"])
        table = tables.setdefault(key, {"metric": key[0], "context": key[1],
                                        "sources": sources, "by_row": {}})
        cells = table["by_row"].setdefault(row["configuration"], {})
        cells[row["source"]] = row
    out = []
    for table in tables.values():
        lower = view["lower"][table["metric"]]  # the comparison's setting (config compare)
        rows = []
        for label, cells in table["by_row"].items():
            rows.append({"label": label or ALL_RUNS, "cells": [
                {"n": cells[s]["n"] if s in cells else 0,
                 "mean": cells[s]["mean"] if s in cells else None,
                 "ci95": cells[s]["ci95"] if s in cells else None,
                 "best": False}
                for s in sources
            ]})
        for j in range(len(sources)):
            column = [r["cells"][j]["mean"] if r["cells"][j]["n"] else None for r in rows]
            for r, flag in zip(rows, best_flags(column, lower), strict=True):
                r["cells"][j]["best"] = flag
        out.append({**table, "rows": rows})
    return out


def by_source_sections(view: dict[str, Any]) -> list[dict[str, Any]]:
    """Per metric x context x factor x stratum: levels x sources mean ranks, and their figure."""
    sources = [s["label"] for s in view["sources"]]
    names = view.get("names", {})
    groups: dict[tuple[str, ...], dict[str, dict[str, float]]] = {}
    for row in view["by_source"]:
        key = (row["metric"], row["context"], row["factor"], row["stratum"])
        level = names.get(row["factor"], {}).get(str(row["level"]), str(row["level"]))
        groups.setdefault(key, {}).setdefault(level, {})[row["source"]] = row["mean_rank"]
    out = []
    for (metric, context, factor, stratum), levels in groups.items():
        where = f" ({stratum})" if stratum else ""
        title = f"{factor} on {metric}, {context}{where}: mean rank per source"
        matrix = [
            [math.nan if levels[lv].get(s) is None else float(levels[lv][s]) for s in sources]
            for lv in levels
        ]
        name = safe_name("rank_per_source_" + "_".join((metric, context, factor, stratum)))
        out.append({
            "metric": metric, "context": context, "factor": factor, "title": title,
            "sources": sources,
            "rows": [{"level": lv, "ranks": r} for lv, r in zip(levels, matrix, strict=True)],
            "figure": svg.rank_dots(list(levels), sources, matrix, title),
            "figure_file": f"figures/{name}.svg",
        })
    return out


def render_cross(view: dict[str, Any], out_dir: Path) -> int:
    """Write a comparison's report.html, report.md and figures; returns the number of figures."""
    diagrams = diagram_sections(view)
    by_source = by_source_sections(view)
    primary = view["settings"]["metrics"][0]
    context = {
        "view": view,
        "tables": side_by_side_tables(view),
        "diagrams": diagrams,
        "diagram_groups": ranking_groups(diagrams, primary),
        "by_source": by_source,
        "primary": primary,
        "blocks_text": _blocks_text(view["axes"]["blocks"]),
    }
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    for section in diagrams + by_source:
        write_text(out_dir / section["figure_file"], section["figure"])
    (out_dir / "tables").mkdir(parents=True, exist_ok=True)
    latex = environment("tex").get_template("side_by_side.tex.j2")
    for table in context["tables"]:
        name = safe_name(f"side_by_side_{table['metric']}_{table['context']}")
        write_text(out_dir / "tables" / f"{name}.tex", latex.render(t=table))
    html = environment("html").get_template("comparison.html.j2")
    write_text(out_dir / "report.html", html.render(**context))
    markdown = environment("md").get_template("comparison.md.j2")
    write_text(out_dir / "report.md", markdown.render(**context))
    return len(diagrams) + len(by_source)


def render_view(kind: str, work_file: Path | str, out_dir: Path | str) -> int:
    """Render the view file an aggregation (``campaign``) or a comparison wrote; figures written."""
    renderers = {"campaign": render_campaign, "comparison": render_cross}
    if kind not in renderers:
        raise ValueError(f"unknown kind of view {kind!r}: one of {', '.join(renderers)}")
    view = json.loads(Path(work_file).read_bytes())
    return renderers[kind](view, Path(out_dir))


def index_heading(cards: Sequence[dict[str, Any]]) -> str:
    """``2 campaigns, 1 run without a campaign``: the runs grouped apart are no campaign."""
    apart = {NO_CAMPAIGN: "without a campaign", UNKNOWN_CAMPAIGN: "whose campaign is unknown"}
    real = sum(1 for c in cards if c["campaign"] not in apart)
    parts = [f"{real} campaign{'s' if real != 1 else ''}"]
    for label, words in apart.items():
        runs_apart = sum(c["runs"] for c in cards if c["campaign"] == label)
        if runs_apart:
            parts.append(f"{runs(runs_apart)} {words}")
    return ", ".join(parts)


def render_index(
    cards: Sequence[dict[str, Any]],
    problems: Sequence[dict[str, str]],
    repository: dict[str, Any],
    comparisons: Sequence[dict[str, str]],
    out_dir: Path,
) -> None:
    """Write the output folder's index.html and index.md: one line per campaign."""
    # imported here: render jobs run this module in a child process that needs neither the
    # plan nor the readers beneath it (6 MB and 0.07 s of each child's start)
    from ..plan.campaigns import STALE_FOLDER

    shown = [
        {**card, "ended": iso_utc(card["last_end"]), "folder": repository["folders"][i]}
        for i, card in enumerate(cards)
    ]
    context = {
        "cards": shown,
        "heading": index_heading(cards),
        "repository": repository,
        "comparisons": comparisons,
        "problems": [p for p in problems if not p["problem"].startswith(STALE_FOLDER)],
        "stale": [p for p in problems if p["problem"].startswith(STALE_FOLDER)],
        "primary": repository.get("primary", ""),
    }
    html = environment("html").get_template("index.html.j2")
    write_text(out_dir / "index.html", html.render(**context))
    markdown = environment("md").get_template("index.md.j2")
    write_text(out_dir / "index.md", markdown.render(**context))


def render_top_index(
    repositories: Sequence[dict[str, Any]], comparisons: Sequence[dict[str, str]], out_dir: Path
) -> None:
    """Write index.html and index.md of an output folder holding several repositories.

    One line per repository (its campaigns, runs used and by status, the last run's end,
    a link to its own index), then every comparison: where a reader of the folder starts.
    """
    shown = []
    for repository in repositories:
        cards = repository["cards"]
        by_status: dict[str, int] = {}
        for card in cards:
            for status, n in card["by_status"].items():
                by_status[status] = by_status.get(status, 0) + n
        ends = [c["last_end"] for c in cards if c["last_end"] is not None]
        shown.append({
            **repository,
            "used": sum(c["used"] for c in cards),
            "runs": sum(c["runs"] for c in cards),
            "by_status": by_status,
            "ended": iso_utc(max(ends)) if ends else "",
        })
    context = {"repositories": shown, "comparisons": comparisons, "folder": str(out_dir)}
    html = environment("html").get_template("top_index.html.j2")
    write_text(out_dir / "index.html", html.render(**context))
    markdown = environment("md").get_template("top_index.md.j2")
    write_text(out_dir / "index.md", markdown.render(**context))
