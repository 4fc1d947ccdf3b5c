"""Worker processes: fresh interpreters (not forks of the build), reused, failures in one line."""

from __future__ import annotations

import os

import pytest

from tcsummary.core.parallel import map_chunks
from tcsummary.core.workers import IDLE_SECONDS, WorkerError, WorkerPool


@pytest.fixture
def workers():
    pool = WorkerPool(2)
    yield pool
    pool.close()


def test_workers_are_fresh_interpreters_started_once(workers):
    import pandas  # noqa: F401 - this process has it; a fork would too

    assert workers.call(eval, "'pandas' in __import__('sys').modules") is False
    assert workers.call(eval, "__import__('os').getppid()") == os.getpid()
    pids = {workers.call(eval, "__import__('os').getpid()") for _ in range(6)}
    assert len(pids) <= 2 and os.getpid() not in pids


def test_a_failing_task_is_one_line_and_the_worker_goes_on(workers):
    with pytest.raises(WorkerError, match=r"^ZeroDivisionError: division by zero$"):
        workers.call(eval, "1 / 0")
    assert workers.call(eval, "print('a task printing') or 6 * 7") == 42


def test_a_dead_worker_is_replaced(workers):
    with pytest.raises(WorkerError, match=r"ended unexpectedly \(exit status 3\)"):
        workers.call(eval, "__import__('os')._exit(3)")
    assert workers.call(eval, "2 + 2") == 4


def test_map_keeps_the_order_of_its_chunks(workers):
    chunks = [f"{i} * {i}" for i in range(20)]
    assert list(workers.map(eval, chunks)) == [i * i for i in range(20)]


def test_map_chunks_in_workers_equals_one_process():
    items = list(range(500))
    assert map_chunks(sorted, items, workers=2, min_items=1) == map_chunks(sorted, items, 1)


def test_an_idle_worker_ends_and_a_later_call_starts_another(workers):
    first = workers.call(eval, "__import__('os').getpid()")
    (worker,) = workers._started
    assert worker.process.wait(timeout=IDLE_SECONDS + 5) == 0  # ended by itself, cleanly
    second = workers.call(eval, "__import__('os').getpid()")
    assert second != first
    big = "x" * 3_000_000  # larger than a pipe's buffer, both ways
    assert workers.call(len, big) == len(big)
    assert workers.call(str.upper, big) == big.upper()


def test_a_task_exiting_or_failing_to_import_is_an_error_not_a_dead_worker(workers):
    with pytest.raises(WorkerError, match=r"^SystemExit: 0$"):
        workers.call(eval, "__import__('sys').exit(0)")
    with pytest.raises(WorkerError, match="No module named 'no_such_module'"):
        workers.call(eval, "__import__('no_such_module')")
    assert workers.call(eval, "1 + 1") == 2


def test_more_callers_than_workers_share_them(workers):
    import threading

    found = []
    threads = [threading.Thread(target=lambda: found.append(workers.call(eval, "3 * 3")))
               for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert found == [9] * 6


def test_ctrl_c_is_left_to_the_parent(workers):
    import signal

    pid = workers.call(eval, "__import__('os').getpid()")
    os.kill(pid, signal.SIGINT)  # what a terminal's Ctrl-C sends the whole process group
    assert workers.call(eval, "__import__('os').getpid()") == pid  # the same worker, still up


def test_a_child_finds_this_copy_of_the_package(monkeypatch, tmp_path):
    """From a source tree its folder goes first on a child's path; installed, nothing is added
    (site-packages ahead of the standard library would let a package shadow a standard module)."""
    from tcsummary.core import child

    env = child.child_environment()
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(child.PACKAGE_PARENT)
    installed = tmp_path / "lib" / "python3.11" / "site-packages"
    monkeypatch.setattr(child, "PACKAGE_PARENT", installed)
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    assert child.child_environment()["PYTHONPATH"] == "/elsewhere"


def test_a_task_that_cannot_be_sent_fails_at_once_and_frees_its_worker(workers):
    """A lambda cannot be pickled (functions travel by reference). The error happens in this
    process, before the worker has read anything: the
    call raises it as one line and the worker goes back to the pool. Kept, it was lost to the
    pool: with both workers lost, the next call waited for an idle one for ever (a build hung
    in its planning)."""
    import threading

    outcome: list[object] = []

    def run() -> None:
        for _ in range(3):  # more failures than workers
            with pytest.raises(WorkerError, match=r"^cannot send the task to a worker: "):
                workers.call(lambda arg: arg, 1)
        outcome.append(workers.call(eval, "5 * 5"))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert outcome == [25], "a call waited for a worker the failed sends had kept"
    assert len(workers._started) <= 2


def test_map_of_unsendable_tasks_raises_instead_of_hanging(workers):
    import threading

    raised: list[BaseException] = []

    def run() -> None:
        try:
            list(workers.map(lambda arg: arg, list(range(5))))
        except WorkerError as exc:
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert raised, "map of unsendable tasks hung"


def test_a_failure_halfway_through_an_answer_drops_that_worker(workers, monkeypatch):
    """An error of this process while it reads an answer (one it cannot unpickle, Ctrl-C)
    leaves the pipes out of step: that worker is ended, and later calls get a fresh one."""
    from tcsummary.core import workers as module

    pid = workers.call(eval, "__import__('os').getpid()")
    real = module._receive

    def broken(stream):
        real(stream)
        raise RuntimeError("lost in the middle")

    monkeypatch.setattr(module, "_receive", broken)
    with pytest.raises(RuntimeError, match="lost in the middle"):
        workers.call(eval, "1")
    monkeypatch.setattr(module, "_receive", real)
    assert all(w.process.pid != pid for w in workers._started)
    assert workers.call(eval, "__import__('os').getpid()") != pid


def test_workers_cache_the_thread_stacks_rocksdb_starts(workers, monkeypatch):
    """Every RocksDB open starts 15 threads: a worker runs with a 256 MiB stack cache (glibc's
    default, 40 MiB, holds five 8 MiB stacks); a tunable the user set is kept beside it."""
    from tcsummary.core.workers import STACK_CACHE_BYTES, worker_environment

    seen = workers.call(eval, "__import__('os').environ.get('GLIBC_TUNABLES')")
    assert f"glibc.pthread.stack_cache_size={STACK_CACHE_BYTES}" in seen.split(":")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")
    assert worker_environment()["GLIBC_TUNABLES"] == (
        f"glibc.malloc.arena_max=2:glibc.pthread.stack_cache_size={STACK_CACHE_BYTES}")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.pthread.stack_cache_size=1000")
    assert worker_environment()["GLIBC_TUNABLES"] == "glibc.pthread.stack_cache_size=1000"


def test_map_chunks_gives_a_worker_at_most_max_chunk_items(monkeypatch):
    """A worker's memory grows with the largest result it sends back: extraction caps its
    calls (50 runs) whatever the batch size; without a cap, two chunks per worker."""
    from tcsummary.core import parallel

    seen: list[int] = []

    class Recording:
        def map(self, func, chunks):
            for chunk in chunks:
                seen.append(len(chunk))
                yield func(chunk)

    monkeypatch.setattr(parallel, "pool", lambda size: Recording())
    items = list(range(625))
    assert parallel.map_chunks(sorted, items, workers=2, max_chunk=50) == items
    assert max(seen) <= 50 and sum(seen) == 625
    seen.clear()
    assert parallel.map_chunks(sorted, items, workers=2) == items
    assert len(seen) == 4
