"""Time `tcsummary ls` and `campaigns` (cold and from the cache) against the read-everything floor.

Usage: python bench/bench_ls.py [--runs 1000] [--dir bench/out]
Generates the repository once (two writer processes), then runs, side by side, each in a
fresh process (Python start included):
  floor          read every byte under .aim/ and artifacts/ (cat-like, no parsing)
  ls cold        `tcsummary ls ROOT --output OUT --format csv`, OUT empty (no cache yet)
  ls warm        the same again: runs and artifact folders come from OUT's caches
  ls warm table  `tcsummary ls ROOT --output OUT`: the default format, what a user types
  campaigns warm `tcsummary campaigns ROOT --output OUT --format json`
  ls no cache    `tcsummary ls ROOT --format csv` (nothing written anywhere: reads all)
and prints wall time and peak RSS of each, and the ratio to the floor.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from common import FLOOR, compile_package, ensure_repository, timed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--campaigns", type=int, default=4)
    parser.add_argument("--dir", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    compile_package()
    root = ensure_repository(args.dir.absolute(), args.runs, args.campaigns)
    out = args.dir.absolute() / f"ls-cache-{args.runs}"
    shutil.rmtree(out, ignore_errors=True)
    tcsummary = str(Path(sys.executable).parent / "tcsummary")
    ls = [tcsummary, "ls", str(root), "--output", str(out), "--format", "csv"]
    rows = []
    for name, cmd in (
        ("floor", [sys.executable, "-c", FLOOR, str(root)]),
        ("ls cold", ls),
        ("ls warm", ls),
        ("ls warm table", ls[:-2]),
        ("campaigns warm", [tcsummary, "campaigns", str(root), "--output", str(out),
                            "--format", "json"]),
        ("ls no cache", [tcsummary, "ls", str(root), "--format", "csv"]),
        ("floor", [sys.executable, "-c", FLOOR, str(root)]),
    ):
        wall, rss = timed(cmd)
        rows.append((name, wall, rss))
    floor = min(w for n, w, _ in rows if n == "floor")
    for name, wall, rss in rows:
        print(f"{name:15s} wall {wall:6.2f} s  peak RSS {rss:7.1f} MB  x{wall / floor:5.1f} floor")
    print(f"runs={args.runs} cores={os.cpu_count()}")
    shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
