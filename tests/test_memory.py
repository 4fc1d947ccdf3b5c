"""Collector pauses: counted across threads, and their data is not walked when they end."""

import gc
import threading
import weakref

from tcsummary.core.memory import gc_paused, release_freed_memory


class Node:
    """A weak-referenceable object that can point at itself."""


def test_pauses_nest_and_restore_the_collector():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause is still open
    assert gc.isenabled()


def test_overlapping_pauses_in_threads_end_with_the_last():
    inside, leave = threading.Event(), threading.Event()

    def hold():
        with gc_paused():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    inside.wait(10)
    with gc_paused():
        pass
    assert not gc.isenabled()  # the thread's pause is still open
    leave.set()
    thread.join()
    assert gc.isenabled()


def test_data_built_in_a_pause_lands_in_the_oldest_generation():
    with gc_paused():
        built = [[n] for n in range(10_000)]
    young = {id(o) for o in gc.get_objects(generation=0)}
    assert id(built) not in young and id(built[0]) not in young
    assert any(o is built for o in gc.get_objects(generation=2))
    # still collectable: a cycle made in a pause is freed by a full collection
    with gc_paused():
        node = Node()
        node.itself = node
        alive = weakref.ref(node)
    del node
    gc.collect()
    assert alive() is None
    release_freed_memory()  # a no-op where glibc is absent; must not fail


def _pool_after(code: str, env: dict[str, str]) -> str:
    """The Arrow pool a fresh interpreter ends with after ``code`` (imports included)."""
    import os
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    script = f"{code}\nimport pyarrow\nprint(pyarrow.default_memory_pool().backend_name)"
    done = subprocess.run([sys.executable, "-c", script], env={**environment, **env},
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_arrow_allocates_from_the_system_heap_whether_or_not_pandas_came_first():
    prefer = "from tcsummary.core.memory import prefer_system_allocator\n"
    assert _pool_after("", {}) != "system"  # the default this changes (mimalloc or jemalloc)
    assert _pool_after(prefer + "prefer_system_allocator()", {}) == "system"
    assert _pool_after("import pandas\n" + prefer + "prefer_system_allocator()", {}) == "system"


def test_a_pool_the_user_chose_is_kept():
    prefer = "from tcsummary.core.memory import prefer_system_allocator\n"
    env = {"ARROW_DEFAULT_MEMORY_POOL": "jemalloc"}
    assert _pool_after(prefer + "prefer_system_allocator()", env) == "jemalloc"



def test_objects_alive_when_the_work_is_done_are_left_out_of_the_exit_collection():
    import subprocess
    import sys

    script = (
        "import gc\n"
        "from tcsummary.core.memory import skip_exit_collection\n"
        "class Finalised:\n"
        "    def __del__(self):\n"
        "        print('finalised', flush=True)\n"
        "kept = [Finalised()]\n"
        "kept.append(kept)  # a cycle: only a collection could free it\n"
        "skip_exit_collection()\n"
        "print(gc.get_freeze_count() > 0, gc.collect() == 0, flush=True)\n"
        "del kept\n"
        "print(gc.collect() == 0, flush=True)  # frozen: not collected\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["True", "True", "True"]  # never walked, never finalised
