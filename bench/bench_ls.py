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
import sys
from pathlib import Path

from common import FLOOR, ensure_repository, timed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--campaigns", type=int, default=4)
    parser.add_argument("--dir", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    root = ensure_repository(args.dir, args.runs, args.campaigns)
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
