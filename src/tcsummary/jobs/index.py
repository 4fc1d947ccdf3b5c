"""Rules ``index`` and ``top_index`` (index.smk): the output folder's index pages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.logs import logged_job


@logged_job
def index(
    card_paths: Sequence[Path | str],
    problems_json: Path | str,
    out_dir: Path | str,
    repository: dict[str, Any],
    comparisons: Sequence[dict[str, str]] = (),
) -> str:
    """Rule ``index``: the output folder's index.html and index.md, one line per campaign."""
    from ..render.report import render_index

    cards = [json.loads(Path(p).read_bytes()) for p in card_paths]
    problems = json.loads(Path(problems_json).read_bytes())
    render_index(cards, problems, repository, list(comparisons), Path(out_dir))
    return f"index of {len(cards)} campaigns"


@logged_job
def top_index(
    card_paths: Sequence[Path | str],
    out_dir: Path | str,
    repositories: Sequence[dict[str, Any]],
    comparisons: Sequence[dict[str, str]] = (),
) -> str:
    """Rule ``top_index``: index.html and index.md of an output holding several repositories.

    ``repositories``: name, ``folder`` (relative to ``out_dir``), roots and the paths of
    its campaigns' cards (among ``card_paths``, the rule's input) of each.
    """
    from ..render.report import render_top_index

    cards = {str(p): json.loads(Path(p).read_bytes()) for p in card_paths}
    shown = [
        {**repository, "cards": [cards[str(p)] for p in repository["cards"]]}
        for repository in repositories
    ]
    render_top_index(shown, list(comparisons), Path(out_dir))
    return f"index of {len(shown)} repositories"
