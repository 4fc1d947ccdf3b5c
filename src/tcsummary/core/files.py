"""Files tcsummary writes: never half-written (even after kill -9), never outside their folder.

Everything tcsummary writes goes to a temporary file in the destination folder
and is renamed over the target: on POSIX the rename is atomic, so the target is
either the old complete file or the new complete one. (No fsync: that would
guard against power loss, not against a killed process, and costs milliseconds
per file across hundreds of figures.)
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


#: Distinguishes the temporary files of one process (its threads share it; ``next`` on
#: an itertools counter is atomic under the interpreter lock).
_TEMPORARIES = itertools.count()


def _create_temporary(path: Path) -> tuple[int, str]:
    """Create a new, empty temporary sibling of ``path``; returns its descriptor and name.

    ``os.open`` with ``O_EXCL`` and mode 0666, which the kernel narrows by the umask
    as for any new file (a report is read by the whole group). ``tempfile.mkstemp``
    instead made the file 0600, and reading the umask back for a chmod (jobs run as
    threads: no ``os.umask`` dance) cost 0.7 ms per file: 0.8 s of a 1,000-run cold
    build writing ~1,200 files. The name keeps the ``.<name>.*.tmp`` shape that
    :func:`remove_stale_temporaries` looks for.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = os.path.join(path.parent, f".{path.name}.{os.getpid():x}-{next(_TEMPORARIES):x}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # left by a killed build of a process with the same pid
            continue


@contextlib.contextmanager
def atomic_open(path: Path | str, mode: str = "w") -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; rename it over ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(path)
    try:
        binary = "b" in mode
        with os.fdopen(fd, mode, **({} if binary else {"encoding": "utf-8", "newline": ""})) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove_stale_temporaries(folder: Path) -> int:
    """Delete the temporary files a killed build left behind under ``folder``.

    Only call it while holding the folder's build lock: then no other writer can
    own them. Returns how many were removed.
    """
    removed = 0
    for path in folder.rglob(".*.tmp"):
        with contextlib.suppress(OSError):
            path.unlink()
            removed += 1
    return removed


def write_text(path: Path | str, text: str) -> None:
    with atomic_open(path) as f:
        f.write(text)


def write_bytes(path: Path | str, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def write_if_changed(path: Path | str, data: bytes) -> bool:
    """Write only when the content differs, so the file's mtime means "content changed".

    Snakemake decides what to rebuild from mtimes; a file rewritten with the same
    bytes would make everything downstream look stale.
    """
    path = Path(path)
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    write_bytes(path, data)
    return True


def safe_name(text: str) -> str:
    """A file or folder name for any text that can never leave its parent folder.

    Plain names (tcbench's epoch campaign ids) are kept as they are; anything
    else (slashes, ``..``, spaces, unicode) is reduced to safe characters and
    made unique with a short hash of the original text.
    """
    if _SAFE_NAME.match(text) and ".." not in text:
        return text
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:60] or "x"
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"{safe}-{digest}"


def digest_package(digest: hashlib._Hash, *suffixes: str) -> None:
    """Feed ``digest`` the tcsummary package's files ending in ``suffixes``, path and bytes.

    One walk for every "has the code changed" question (the statistics memo, the params
    files): sorted, so the digest depends on the files alone.
    """
    package = Path(__file__).resolve().parent.parent
    for path in sorted(p for suffix in suffixes for p in package.rglob(f"*{suffix}")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
