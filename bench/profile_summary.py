"""Summarise a py-spy raw (collapsed) profile of a build: time per job and hottest functions.

Usage: python bench/profile_summary.py PROFILE.txt [--rate 200] [--top 25]

py-spy's ``--format raw`` writes one line per distinct stack, ``frame;frame;... count``
(with ``--threads`` the first frame names the thread). Jobs run as threads of the Snakemake
process, so a job is a ``tcsummary.jobs`` function on the stack; parse-time work
(discovery, snapshots) is everything under ``plan_build``. Prints seconds (samples / rate).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

JOB = re.compile(r"^(extract|aggregate|tcbench_files|problems|render|compare|render_comparison|"
                 r"index) \(tcsummary/jobs/\w+\.py")


def frames(line: str) -> tuple[list[str], int]:
    stack, _, count = line.rpartition(" ")
    return stack.split(";"), int(count)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile")
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    jobs: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    with open(args.profile) as fh:
        for line in fh:
            stack, count = frames(line.rstrip("\n"))
            total += count
            where = "other (snakemake)"
            for frame in stack:
                match = JOB.match(frame)
                if match:
                    where = f"job {match[1]}"
                    break
                if frame.startswith("plan_build "):
                    where = "parse: plan_build"
            if any("(idle)" in f for f in stack[-1:]):
                continue
            jobs[where] += count
            seen = set()
            for frame in stack:
                if "tcsummary/" in frame and frame not in seen:
                    inclusive[frame] += count
                    seen.add(frame)
            own[stack[-1]] += count
    print(f"samples {total} ({total / args.rate:.1f} s of thread time)")
    print("\nper job kind (s):")
    for name, count in jobs.most_common():
        print(f"  {count / args.rate:8.2f}  {name}")
    print(f"\ntop {args.top} tcsummary functions, inclusive (s):")
    for name, count in inclusive.most_common(args.top):
        print(f"  {count / args.rate:8.2f}  {name}")
    print(f"\ntop {args.top} leaf frames, own (s):")
    for name, count in own.most_common(args.top):
        print(f"  {count / args.rate:8.2f}  {name}")


if __name__ == "__main__":
    main()
