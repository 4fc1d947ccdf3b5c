"""The parse-time shortcut: a snapshot is rebuilt exactly when something it is made of changed."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
from conftest import corrupt_rocksdb

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
    _rename(root, victim)
    renamed = plan_repository(root, out, SELECTION).campaigns[folder]
    record = next(r for r in json.loads(renamed.snapshot.read_bytes())["runs"]
                  if r["hash"] == victim)
    assert record["name"] == "renamed"


def _work_files(folder, as_folder=None):
    """Every file a plan wrote but its discovery cache (a memo in any line order); the paths
    in them written as if the output were ``as_folder``."""
    work = folder / ".tcsummary"
    files = {}
    for path in sorted(work.rglob("*")):
        if path.is_file() and not path.name.startswith("aim-cache"):
            data = path.read_bytes()
            if as_folder is not None:
                data = data.replace(str(folder).encode(), str(as_folder).encode())
            files[str(path.relative_to(work))] = data
    return files


def _new_run(root, campaign):
    write_example(root, specs=[RunSpec("rotate", 64, 4242, 0, campaign, 900)], seed=404,
                  system_params=False)


def _rename(root, victim, name="renamed"):
    """Set the run's name in Aim's SQLite database (its RocksDB files stay as they are)."""
    import sqlite3

    con = sqlite3.connect(root / ".aim" / "run_metadata.sqlite")
    with con:
        con.execute("UPDATE run SET name = ? WHERE hash = ?", (name, victim))
    con.close()


def _remove(root, victim):
    import shutil

    shutil.rmtree(root / ".aim" / "meta" / "chunks" / victim)
    _rename(root, victim)  # its SQLite row may stay: runs are those with a metadata container


CHANGES = {
    "new run in a campaign": lambda root, first, second, out: _new_run(root, first),
    "new campaign": lambda root, first, second, out: _new_run(root, "1799999999"),
    "renamed run": lambda root, first, second, out: _rename(root, second[0]),
    "unreadable run": lambda root, first, second, out: corrupt_rocksdb(root, second[1]),
    "removed run": lambda root, first, second, out: _remove(root, second[2]),
    "deleted snapshot": lambda root, first, second, out: (
        out / ".tcsummary" / first / "snapshot.json").unlink(),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_replans_only_the_campaigns_it_touches_and_plans_as_from_every_record(
        modern_repo, tmp_path, monkeypatch, change):
    """One new run among 10,000 decoded every cached record; now only its campaign's are.

    The plan, its memo, snapshots, values, manifests and problems are the ones a plan from
    every record (a fresh output folder) writes, whatever the change.
    """
    from tcsummary.plan import campaigns as module

    root, out = modern_repo.root, tmp_path / "out"
    plan = plan_repository(root, out, SELECTION)
    first, second = (f for f in plan.campaigns if f != "_no_campaign")
    untouched = {first: second, second: first}
    touched = {"renamed run": second, "unreadable run": second, "removed run": second}.get(
        change, first if change != "new campaign" else None)
    time.sleep(0.01)
    CHANGES[change](root, first, plan.campaigns[second].runs, out)
    asked = []
    real = module.discover_runs

    def spy(*args, only=None, **kwargs):
        asked.append(only)
        return real(*args, only=only, **kwargs)

    monkeypatch.setattr(module, "discover_runs", spy)
    partial = plan_repository(root, out, SELECTION)
    assert asked and all(only is not None for only in asked)  # never every record
    asked.clear()
    assert _plans(plan_repository(root, out, SELECTION)) == _plans(partial)
    assert not asked  # and the memo it wrote answers the next plan
    monkeypatch.undo()
    read = set().union(*asked)
    if touched is not None:
        assert not read & set(plan.campaigns[untouched[touched]].runs)
    written = _work_files(out)
    (out / ".tcsummary" / "plan.json").unlink()  # the same output planned from every record
    assert _plans(plan_repository(root, out, SELECTION)) == _plans(partial)
    assert _work_files(out) == written
    fresh = tmp_path / "fresh"  # and a new output (no snapshot to trust by its state)
    assert _plans(plan_repository(root, fresh, SELECTION)) == _plans(partial)
    theirs = _work_files(fresh, as_folder=out)
    memo, their_memo = (json.loads(f.pop("plan.json")) for f in (dict(written), theirs))
    assert {k: v for k, v in memo.items() if k not in ("header", "key")} == {
        k: v for k, v in their_memo.items() if k not in ("header", "key")}
    assert {k: v for k, v in written.items() if k != "plan.json"} == theirs


def test_a_snapshot_written_while_a_run_state_was_unknown_is_never_trusted(
        modern_repo, tmp_path, monkeypatch):
    """A run whose RocksDB folder could not be read (state unknown) still gets its campaign's
    snapshot rewritten; the snapshot's old state must not vouch for that content later."""
    from tcsummary.read import discovery

    root, out = modern_repo.root, tmp_path / "out"
    plan = plan_repository(root, out, SELECTION)
    folder = next(f for f in plan.campaigns if f != "_no_campaign")
    victim = plan.campaigns[folder].runs[0]
    original = next(r["name"] for r in json.loads(
        plan.campaigns[folder].snapshot.read_bytes())["runs"] if r["hash"] == victim)
    real = discovery.run_fingerprint
    monkeypatch.setattr(discovery, "run_fingerprint",
                        lambda aim_dir, h: "" if h == victim else real(aim_dir, h))
    _rename(root, victim)  # while its state is unknown
    names = {r["hash"]: r["name"] for r in json.loads(
        plan_repository(root, out, SELECTION).campaigns[folder].snapshot.read_bytes())["runs"]}
    assert names[victim] == "renamed"
    monkeypatch.undo()
    _rename(root, victim, original)  # the name back: every run as the first plan saw it
    snapshot = plan_repository(root, out, SELECTION).campaigns[folder].snapshot
    names = {r["hash"]: r["name"] for r in json.loads(snapshot.read_bytes())["runs"]}
    assert names[victim] == original
