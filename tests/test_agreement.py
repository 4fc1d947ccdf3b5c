"""The CLI and the workflow answer the same questions the same way (they once disagreed).

Each rule of the domain has one definition; these tests run both entry points on
the cases where the old copies differed: an unreadable run, a file named like a
run hash under artifacts/, hparam values that look alike (1, 1.0, True, "1").
"""

from __future__ import annotations

import json

from conftest import corrupt_rocksdb

from tcsummary.cli.main import main
from tcsummary.core import values as hv
from tcsummary.core.model import UNKNOWN_CAMPAIGN, RunInfo
from tcsummary.plan.campaigns import plan_repository
from tcsummary.plan.grid import campaign_grid, varying_hparams
from tcsummary.plan.selection import Selection, default_groupby


def _cli_json(capsys, *argv):
    capsys.readouterr()
    assert main([*argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_unreadable_run_and_hash_named_file_are_seen_alike(modern_repo, tmp_path, capsys):
    root = modern_repo.root
    victim = sorted(h for h, s in modern_repo.specs.items() if s.campaign_id)[0]
    corrupt_rocksdb(root, victim)
    (root / "artifacts" / ("e" * 24)).write_text("not a folder\n")

    plan = plan_repository(root, tmp_path / "out", Selection(metrics=("acc",)), write=True)
    workflow_runs = {c.label: len(c.runs) for c in plan.campaigns.values()}
    cli_runs = {g["campaign"]: g["runs"] for g in _cli_json(capsys, "campaigns", str(root))}
    assert cli_runs == workflow_runs
    assert all(victim not in c.runs for c in plan.campaigns.values())

    problems = json.loads(plan.problems.read_bytes())
    by_path = {p["path"]: p["problem"] for p in problems}
    assert "its campaign is unknown" in by_path[f".aim/meta/chunks/{victim}"]
    assert "not a directory" in by_path[f"artifacts/{'e' * 24}"]

    listed = {r["hash"]: r for r in _cli_json(capsys, "ls", str(root))}
    assert listed[victim]["campaign"] == UNKNOWN_CAMPAIGN


def _run(n, **hparams):
    return RunInfo(hash=f"{n:024x}", status="finished", hparams=hparams)


def test_values_that_look_alike_are_distinct_everywhere():
    runs = [_run(1, lr=1, dim=32), _run(2, lr=1.0, dim=32), _run(3, lr=True, dim="32"),
            _run(4, lr="1", dim=32)]
    assert varying_hparams(runs) == ["dim", "lr"]
    assert default_groupby(runs) == ("dim", "lr")
    grid = campaign_grid("c", runs)
    assert len(grid.axes["lr"]) == 4 and len(grid.axes["dim"]) == 2
    assert grid.duplicated == []


def test_container_hparams_read_the_same_in_every_table():
    runs = [_run(1, augs=("rotate", "flip")), _run(2, augs=("noaug",))]
    grid = campaign_grid("c", runs)
    assert grid.axes["augs"] == [hv.cell(["noaug"]), hv.cell(["rotate", "flip"])]
    assert hv.cell(("rotate", "flip")) == hv.cell(["rotate", "flip"]) == '["rotate", "flip"]'
