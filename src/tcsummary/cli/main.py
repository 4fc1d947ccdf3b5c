"""The ``tcsummary`` command line: explore a tcbench repository from the shell.

Every subcommand is a thin layer over the stages: :mod:`read.inventory` scans,
:mod:`plan.campaigns` groups runs by campaign, :mod:`plan.grid` and
:mod:`summarise.properties` compute what is shown, :mod:`cli.views` lays out the
run table. Here only the output format is chosen (a rich table for people, CSV
or JSON for scripts).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..core import values as hv
from ..core.errors import TcsummaryError
from ..core.logs import console_logging
from ..core.memory import prefer_system_allocator
from ..core.model import NO_CAMPAIGN, RepositoryScan
from ..plan.campaigns import WORK_DIR, group_by_campaign
from ..plan.grid import campaign_grid, varying_hparams
from ..read.inventory import scan_shards
from ..summarise.properties import Properties, properties
from . import tables
from .views import RUN_COLUMNS, run_records, runs_frame

EXIT_USAGE = 2


def _workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def _print_csv(records: list[dict[str, Any]]) -> None:
    import pandas as pd  # only the csv format needs it (~0.4 s to import)

    pd.DataFrame.from_records(records).to_csv(sys.stdout, index=False)


def _print_json(data: Any) -> None:
    json.dump(hv.plain(data), sys.stdout, indent=2, default=str, sort_keys=False)
    sys.stdout.write("\n")


def cache_folder(roots: list[Path], output: Path | None) -> tuple[Path | None, bool]:
    """Where the caches are read from and whether they may be updated: the build's work folder.

    ``--output`` (the folder the workflow writes the reports to) is used and created;
    without it, ``<root>/campaign_summary`` of a single repository only if a build made
    it already: the CLI creates nothing in a repository. Read-only: read, never write.
    """
    summary = output if output is not None else (
        roots[0] / "campaign_summary" if len(roots) == 1 else None
    )
    if summary is None:
        return None, False
    work = summary.resolve() / WORK_DIR
    if output is not None:
        try:
            work.mkdir(parents=True, exist_ok=True)
        except OSError:
            return (work, False) if work.is_dir() else (None, False)
    elif not work.is_dir():
        return None, False
    return work, os.access(work, os.W_OK)


def _scan(
    args: argparse.Namespace, validate: bool = True, metrics: bool = True
) -> RepositoryScan:
    """One repository, or several folders (shards of one campaign) read as one.

    ``metrics=False`` for the commands that show no metric (runs from the cache then come
    without their values).
    """
    roots = list(dict.fromkeys(r.resolve() for r in args.root))
    work, save = cache_folder(roots, args.output)
    return scan_shards(roots, validate=validate, workers=_workers(), work=work, save=save,
                       metrics=metrics)


def _where(roots: list[Path]) -> str:
    return " + ".join(map(str, roots))


def cmd_ls(args: argparse.Namespace) -> int:
    scan = _scan(args, metrics=False)
    records = run_records(scan, campaign=args.campaign)
    if args.where or args.format != "table":
        frame = runs_frame(records)
        if args.where:
            try:
                frame = frame.query(args.where, engine="python")
            except Exception as exc:  # pandas raises many types for a bad expression
                raise TcsummaryError(f"--where {args.where!r}: {exc}") from None
        if args.format == "csv":
            frame.to_csv(sys.stdout, index=False)
            return 0
        if args.format == "json":
            _print_json(frame.to_dict("records"))
            return 0
        kept = set(frame["hash"])
        records = [r for r in records if r["hash"] in kept]
    shown_runs = [scan.runs[r["hash"]] for r in records]
    keys = [k for k in varying_hparams(shown_runs) if k not in RUN_COLUMNS]
    columns = [c for c in RUN_COLUMNS if c != "problems"] + keys + ["problems"]
    constant = [c for c in ("campaign", "experiment")
                if len({r[c] for r in records if not hv.is_missing(r[c])}) == 1]
    title = f"{len(records)} runs in {_where(args.root)}"
    if records:
        title += "".join(f", {c} {records[0][c]}" for c in constant)
    shown = {c: [r.get(c) for r in records] for c in columns if c not in constant}
    shown["duration"] = [None if d is None else f"{d:.1f}" for d in shown["duration"]]
    tables.print_table(shown, title)
    return 0


def _properties_rows(props: Properties) -> list[tuple[str, str]]:
    rows = [
        ("runs", f"{props.runs} ({', '.join(f'{k} {v}' for k, v in props.by_status.items())})"),
    ]
    if props.duration_mean is not None:
        std = f", std {props.duration_std:.1f}" if props.duration_std is not None else ""
        rows.append(("run duration (s)", f"mean {props.duration_mean:.1f}{std}"))
    rows.append(("metrics", ", ".join(props.metrics)))
    rows.append(("contexts", ", ".join(props.contexts)))
    for name, values in props.hparams.items():
        rows.append((f"hparams.{name}", f"({len(values)}) {', '.join(map(str, values))}"))
    return rows


def cmd_properties(args: argparse.Namespace) -> int:
    scan = _scan(args, validate=False)
    groups = {"repository": list(scan.runs.values())}
    for label, runs in group_by_campaign(scan.runs.values()).items():
        if args.campaign is None or label == args.campaign:
            groups[f"campaign {label}"] = runs
    if args.campaign is not None:
        groups.pop("repository")
        if not groups:
            raise TcsummaryError(f"{_where(args.root)}: no campaign {args.campaign!r}")
    result = {name: properties(runs) for name, runs in groups.items()}
    if args.format == "json":
        _print_json({name: p.as_dict() for name, p in result.items()})
    elif args.format == "csv":
        records = [
            {"group": name, "property": key, "value": value}
            for name, p in result.items()
            for key, value in _properties_rows(p)
        ]
        _print_csv(records)
    else:
        from rich.table import Table

        console = tables.console()
        for name, p in result.items():
            table = Table(title=name, show_header=False)
            table.add_column("property", style="bold")
            table.add_column("value", overflow="fold")
            for key, value in _properties_rows(p):
                table.add_row(key, value)
            console.print(table)
    return 0


def cmd_campaigns(args: argparse.Namespace) -> int:
    scan = _scan(args, validate=False, metrics=False)
    grids = [
        campaign_grid(label, runs)
        for label, runs in group_by_campaign(scan.runs.values()).items()
    ]
    if args.format == "json":
        _print_json([g.as_dict() for g in grids])
        return 0
    records = [
        {
            "campaign": g.campaign,
            "runs": g.runs,
            **g.by_status,
            "experiment": ", ".join(g.experiments),
            "grid": g.describe(),
            "missing": len(g.missing),
            "duplicated": len(g.duplicated),
        }
        for g in grids
    ]
    if args.format == "csv":
        _print_csv(records)
        return 0
    console = tables.console()
    console.print(tables.rich_table(tables.columns_of(records),
                                    title=f"campaigns in {_where(args.root)}"))
    for g in grids:
        if g.campaign == NO_CAMPAIGN:
            continue
        for label, cells in (("missing", g.missing), ("duplicated", [c for c, _ in g.duplicated])):
            if cells:
                console.print(f"[bold]{g.campaign}[/bold]: {len(cells)} {label} cells")
                console.print(tables.rich_table(tables.columns_of(cells[: args.max_cells])))
                if len(cells) > args.max_cells:
                    console.print(f"... {len(cells) - args.max_cells} more (use --format json)")
    return 0


def cmd_example(args: argparse.Namespace) -> int:
    from ..example import write_example

    extra = 1 if args.imperfections else 0
    written = write_example(
        args.path,
        runs=args.runs,
        campaigns=args.campaigns,
        seed=args.seed,
        unfinished=extra,
        missing_artifact=extra,
        no_campaign=extra,
    )
    print(f"wrote {len(written)} runs to {args.path}")
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from .submit import Submission, parse_job_ids, submit

    job = Submission(
        root=args.root.resolve(),
        after=parse_job_ids(args.after),
        campaigns=list(args.campaign or []),
        wait=args.wait,
        cores=args.cores,
        mem_mb=args.mem_mb,
        minutes=args.minutes,
        output=args.output.resolve() if args.output else None,
        sbatch_args=list(args.sbatch_arg or []),
        workflow=args.workflow,
    )
    if not (job.root / ".aim").is_dir():
        raise TcsummaryError(f"{job.root}: not a tcbench repository (no .aim folder)")
    print(submit(job, dry_run=args.dry_run))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from ..example import DEFAULT_CAMPAIGNS, DEFAULT_RUNS

    parser = argparse.ArgumentParser(
        prog="tcsummary",
        description="Explore tcbench repositories (Aim runs + artifacts), build campaign reports.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_root(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "root", type=Path, nargs="+",
            help="repository root (the folder holding .aim/); several: shards read as one",
        )

    def add_format(p: argparse.ArgumentParser) -> None:
        p.add_argument("--format", choices=("table", "csv", "json"), default="table")
        p.add_argument(
            "--output", type=Path,
            help="the build's output folder, whose caches make reruns fast (default: "
            "<root>/campaign_summary when a build made it; nothing is written elsewhere)",
        )

    ls = sub.add_parser("ls", help="one line per run")
    add_root(ls)
    ls.add_argument("--campaign", help="only runs of this campaign id")
    ls.add_argument(
        "--where",
        help="pandas query over the run table, e.g. 'aug_name == \"noaug\" and flowpic_dim == 32'",
    )
    add_format(ls)
    ls.set_defaults(func=cmd_ls)

    props = sub.add_parser("properties", help="runs, durations, metrics, contexts, hparams")
    add_root(props)
    props.add_argument("--campaign", help="only this campaign")
    add_format(props)
    props.set_defaults(func=cmd_properties)

    camps = sub.add_parser("campaigns", help="campaigns, their grids, missing/duplicated cells")
    add_root(camps)
    camps.add_argument("--max-cells", type=int, default=20, help="cells listed per campaign")
    add_format(camps)
    camps.set_defaults(func=cmd_campaigns)

    example = sub.add_parser("example", help="write a realistic example repository")
    example.add_argument("path", type=Path)
    example.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="campaign runs in total")
    example.add_argument("--campaigns", type=int, default=DEFAULT_CAMPAIGNS)
    example.add_argument("--seed", type=int, default=0)
    example.add_argument(
        "--imperfections",
        action="store_true",
        help="add a crashed run, a run missing an artifact and a run without campaign_id",
    )
    example.set_defaults(func=cmd_example)

    sub_submit = sub.add_parser(
        "submit", help="build the reports as a SLURM job, after the campaign's jobs end"
    )
    sub_submit.add_argument("root", type=Path, help="repository root (the folder holding .aim/)")
    sub_submit.add_argument("--after", metavar="JOBID[,JOBID...]",
                            help="start only when these jobs have ended (afterany)")
    sub_submit.add_argument("--campaign", action="append", help="only this campaign (repeat)")
    sub_submit.add_argument("--wait", action="store_true",
                            help="also wait until the campaigns have no active run")
    sub_submit.add_argument("--cores", type=int, default=2)
    sub_submit.add_argument("--mem-mb", type=int, default=4000)
    sub_submit.add_argument("--minutes", type=int, default=120, help="time limit")
    sub_submit.add_argument("--output", type=Path, help="reports folder (read-only repos)")
    sub_submit.add_argument("--sbatch-arg", action="append", metavar="ARG",
                            help="passed to sbatch, e.g. --sbatch-arg=--partition=gpu (repeat)")
    sub_submit.add_argument("--workflow", type=Path,
                            help="the tcsummary clone holding the Snakefile (default: found "
                            "from the current directory or the editable install)")
    sub_submit.add_argument("--dry-run", action="store_true",
                            help="print the sbatch command and script instead of submitting")
    sub_submit.set_defaults(func=cmd_submit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console_logging()
    prefer_system_allocator()
    try:
        return int(args.func(args))
    except TcsummaryError as exc:
        if args.debug:
            raise
        print(f"tcsummary: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. piped into `head`
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
