"""The CLI's tables of runs: one row per run for ``tcsummary ls``, in people's terms.

Only presentation lives here (which columns, how a timestamp or an artifact
folder reads); what a value, a grid or a campaign is comes from the stages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core import values as hv
from ..core.model import ArtifactInventory, RepositoryScan, RunInfo
from ..render.text import iso_utc

if TYPE_CHECKING:
    import pandas as pd

#: Columns every run row has, before its hparams.
RUN_COLUMNS = (
    "hash", "campaign", "experiment", "status", "created", "duration", "artifacts", "problems",
)


def artifact_summary(inventory: ArtifactInventory | None) -> str:
    """A short human summary: how many contexts have both CSVs, and whether weights exist."""
    if inventory is None:
        return "no folder"
    parts = [f"{len(inventory.contexts)} ctx"]
    parts.append("model" if inventory.model_files else "no model")
    return ", ".join(parts)


def problems_of(run: RunInfo, inventory: ArtifactInventory | None) -> list[str]:
    """Everything wrong with one run: Aim's side, then its artifact folder's."""
    problems = list(run.problems)
    if inventory is None:
        problems.append("no artifact folder")
    else:
        problems.extend(inventory.problems)
    return problems


def run_records(scan: RepositoryScan, campaign: str | None = None) -> list[dict[str, Any]]:
    """One record per Aim run: identity, status, timing, artifacts, problems, every hparam.

    In table order (campaign, creation time, hash). Plain data: the default table is
    printed from these without pandas; :func:`runs_frame` types them for csv, json and
    ``--where``.
    """
    records = []
    labelled = [(run.campaign, run) for run in scan.runs.values()]
    labelled.sort(key=lambda pair: (pair[0], pair[1].creation_time or 0, pair[1].hash))
    for label, run in labelled:
        if campaign is not None and label != campaign:
            continue
        inventory = scan.artifacts.get(run.hash)
        record: dict[str, Any] = {
            "hash": run.hash,
            "campaign": label,
            "experiment": run.experiment,
            "status": run.status,
            "created": iso_utc(run.creation_time),
            "duration": run.duration,
            "artifacts": artifact_summary(inventory),
            "problems": "; ".join(problems_of(run, inventory)),
        }
        for key, value in run.hparams.items():
            if key not in record:
                record[key] = hv.cell(value)
        records.append(record)
    return records


def runs_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """:func:`run_records` as a DataFrame: every run column, then the hparams sorted."""
    import pandas as pd  # ~0.4 s: only csv, json and --where need it

    frame = pd.DataFrame.from_records(records, columns=None if records else list(RUN_COLUMNS))
    hparam_columns = sorted(c for c in frame.columns if c not in RUN_COLUMNS)
    frame = frame[list(RUN_COLUMNS) + hparam_columns]
    # Integer hparams stay integers even where some runs lack them (nullable Int64).
    for column in hparam_columns:
        if _integer_column(frame[column]):
            frame[column] = frame[column].astype("Int64")
    return frame


def _integer_column(series: pd.Series) -> bool:
    """Ints, or ints turned float by pandas because some runs lack the hparam."""
    if series.dtype == "int64":
        return True
    if series.dtype == "float64":  # numbers only: whole ones with gaps are ints pandas widened
        values = series.dropna()
        return bool(len(values) and len(values) < len(series) and (values % 1 == 0).all())
    if series.dtype != object:
        return False
    values = series.dropna()
    if not len(values) or any(isinstance(v, bool) for v in values):
        return False
    if all(isinstance(v, int) for v in values):
        return True
    has_gaps = len(values) < len(series)
    return has_gaps and all(isinstance(v, float) and v.is_integer() for v in values)
