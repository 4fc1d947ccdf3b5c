"""Render a campaign's report: one self-contained HTML, Markdown, LaTeX tables, SVG figures.

Input is the plain JSON view the aggregation wrote; output depends on nothing
else (no clock, no environment), so rebuilds are byte-identical. Templates live
in ``tcsummary/templates``; figures come from :mod:`svg`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2

from ..core.files import safe_name, write_text
from . import svg

TEMPLATES = Path(__file__).parent / "templates"


def fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def latex_escape(text: Any) -> str:
    out = str(text)
    for char, repl in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"),
                       ("#", r"\#"), ("_", r"\_"), ("{", r"\{"), ("}", r"\}"),
                       ("~", r"\textasciitilde{}"), ("^", r"\textasciicircum{}")):
        out = out.replace(char, repl)
    return out


def lower_is_better(metric: str) -> bool:
    return "loss" in metric or metric in {"duration", "run_duration"}


def group_label(keys: Sequence[str], record: dict[str, Any]) -> str:
    if list(keys) == ["campaign_id"]:
        return f"campaign {record['campaign_id']}"
    return ", ".join(f"{k}={record[k]}" for k in keys)


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    """One environment per process: compiling the templates costs ~0.2 s."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html"]),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["fmt"] = fmt
    env.filters["tex"] = latex_escape
    return env


def _axis_end(metric: str, values: Sequence[float]) -> float:
    finite = [v for v in values if v is not None and not math.isnan(v)]
    top = max(finite, default=1.0)
    if metric == "acc" or top > 1.0:
        return 100.0 if top <= 100.0 else top * 1.1
    return 1.0


def best_flags(values: Sequence[Any], lower: bool) -> list[bool]:
    finite = [v for v in values if v is not None and not math.isnan(v)]
    if not finite:
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
            lower = lower_is_better(metric)
            columns = ("mean", "median", "min", "max")
            bold = {c: best_flags([r[c] for r in rows], lower) for c in columns}
            figure = svg.metric_bars(
                [r["label"] for r in rows],
                [math.nan if r["mean"] is None else r["mean"] for r in rows],
                [math.nan if r["ci95"] is None else r["ci95"] for r in rows],
                f"{metric} on {context} (mean ± ci95)",
                _axis_end(metric, [r["max"] for r in rows if r["max"] is not None]),
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


def confusion_sections(view: dict[str, Any]) -> list[dict[str, Any]]:
    keys = view["settings"]["groupby"]
    out = []
    for item in view["confusions"]:
        label = group_label(keys, item["keys"])
        nan = math.nan
        mean = [[nan if v is None else v for v in row] for row in item["mean"]]
        std = [[nan if v is None else v for v in row] for row in item["std"]]
        name = safe_name(f"confusion_{item['context']}_{label}")
        title = f"{item['context']} · {label} ({item['runs']} runs, % of true class)"
        out.append({
            "context": item["context"],
            "label": label,
            "runs": item["runs"],
            "figure": svg.heatmap(item["classes"], mean, std, title),
            "figure_file": f"figures/{name}.svg",
        })
    return out


def render_campaign(view: dict[str, Any], out_dir: Path) -> int:
    """Write every rendered file of a campaign; returns the number of figures."""
    env = _environment()
    metrics = metric_sections(view)
    confusions = confusion_sections(view)
    per_class = {}
    keys = view["settings"]["groupby"]
    for row in view["per_class"]:
        row["label"] = group_label(keys, row)
        per_class.setdefault(row["context"], []).append(row)
    context = {
        "view": view,
        "keys": keys,
        "metrics": metrics,
        "confusions": confusions,
        "per_class": per_class,
    }
    for section in metrics + confusions:
        write_text(out_dir / section["figure_file"], section["figure"])
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    (out_dir / "tables").mkdir(parents=True, exist_ok=True)
    table = env.get_template("table.tex.j2")
    for section in metrics:
        write_text(out_dir / section["table_file"], table.render(section=section, keys=keys))
    write_text(out_dir / "report.html", env.get_template("report.html.j2").render(**context))
    write_text(out_dir / "report.md", env.get_template("report.md.j2").render(**context))
    return len(metrics) + len(confusions)
