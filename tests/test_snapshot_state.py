"""The parse-time shortcut: a snapshot is rebuilt exactly when something it is made of changed."""

from __future__ import annotations

import hashlib
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
    values = next(iter(plan.campaigns.values())).values  # what comparisons read, beside it
    written = values.read_bytes()
    values.unlink()  # alone: the memo and the snapshot's state still say "current"
    plan_repository(root, out, SELECTION)
    assert values.read_bytes() == written
    assert json.loads(written)["snapshot_sha256"] == hashlib.sha256(
        snapshot.read_bytes()).hexdigest()
    wider = plan_repository(root, out, Selection(metrics=("acc", "f1")))
    assert json.loads(snapshot.read_bytes())["settings"]["metrics"] == ["acc", "f1"]
    assert next(iter(wider.campaigns.values())).settings.metrics == ("acc", "f1")


def _plans(plan):
    return {f: (c.runs, c.settings, c.batches, c.batch_shards, c.split_values, c.contexts_found,
                c.hparams)
            for f, c in plan.campaigns.items()}


def test_an_unchanged_repository_is_planned_from_the_memo_without_reading_records(
        modern_repo, tmp_path, monkeypatch):
    """The no-op path: same run states, same plan, no discovery cache loaded."""
    from tcsummary.plan import campaigns as module

    root, out = modern_repo.root, tmp_path / "out"
    first = plan_repository(root, out, SELECTION)
    problems = (out / ".tcsummary" / "problems.json").read_bytes()

    def refuse(*args, **kwargs):
        raise AssertionError("the memo should have answered")

    monkeypatch.setattr(module, "discover_runs", refuse)
    again = plan_repository(root, out, SELECTION)
    assert _plans(again) == _plans(first)
    assert (out / ".tcsummary" / "problems.json").read_bytes() == problems
    monkeypatch.undo()
    # a stray artifact entry is not a run change, yet the problems see it
    (root / "artifacts" / "notes.txt").write_text("x")
    monkeypatch.setattr(module, "discover_runs", refuse)
    plan_repository(root, out, SELECTION)
    assert b"notes.txt" in (out / ".tcsummary" / "problems.json").read_bytes()


def test_a_resumed_run_and_a_renamed_run_are_read_again(modern_repo, tmp_path):
    """A run reopened by aim and given a new value, or renamed in SQLite, misses the memo."""
    import sqlite3

    import aim

    root, out = modern_repo.root, tmp_path / "out"
    plan = plan_repository(root, out, SELECTION)
    folder = next(f for f in plan.campaigns if f != "_no_campaign")
    victim = plan.campaigns[folder].runs[0]
    before = plan.campaigns[folder].snapshot.read_bytes()
    time.sleep(0.01)
    run = aim.Run(run_hash=victim, repo=str(root), system_tracking_interval=None,
                  capture_terminal_logs=False)
    run.track(12.5, name="acc", context={"subset": "test-resumed"}, step=99)
    run.close()
    after = plan_repository(root, out, SELECTION).campaigns[folder]
    record = next(r for r in json.loads(after.snapshot.read_bytes())["runs"]
                  if r["hash"] == victim)
    assert ["acc", "test-resumed", 12.5, 99] in record["metrics"]
    assert "test-resumed" in after.contexts_found
    assert after.snapshot.read_bytes() != before
    con = sqlite3.connect(root / ".aim" / "run_metadata.sqlite")
    con.execute("UPDATE run SET name = 'renamed' WHERE hash = ?", (victim,))
    con.commit()
    con.close()
    renamed = plan_repository(root, out, SELECTION).campaigns[folder]
    record = next(r for r in json.loads(renamed.snapshot.read_bytes())["runs"]
                  if r["hash"] == victim)
    assert record["name"] == "renamed"
