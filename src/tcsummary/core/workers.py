"""Lean worker processes for the per-run work: reading Aim runs, parsing artifact files.

Why not ``multiprocessing``: its ``fork`` start method copies the build's whole process
(Snakemake, pandas, the plan: 200+ MB of pages counted again in every worker's RSS, and ~50 ms
to start and stop a pool for every extraction batch); ``spawn`` and ``forkserver`` re-run the
parent's main script in each worker (for ``snakemake``: ~1 s and 60 MB). These workers are
fresh interpreters running this module (``python -m tcsummary.core.workers``): they import
only what their tasks need, start once per process and serve every later call.

Protocol: a task is a pickled ``(function, argument)`` written to the worker's stdin behind
its 8-byte length; the answer comes back the same way on its stdout: ``("ok", result)`` or
``("error", type name, message, traceback)``. Functions travel by reference (module-level
functions and their ``functools.partial``). A worker ends at the end of its input (its
parent closed the pipe or died) or after :data:`IDLE_SECONDS` without a task: an idle worker
would hold its ~20 MB to the end of the build, whose last jobs are its largest. A call that
finds its worker gone that way starts a new one.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import logging
import os
import pickle
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any, BinaryIO

from .child import child_environment
from .errors import TcsummaryError

logger = logging.getLogger(__name__)
_LENGTH = struct.Struct("<Q")
#: A worker without a task for this long ends (cleanly: exit status 0).
IDLE_SECONDS = 2.0


class WorkerError(TcsummaryError):
    """A task failed in a worker process (its traceback goes to the log), or the worker died."""


def _send(stream: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    _send_bytes(stream, data)


def _send_bytes(stream: BinaryIO, data: bytes) -> None:
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def _read(stream: BinaryIO, size: int) -> bytes:
    """Exactly ``size`` bytes (a pipe may give fewer per read); EOFError at the end."""
    parts = []
    while size:
        data = stream.read(size)
        if not data:
            raise EOFError
        parts.append(data)
        size -= len(data)
    return b"".join(parts)


def _receive(stream: BinaryIO) -> Any:
    """The next message, or EOFError when the other side is gone."""
    (size,) = _LENGTH.unpack(_read(stream, _LENGTH.size))
    return pickle.loads(_read(stream, size))


class _Idled(Exception):
    """The worker had ended idle (exit status 0) before reading the task: run it elsewhere."""


#: glibc's cache of freed thread stacks in a worker (bytes; glibc's default is 40 MiB).
STACK_CACHE_BYTES = 256 * 1024 * 1024


def worker_environment() -> dict[str, str]:
    """A worker's environment: :func:`child_environment` and a larger thread-stack cache.

    Why: RocksDB starts 15 threads in every container it opens (to load its table files;
    aimrocks cannot set ``max_file_opening_threads``), and a worker opens one per Aim run.
    Their 8 MiB stacks overflow glibc's 40 MiB cache, so each open mapped, faulted in and
    unmapped most of them again: at 10,000 runs, 11.0 s of reading on two workers with
    4.4 s of kernel time; with the cache at 256 MiB, 10.0 s and 3.1 s. A tunable the user
    set already is kept; the cache holds virtual memory, only the pages touched are resident.
    """
    env = child_environment()
    tunables = [t for t in env.get("GLIBC_TUNABLES", "").split(":") if t]
    if not any(t.startswith("glibc.pthread.stack_cache_size=") for t in tunables):
        tunables.append(f"glibc.pthread.stack_cache_size={STACK_CACHE_BYTES}")
    env["GLIBC_TUNABLES"] = ":".join(tunables)
    return env


class _Worker:
    """One worker process and its two pipes (used by one thread at a time)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__], env=worker_environment(), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, close_fds=True,
        )

    def call(self, func: Callable[[Any], Any], arg: Any) -> Any:
        """``func(arg)`` in this worker; :class:`_Idled` if it had ended idle before reading it."""
        assert self.process.stdin is not None and self.process.stdout is not None
        # pickled before a byte is written: a task that cannot be pickled (a lambda, a lock)
        # leaves the pipes in step and the worker usable
        try:
            task = pickle.dumps((func, arg), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - pickling raises many types
            raise WorkerError(
                f"cannot send the task to a worker: {type(exc).__name__}: {exc}"
            ) from None
        try:
            _send_bytes(self.process.stdin, task)
            answer = _receive(self.process.stdout)
        except (EOFError, OSError):  # a broken pipe is an OSError
            if self.process.wait() == 0:
                raise _Idled from None
            raise WorkerError(
                f"a worker process ended unexpectedly (exit status {self.process.returncode})"
            ) from None
        if answer[0] == "ok":
            return answer[1]
        _, kind, message, trace = answer
        logger.error("in a worker process:\n%s", trace)
        raise WorkerError(f"{kind}: {message}")

    def close(self) -> None:
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()


class WorkerPool:
    """Up to ``size`` workers, started when first needed and reused by every later call.

    Calls from several threads share the workers: each task takes an idle one.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._started: list[_Worker] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the missing workers now, without waiting: they boot while the caller works."""
        with self._lock:
            while len(self._started) < self.size:
                worker = _Worker()
                self._started.append(worker)
                self._idle.put(worker)

    def _take(self) -> _Worker:
        """An idle worker, a new one if there is room, else the next to become idle.

        Waits in short steps: a worker that ends meanwhile makes room for a new one.
        """
        while True:
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                pass
            with self._lock:
                if len(self._started) < self.size:
                    worker = _Worker()
                    self._started.append(worker)
                    return worker
            try:
                return self._idle.get(timeout=0.1)
            except queue.Empty:
                continue

    def call(self, func: Callable[[Any], Any], arg: Any) -> Any:
        """``func(arg)`` in an idle worker (a new one if the one taken had ended idle)."""
        for _ in range(3):
            worker = self._take()
            try:
                result = worker.call(func, arg)
            except _Idled:
                self._forget(worker)
                continue
            except WorkerError:
                if worker.process.poll() is not None:
                    self._forget(worker)
                else:
                    self._idle.put(worker)
                raise
            except BaseException:
                # this process failed halfway through a message (an answer it cannot
                # unpickle, Ctrl-C): the pipes are out of step, so the worker goes. Kept out of
                # the pool without being forgotten, it left later calls waiting for ever.
                worker.process.kill()
                worker.process.wait()
                self._forget(worker)
                raise
            self._idle.put(worker)
            return result
        raise WorkerError("worker processes ended before answering (exit status 0), three times")

    def _forget(self, worker: _Worker) -> None:
        """Drop an ended worker: a later call may start a new one in its place."""
        with self._lock:
            if worker in self._started:
                self._started.remove(worker)

    def map(self, func: Callable[[Any], Any], args: Sequence[Any]) -> Iterator[Any]:
        """``func`` over ``args`` in the workers; results in order, as they arrive."""
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.size) as threads:
            yield from threads.map(lambda arg: self.call(func, arg), args)

    def close(self) -> None:
        with self._lock:
            workers, self._started = self._started, []
        for worker in workers:
            worker.close()


_POOLS: dict[int, WorkerPool] = {}
_POOLS_LOCK = threading.Lock()


def pool(size: int) -> WorkerPool:
    """This process's pool of ``size`` workers (one per size, closed when the process exits)."""
    with _POOLS_LOCK:
        if size not in _POOLS:
            if not _POOLS:
                atexit.register(close_pools)
            _POOLS[size] = WorkerPool(size)
        return _POOLS[size]


def close_pools() -> None:
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for each in pools:
        each.close()


def serve(requests: BinaryIO, answers: BinaryIO, idle: float = IDLE_SECONDS) -> None:
    """A worker's loop: answer every task until the end of the input or ``idle`` s without one."""
    while True:
        ready, _, _ = select.select([requests], [], [], idle)
        if not ready:
            return
        try:
            (size,) = _LENGTH.unpack(_read(requests, _LENGTH.size))
            task = _read(requests, size)
        except EOFError:
            return
        try:
            func, arg = pickle.loads(task)  # imports the function's module: may fail too
            answer: tuple[Any, ...] = ("ok", func(arg))
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - every failure goes back
            answer = ("error", type(exc).__name__, str(exc), traceback.format_exc())
        try:
            _send(answers, answer)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            _send(answers, ("error", type(exc).__name__, f"result not picklable: {exc}",
                            traceback.format_exc()))


def main() -> None:
    # Ctrl-C reaches the whole process group: the parent handles it and closes the pipes,
    # which ends the worker quietly (instead of a traceback per worker)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # the protocol owns stdout: anything a task prints goes to stderr instead
    with open(os.dup(1), "wb", closefd=True) as answers:
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        # unbuffered: select() must see every byte not read yet
        serve(sys.stdin.buffer.raw, answers)


if __name__ == "__main__":
    main()
