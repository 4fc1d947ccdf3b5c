"""One build at a time per output folder, whatever the working directory.

Snakemake locks its working directory; two builds started from different
directories on the same repository would still write the same reports. An
exclusive ``flock`` on ``<output>/.tcsummary/build.lock`` closes that gap. The
kernel releases it when the process ends, even on kill -9, so it never goes stale.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from ..core.errors import TcsummaryError


class BuildLocked(TcsummaryError):
    """Another build holds the output folder."""


def hold_build_lock(summary: Path) -> IO[str]:
    """Take the folder's lock or fail at once naming the holder; keep the returned file open."""
    path = summary / ".tcsummary" / "build.lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held while building
    except OSError as exc:
        raise TcsummaryError(
            f"{summary}: cannot write reports here ({exc.strerror}); "
            "set another folder with --config output=<folder>"
        ) from None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise BuildLocked(
            f"{summary}: another build (pid {holder}) is writing these reports; "
            "wait for it to finish, then run again"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
