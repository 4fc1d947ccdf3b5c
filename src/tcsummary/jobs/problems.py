"""Rule ``problems`` (problems.smk): the repository's problems that belong to no campaign."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..core.errors import StrictError, first_of
from ..core.files import write_text
from ..core.logs import logged_job


@logged_job
def problems(problems_json: Path | str, output: Path | str, strict: bool = False) -> str:
    """Rule ``problems``: the repository's problems that belong to no campaign, as CSV."""
    found = json.loads(Path(problems_json).read_bytes())
    if strict and found:
        raise StrictError(first_of([f"{p['path']}: {p['problem']}" for p in found]))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["hash", "path", "problem"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(found)
    write_text(output, buffer.getvalue())
    return f"{len(found)} repository problems"
