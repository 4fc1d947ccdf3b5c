"""The parse-time shortcut: a snapshot is rebuilt exactly when something it is made of changed."""

from __future__ import annotations

import json
import time

from tcsummary.example import RunSpec, write_example
from tcsummary.plan.campaigns import plan_repository
from tcsummary.plan.selection import Selection

SELECTION = Selection(metrics=("acc",))


def _snapshots(plan):
    return {f: (c.snapshot.stat().st_mtime_ns, c.snapshot.read_bytes())
            for f, c in plan.campaigns.items()}


def test_unchanged_campaigns_keep_their_snapshot_and_a_new_run_rebuilds_its_own(
        modern_repo, tmp_path):
    root, out = modern_repo.root, tmp_path / "out"
    first = _snapshots(plan_repository(root, out, SELECTION))
    assert all(c.snapshot.with_suffix(".state").exists()
               for c in plan_repository(root, out, SELECTION).campaigns.values())
    assert _snapshots(plan_repository(root, out, SELECTION)) == first
    time.sleep(0.01)
    campaign = next(f for f in first if f != "_no_campaign")
    write_example(root, specs=[RunSpec("rotate", 64, 4242, 0, campaign, 900)], seed=404,
                  system_params=False)
    after = _snapshots(plan_repository(root, out, SELECTION))
    assert after[campaign] != first[campaign]
    assert {f: v for f, v in after.items() if f != campaign} == {
        f: v for f, v in first.items() if f != campaign}
    runs = json.loads(after[campaign][1])["runs"]
    assert len(runs) == len(json.loads(first[campaign][1])["runs"]) + 1


def test_a_deleted_snapshot_or_other_settings_rebuild_it(modern_repo, tmp_path):
    root, out = modern_repo.root, tmp_path / "out"
    plan = plan_repository(root, out, SELECTION)
    snapshot = next(iter(plan.campaigns.values())).snapshot
    snapshot.unlink()
    plan_repository(root, out, SELECTION)
    assert snapshot.exists()
    wider = plan_repository(root, out, Selection(metrics=("acc", "f1")))
    assert json.loads(snapshot.read_bytes())["settings"]["metrics"] == ["acc", "f1"]
    assert next(iter(wider.campaigns.values())).settings.metrics == ("acc", "f1")
