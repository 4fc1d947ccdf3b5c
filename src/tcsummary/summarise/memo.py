"""Statistics already computed on the same numbers, taken from the previous build.

Why: a new run changes the numbers of the strata it falls in and no others, yet a campaign's
aggregation and every comparison holding the campaign computed the ranks, tests and variance
components of every stratum again (most of a one-new-run rebuild's own time). A
:class:`StatsMemo` keys each result by a digest of everything its computation reads (where
the stratum's runs fall, their numbers, the direction and alpha), and the memo as a whole by
a digest of the code that computes them (this package's sources, numpy's and scipy's
versions): a result found in it is the one a recomputation gives, so outputs stay
byte-identical (tests build with and without a memo). A job keeps, for the next build, only
the results it used, so the file never grows past one build's statistics.

Where each memo lives (beside the job's work file, never a declared output: Snakemake would
delete it before the job runs) and its reading and writing belong to :mod:`tcsummary.jobs`.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from ..core.files import digest_package

T = TypeVar("T")
_ABSENT = object()


@functools.cache
def code_digest() -> str:
    """Digest of the code behind every memoised result: any change starts an empty memo."""
    import scipy

    digest = hashlib.blake2b(digest_size=16)
    digest_package(digest, ".py")
    digest.update(f"numpy {np.__version__} scipy {scipy.__version__}".encode())
    return digest.hexdigest()


def memo_key(kind: str, *parts: bytes | str) -> bytes:
    """A result's key: its kind and its inputs, each length-prefixed (no two inputs collide)."""
    digest = hashlib.blake2b(kind.encode(), digest_size=16)
    for part in parts:
        data = part if isinstance(part, bytes) else part.encode()
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.digest()


def floats(numbers: Sequence[float]) -> bytes:
    """Numbers as a key part: their exact float64 bytes (NaN payloads included)."""
    return np.asarray(numbers, dtype=float).tobytes()


class StatsMemo:
    """Results by key: the previous build's (read) and this build's (kept for the next).

    Counts its hits and misses for the job's log line.
    """

    def __init__(self, previous: dict[bytes, Any] | None = None) -> None:
        self._previous = previous or {}
        self._used: dict[bytes, Any] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: bytes, compute: Callable[[], T]) -> T:
        """The result under ``key``: remembered, else computed now (and kept)."""
        found = self._used.get(key, _ABSENT)
        if found is _ABSENT:
            found = self._previous.get(key, _ABSENT)
            if found is _ABSENT:
                self.misses += 1
                found = compute()
            else:
                self.hits += 1
            self._used[key] = found
        else:
            self.hits += 1
        return found  # type: ignore[return-value]

    def encode(self) -> bytes:
        """This build's results, for the next build (:meth:`decode`)."""
        return pickle.dumps({"code": code_digest(), "results": self._used}, protocol=5)

    @classmethod
    def decode(cls, data: bytes | None) -> StatsMemo:
        """A memo from :meth:`encode`'s bytes; empty without them, from other code, or unreadable.

        A memo only saves time: what cannot be read is computed again, never an error.
        """
        if not data:
            return cls()
        try:
            document = pickle.loads(data)  # noqa: S301 - our own intermediate file
        except Exception:  # noqa: BLE001 - truncated or foreign bytes: start empty
            return cls()
        if not isinstance(document, dict) or document.get("code") != code_digest():
            return cls()
        results = document.get("results")
        return cls(results if isinstance(results, dict) else None)

    def summary(self) -> str:
        """``12 of 123 statistics computed (111 from the previous build)``."""
        total = self.hits + self.misses
        return f"{self.misses} of {total} statistics computed ({self.hits} from the previous build)"
