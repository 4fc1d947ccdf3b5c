"""What several jobs share: how tables and JSON views are written, where statistics are kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core import values as hv
from ..summarise.memo import StatsMemo


def stats_memo_path(work_file: Path | str) -> Path:
    """Where a job keeps its statistics for the next build: beside its work file, undeclared
    (Snakemake deletes a job's outputs before it runs)."""
    return Path(work_file).with_name("stats-memo.pkl")


def read_stats_memo(work_file: Path | str) -> StatsMemo:
    """The statistics the job's previous run kept (:mod:`summarise.memo`); empty without."""
    try:
        data = stats_memo_path(work_file).read_bytes()
    except OSError:
        data = None
    return StatsMemo.decode(data)


def csv_text(frame: Any) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def json_text(data: Any, **kwargs: Any) -> str:
    return json.dumps(hv.plain(data), sort_keys=True, **kwargs)
