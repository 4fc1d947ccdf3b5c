"""Exceptions with messages a researcher can act on.

Every error names the file (or repository) and the problem in one line, so the
CLI and the workflow can print ``str(error)`` without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class TcsummaryError(Exception):
    """Base class of every error this package raises on purpose."""


class RepositoryError(TcsummaryError):
    """The path given is not a readable tcbench repository."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


#: Longest problem text kept: a message quoting a huge file must stay readable in one line.
MAX_PROBLEM_CHARS = 300


def shorten(text: str, limit: int = MAX_PROBLEM_CHARS) -> str:
    """``text`` on one line and at most ``limit`` characters (the cut is marked)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 15] + " ... (shortened)"


class ArtifactFormatError(TcsummaryError):
    """An artifact file (CSV, YAML) does not have the shape tcbench writes."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = shorten(problem)
        super().__init__(f"{self.path}: {self.problem}")

    @property
    def in_folder(self) -> str:
        """``<file name>: <problem>``, for lists that already say which run folder."""
        return f"{self.path.name}: {self.problem}"


class StrictError(TcsummaryError):
    """``strict=true`` and something was excluded."""


def first_of(found: list[str], hint: str = "") -> str:
    """The first problem, and how many more there are (errors stay one line)."""
    more = f" (and {len(found) - 1} more{hint})" if len(found) > 1 else ""
    return f"{found[0]}{more}"
