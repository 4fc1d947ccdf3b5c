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


class ArtifactFormatError(TcsummaryError):
    """An artifact file (CSV, YAML) does not have the shape tcbench writes."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

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
