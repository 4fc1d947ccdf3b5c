"""Helpers shared by the benchmarks: example generation, the read-everything floor, timing.

Not a benchmark itself; ``bench_ls.py`` and ``bench_build.py`` import it (run them as
``python bench/<name>.py`` so this folder is on ``sys.path``).
"""

from __future__ import annotations

import compileall
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tcsummary.example import RunSpec, plan_example, write_example

#: Hash seeds of the two writer processes of :func:`generate` (new runs must use others).
WRITER_SEEDS = (101, 202)

#: ``python -c INIT ROOT``: create an empty Aim repository at ROOT.
INIT = "import sys\nfrom aim.sdk.repo import Repo\nRepo.from_path(sys.argv[1], init=True)\n"

#: ``python -c FLOOR ROOT``: read every byte under .aim/ and artifacts/ (cat-like, no parsing).
FLOOR = (
    "import os, sys\n"
    "n = 0\n"
    "for top in ('.aim', 'artifacts'):\n"
    "    for d, _, files in os.walk(os.path.join(sys.argv[1], top)):\n"
    "        for f in files:\n"
    "            with open(os.path.join(d, f), 'rb') as fh: n += len(fh.read())\n"
    "print(n)\n"
)


def compile_package() -> None:
    """Write the bytecode of the imported tcsummary package before anything is timed.

    A user's first run writes it on import; with ``PYTHONDONTWRITEBYTECODE`` set (as on
    the machine these figures come from) nothing ever does, and every measured process
    compiled the package from source again: ~0.1 s per Snakemake start, more per render
    process. Installed packages (Snakemake, pandas) have theirs from pip already.
    """
    import tcsummary

    package = Path(tcsummary.__file__).parent
    if not compileall.compile_dir(str(package), quiet=1):
        raise SystemExit(f"could not compile {package}")


def _write_half(root: str, specs: Sequence[RunSpec], seed: int) -> int:
    return len(write_example(root, specs=specs, seed=seed, system_params=False))


def generate(root: Path, runs: int, campaigns: int) -> None:
    """Write ``runs`` runs in ``campaigns`` campaigns at ``root`` with two writer processes."""
    specs = plan_example(runs, campaigns)
    halves = [specs[0::2], specs[1::2]]
    # init once, before the writers (see write_example), in a process of its own: a
    # repository left open here (or inherited by a forked writer) made the writers'
    # first RocksDB flush wait forever
    subprocess.run(
        [sys.executable, "-c", INIT, str(root)], check=True, stdout=subprocess.DEVNULL
    )
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        done = sum(pool.map(_write_half, [str(root)] * 2, halves, WRITER_SEEDS))
    print(f"generated {done} runs in {root}")


def ensure_repository(directory: Path, runs: int, campaigns: int) -> Path:
    """``<directory>/repo-<runs>``, generated first if it has no ``.aim`` yet."""
    root = directory / f"repo-{runs}"
    if not (root / ".aim").exists():
        start = time.perf_counter()
        generate(root, runs, campaigns)
        print(f"generation: {time.perf_counter() - start:.1f} s")
    return root


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process (its own, via wait4).

    ``tcsummary ls`` may fork reader processes; their peak is reported by the
    kernel for the process tree only cumulatively, so the figure is the main
    process's peak (each worker reads half the runs and stays below it).
    """
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[0]} failed")
    return wall, usage.ru_maxrss / 1024
