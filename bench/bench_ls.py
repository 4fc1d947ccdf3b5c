"""Time `tcsummary ls` (and the read-everything floor) on a large example repository.

Usage: python bench/bench_ls.py [--runs 1000] [--dir bench/out]
Generates the repository once (two writer processes), then runs, side by side:
  floor : read every byte under .aim/ and artifacts/ (cat-like, no parsing)
  ls    : `tcsummary ls ROOT --format csv` in a fresh process (cold Python start included)
and prints wall time and peak RSS of each, and their ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tcsummary.example import plan_example, write_example


def _write_half(root: str, specs, seed: int) -> int:
    return len(write_example(root, specs=specs, seed=seed, system_params=False))


def generate(root: Path, runs: int, campaigns: int) -> None:
    specs = plan_example(runs, campaigns)
    halves = [specs[0::2], specs[1::2]]
    with ProcessPoolExecutor(2) as pool:
        done = sum(pool.map(_write_half, [str(root)] * 2, halves, [101, 202]))
    print(f"generated {done} runs in {root}")


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


FLOOR = (
    "import os, sys\n"
    "n = 0\n"
    "for top in ('.aim', 'artifacts'):\n"
    "    for d, _, files in os.walk(os.path.join(sys.argv[1], top)):\n"
    "        for f in files:\n"
    "            with open(os.path.join(d, f), 'rb') as fh: n += len(fh.read())\n"
    "print(n)\n"
)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--campaigns", type=int, default=4)
    parser.add_argument("--dir", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    root = args.dir / f"repo-{args.runs}"
    if not (root / ".aim").exists():
        t = time.perf_counter()
        generate(root, args.runs, args.campaigns)
        print(f"generation: {time.perf_counter() - t:.1f} s")
    tcsummary = str(Path(sys.executable).parent / "tcsummary")
    rows = []
    for name, cmd in (
        ("floor", [sys.executable, "-c", FLOOR, str(root)]),
        ("ls", [tcsummary, "ls", str(root), "--format", "csv"]),
        ("floor", [sys.executable, "-c", FLOOR, str(root)]),
        ("ls", [tcsummary, "ls", str(root), "--format", "csv"]),
    ):
        wall, rss = timed(cmd)
        rows.append((name, wall, rss))
    floor = min(w for n, w, _ in rows if n == "floor")
    for name, wall, rss in rows:
        print(f"{name:6s} wall {wall:6.2f} s  peak RSS {rss:7.1f} MB  x{wall / floor:5.1f} floor")
    print(f"runs={args.runs} cores={os.cpu_count()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
