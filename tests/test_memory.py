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


def test_a_job_runs_with_the_collector_paused_and_gets_it_back_even_when_it_fails(tmp_path):
    import pytest

    from tcsummary.core.logs import logged_job

    seen = []

    @logged_job
    def job(fail: bool) -> str:
        seen.append(gc.isenabled())
        if fail:
            raise ValueError("bad input")
        return "done"

    assert job(False, log=tmp_path / "a.log") == "done"
    assert gc.isenabled()
    with pytest.raises(ValueError):
        job(True, log=tmp_path / "b.log")
    assert seen == [False, False] and gc.isenabled()


def _garbage_cycles_of(call) -> list:
    """The objects ``call`` left for the cyclic collector (unreachable, held by cycles)."""
    gc.collect()
    gc.disable()
    try:
        call()
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        found = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    return found


def test_planning_and_jobs_make_no_reference_cycles_for_the_paused_collector(modern_repo, tmp_path):
    """Why pausing the collector in planning and jobs costs no memory: what they build is
    freed by reference counting. A cycle per run or per table (a record pointing back at
    its campaign, a frame kept in a closure) would stay until a collection and fail here."""
    from conftest import workflow_config

    from tcsummary.jobs.aggregate import aggregate
    from tcsummary.jobs.compare import compare
    from tcsummary.jobs.extract import extract
    from tcsummary.plan.build import plan_build, report_config

    config = workflow_config(
        repositories=[str(modern_repo.root)], output=str(tmp_path / "out"), workers=1,
        comparisons=[{"name": "all", "factor": "aug_name", "sources": [{"repository": "0"}]}],
    )
    config["repositories"] = [{"name": "0", "path": str(modern_repo.root)}]
    built, left = [], {}
    left["plan"] = _garbage_cycles_of(
        lambda: built.append(plan_build(config, base=tmp_path, main_process=True)))
    build = built[0]
    plan = build.repositories[0]
    for manifest, output in build.extractions():
        left[output] = _garbage_cycles_of(lambda m=manifest, o=output: extract(m, o, 1, []))
    for folder, campaign in plan.campaigns.items():
        extractions = [str(plan.extraction(folder, batch)) for batch in campaign.batches]
        work = plan.work / folder / "view.json"
        left[folder] = _garbage_cycles_of(lambda c=campaign, e=extractions, f=folder, w=work: (
            aggregate(str(c.snapshot), e, plan.summary / f, w, root=plan.describe(),
                      config=report_config(config))))
    for comparison in build.comparisons:
        work = comparison.folder / ".tcsummary" / "view.json"
        left[comparison.name] = _garbage_cycles_of(lambda c=comparison, w=work: compare(
            [str(s.values) for s in c.sources], c.folder, w, settings=c.settings(),
            config={"compare": config["compare"]}))
    assert build.comparisons and len(plan.campaigns) >= 2 and len(left) >= 6
    for call, garbage in left.items():
        # json's encoder closures (~32 objects a dumps with default=), importlib's metadata cache
        assert len(garbage) < 200, (call, sorted({type(o).__name__ for o in garbage}))
        assert not [o for o in garbage if type(o).__module__.split(".")[0] in ("numpy", "pandas")]
        assert max((len(o) for o in garbage if isinstance(o, (dict, list, tuple))), default=0) < 50
