"""Rule ``extract`` (extract.smk): a batch of runs' artifact CSVs parsed into one JSON file.

Imports no pandas: an extraction's workers start while another job imports it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..core.files import write_bytes
from ..core.logs import logged_job
from ..core.workers import close_pools
from ..plan.batches import extractions_pending
from ..summarise.extract import encode, extract_batch, read_memo


def memo_path(output: Path) -> Path:
    """Where a batch keeps its previous records (Snakemake deletes outputs before a job)."""
    return output.parent.parent / "extract-memo" / output.name


@logged_job
def extract(
    manifest: Path | str,
    output: Path | str,
    workers: int = 1,
    batches: Sequence[tuple[str, str]] = (),
) -> str:
    """Rule ``extract``: parse the artifact CSVs of a batch of runs into one JSON file.

    The batch's runs and contexts come from its manifest (see
    :func:`plan.batches.batch_manifest`). Runs whose files the manifest lists as
    they were at the batch's last extraction (or whose bytes are unchanged) are
    taken from its memo, so one new or edited run costs one run's reading and
    parsing. ``batches`` (the build's every batch, this one included): when none is
    left to extract, the worker processes end now.
    """
    batch = json.loads(Path(manifest).read_bytes())
    artifacts_dir, hashes, contexts = batch["artifacts"], list(batch["runs"]), batch["contexts"]
    output = Path(output)
    memo = read_memo(memo_path(output))
    records = extract_batch(Path(artifacts_dir), hashes, contexts, memo, workers, batch["runs"])
    data = encode(records)
    write_bytes(output, data)
    write_bytes(memo_path(output), data)
    if batches and not extractions_pending(batches):
        close_pools()
    problems = sum(
        1 for r in records for c in r["contexts"].values() if "problem" in c
    ) + sum(1 for r in records if "folder_problem" in r)
    return f"extracted {len(records)} runs x {len(contexts)} contexts; {problems} problems"
