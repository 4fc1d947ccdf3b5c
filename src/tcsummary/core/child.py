"""Run a stage's entry point in a fresh Python process, from a job thread.

The build's jobs are threads of the Snakemake process and share one interpreter lock:
at most one core runs them, however many cores the build has. A job that needs only
light modules (rendering: jinja2, no pandas, ~0.15 s to import) can instead run in a
child process and use another core, overlapping with the in-process jobs.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from .errors import TcsummaryError

logger = logging.getLogger(__name__)
#: The folder holding the ``tcsummary`` package: a child imports this very copy.
PACKAGE_PARENT = Path(__file__).resolve().parents[2]


def child_environment() -> dict[str, str]:
    """This process's environment, with this copy of ``tcsummary`` importable in a child.

    Installed (in site-packages) it is importable as it is: the folder is left off, since
    ahead of the standard library it would let any installed package shadow a standard
    module. From a source tree (``src/``, a checkout on ``PYTHONPATH``) the folder goes first.
    """
    env = dict(os.environ)
    if PACKAGE_PARENT.name in ("site-packages", "dist-packages"):
        return env
    env["PYTHONPATH"] = os.pathsep.join(
        [str(PACKAGE_PARENT), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
    )
    return env


class ChildError(TcsummaryError):
    """A child process failed; the message is its last line of stderr (the reason)."""

    def __init__(self, module: str, reason: str) -> None:
        self.module = module
        super().__init__(f"{module} failed in a child process: {reason}")


def run_module(module: str, *args: str) -> str:
    """``python -m module args`` with this interpreter and this package; returns its stdout.

    The child's stderr goes to the calling job's log (a traceback on failure, warnings
    otherwise); a failure raises :class:`ChildError` with the traceback's last line.
    """
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        env=child_environment(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
        check=False,
    )
    errors = done.stderr.strip()
    if done.returncode != 0:
        if errors:
            logger.error("%s, in a child process:\n%s", module, errors)
        lines = errors.splitlines()
        raise ChildError(module, lines[-1] if lines else f"exit status {done.returncode}")
    if errors:
        logger.warning("%s, in a child process:\n%s", module, errors)
    return done.stdout
