"""Progress of long steps on stderr: reading thousands of runs, writing an example repository.

A rich progress bar on a terminal; elsewhere (a log file, a SLURM job's output)
one line every few seconds. Nothing at all for a step that ends within
:data:`QUIET_SECONDS`, so fast commands and the tests stay silent, and nothing
goes to stdout, which belongs to the command's data (CSV, JSON).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO, Any

#: A step that ends sooner than this shows nothing.
QUIET_SECONDS = 1.0
#: Without a terminal, one line per this many seconds.
LINE_SECONDS = 5.0


class Progress:
    """Count done items of a known total; shows itself only once the step is slow."""

    def __init__(
        self,
        label: str,
        total: int,
        stream: IO[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        quiet_seconds: float = QUIET_SECONDS,
        line_seconds: float = LINE_SECONDS,
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.started = clock()
        self.quiet_seconds = quiet_seconds
        self.line_seconds = line_seconds
        self._last_line: float | None = None
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _terminal(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = self.clock()
        if now - self.started < self.quiet_seconds:
            return
        if self._terminal():
            if self._bar is None:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    TimeElapsedColumn,
                    TimeRemainingColumn,
                )
                from rich.progress import Progress as Bar

                self._bar = Bar(
                    "[progress.description]{task.description}", BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=Console(file=self.stream), transient=False,
                )
                self._bar.start()
                self._task = self._bar.add_task(self.label, total=self.total)
            self._bar.update(self._task, completed=self.done)
            return
        if self._last_line is None or now - self._last_line >= self.line_seconds:
            self._line(now)

    def _line(self, now: float) -> None:
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        self.stream.write(
            f"tcsummary: {self.label}: {self.done} of {self.total}{share}, "
            f"{now - self.started:.0f} s\n"
        )
        self.stream.flush()
        self._last_line = now

    def close(self) -> None:
        """End the display (a last line when lines were written)."""
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
            self._bar.stop()
            self._bar = None
        elif self._last_line is not None:
            self._line(self.clock())
            self._last_line = None
