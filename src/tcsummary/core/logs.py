"""Logging for workflow jobs and the command line: what a job did, and why it failed.

Jobs run as threads of the Snakemake process, so one process serves many jobs
at once. :func:`job_log` attaches a handler that keeps only the records of the
calling thread and writes them to the job's log file; a failing job leaves its
full traceback there and a last line with the one-line reason. Nothing here
depends on the clock, so a ``--forceall`` rebuild writes the same log bytes.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from .errors import TcsummaryError
from .memory import gc_paused, release_freed_memory

ROOT_LOGGER = "tcsummary"
FORMAT = "%(levelname)s %(name)s: %(message)s"

F = TypeVar("F", bound=Callable[..., Any])


class _ThisThread(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.ident = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.ident


def console_logging(level: int = logging.WARNING) -> None:
    """Send the package's warnings to stderr once per process (idempotent)."""
    logger = logging.getLogger(ROOT_LOGGER)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if not any(getattr(h, "_tcsummary_console", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(level)
        handler.setFormatter(logging.Formatter("tcsummary: %(message)s"))
        handler._tcsummary_console = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


@contextlib.contextmanager
def job_log(path: Path | str | None, job: str) -> Iterator[logging.Logger]:
    """Write this thread's log records to ``path``; on failure, the traceback and the reason."""
    logger = logging.getLogger(f"{ROOT_LOGGER}.jobs")
    if path is None:
        yield logger
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(_ThisThread())
    root = logging.getLogger(ROOT_LOGGER)
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        logger.info("%s: started", job)
        yield logger
    except BaseException as exc:
        reason = str(exc) if isinstance(exc, TcsummaryError) else f"{type(exc).__name__}: {exc}"
        logger.error("%s failed", job, exc_info=True)
        logger.error("reason: %s", reason)
        raise
    finally:
        root.removeHandler(handler)
        handler.close()


def logged_job(func: F) -> F:
    """A rule's package function: takes ``log=<path>``, logs what it returns, or why it failed.

    The body runs with the cyclic garbage collector paused (:func:`gc_paused`): a job builds
    hundreds of thousands of objects and makes no reference cycles (an aggregation of 2,500
    runs leaves 64 small closure objects for the collector, a comparison 33), so each
    collection it triggered walked the Snakemake process's whole heap for nothing. One new
    run among 10,000: the collector's time in the build 0.42 -> 0.16 s (0.15 s of the rest
    is Snakemake's own start-up), wall 5.72 -> 5.09 s, peak RSS unchanged.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, log: Path | str | None = None, **kwargs: Any) -> Any:
        try:
            with job_log(log, func.__name__) as logger, gc_paused():
                note = func(*args, **kwargs)
                logger.info("%s: %s", func.__name__, note)
                return note
        finally:
            release_freed_memory()

    return wrapper  # type: ignore[return-value]
