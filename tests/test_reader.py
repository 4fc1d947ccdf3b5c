"""The reader against real repositories of the three kinds, checked against generator truth."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tcsummary.core.errors import RepositoryError
from tcsummary.core.model import ACTIVE, FINISHED, NO_CAMPAIGN, UNFINISHED
from tcsummary.example import CRASHED, MISSING_ARTIFACT, MISSING_FILE, TEST_CONTEXTS
from tcsummary.plan.campaigns import group_by_campaign
from tcsummary.read.aim_reader import read_meta, read_runs, read_series_points
from tcsummary.read.artifacts import parse_class_report
from tcsummary.read.inventory import scan_repository


def test_every_run_is_read_with_its_hparams(any_repo):
    scan = scan_repository(any_repo.root)
    assert set(scan.runs) == set(any_repo.specs)
    for run_hash, spec in any_repo.specs.items():
        run = scan.runs[run_hash]
        assert run.hparams == spec.hparams(), run_hash
        assert run.experiment == "augmentation-at-loading"
        assert run.name == f"Run: {run_hash}"
        assert run.creation_time is not None


def test_status_follows_how_the_run_ended(any_repo):
    scan = scan_repository(any_repo.root)
    for run_hash, spec in any_repo.specs.items():
        run = scan.runs[run_hash]
        if spec.fate == CRASHED:
            assert run.status == UNFINISHED
            assert run.end_time is None and run.duration is None
        else:
            assert run.status == FINISHED
            assert run.duration is not None and run.duration >= 0


def test_test_metrics_agree_with_the_class_reports(any_repo):
    """acc is the report accuracy in percent; precision/recall/f1 its weighted average."""
    scan = scan_repository(any_repo.root)
    checked = 0
    for run_hash, spec in any_repo.specs.items():
        if spec.fate == CRASHED:
            continue
        run = scan.runs[run_hash]
        for context in TEST_CONTEXTS:
            path = any_repo.root / "artifacts" / run_hash / f"{context}_class_rep.csv"
            report = parse_class_report(path)
            assert run.metrics[("acc", context)].value == pytest.approx(100 * report.accuracy)
            p, r, f, _ = report.weighted_avg
            assert run.metrics[("precision", context)].value == pytest.approx(p)
            assert run.metrics[("recall", context)].value == pytest.approx(r)
            assert run.metrics[("f1", context)].value == pytest.approx(f)
            checked += 1
    assert checked >= 3 * 10


def test_last_value_is_the_last_in_step_order(any_repo):
    """Aim stores points under hashed keys; the value reported must be the highest step's."""
    scan = scan_repository(any_repo.root)
    aim_dir = any_repo.root / ".aim"
    run = next(r for r in scan.runs.values() if r.status == FINISHED)
    meta = read_meta(aim_dir, run.hash)
    contexts, traces = meta["contexts"], meta["traces"]
    index = {ctx.get("subset"): idx for idx, ctx in contexts.items() if ctx}
    for metric, context in [("loss", "train"), ("acc", "val"), ("acc", "test-human")]:
        version = traces[index[context]][metric].get("version", 1)
        points = read_series_points(aim_dir, run.hash, index[context], metric, version)
        assert [s for s, _ in points] == sorted(s for s, _ in points)
        assert len(points) > 1
        last_step, last_value = points[-1]
        assert run.metrics[(metric, context)].step == last_step
        assert run.metrics[(metric, context)].value == pytest.approx(last_value)


def test_campaigns_group_runs_and_name_the_runs_without_one(any_repo):
    scan = scan_repository(any_repo.root)
    expected: dict[str, set[str]] = {}
    for run_hash, spec in any_repo.specs.items():
        expected.setdefault(spec.campaign_id or NO_CAMPAIGN, set()).add(run_hash)
    groups = group_by_campaign(scan.runs.values())
    assert {k: {r.hash for r in v} for k, v in groups.items()} == expected


def test_artifact_inventory_and_problems(any_repo):
    scan = scan_repository(any_repo.root)
    assert scan.runs_without_artifacts == []
    assert scan.artifacts_without_run == []
    for run_hash, spec in any_repo.specs.items():
        inventory = scan.artifacts[run_hash]
        if spec.fate == CRASHED:
            assert inventory.contexts == [] and inventory.has_log
            assert "params.yml is missing" in inventory.problems
        elif spec.fate == MISSING_ARTIFACT:
            assert inventory.problems == [
                f"{MISSING_FILE} is missing (test-human_class_rep.csv exists)"
            ]
        else:
            assert inventory.problems == [], inventory.problems
            assert len(inventory.contexts) == 5
            assert inventory.params["seed"] == spec.seed
            assert inventory.model_files == [f"best_model_weights_split_{spec.split_index}.pt"]


def test_orphans_on_both_sides(modern_repo):
    root = modern_repo.root
    stray = root / "artifacts" / ("f" * 24)
    stray.mkdir()
    (stray / "log.txt").write_text("\n")
    gone = sorted(modern_repo.specs)[0]
    os.rename(root / "artifacts" / gone, root / "artifacts-moved")
    scan = scan_repository(root)
    assert scan.artifacts_without_run == ["f" * 24]
    assert scan.runs_without_artifacts == [gone]


def test_public_api_is_blind_on_modern_repositories(modern_repo):
    """Documents why the reader avoids aim's query API: it sees no run on kind (b)."""
    from aim.sdk.repo import Repo

    assert (modern_repo.root / ".aim" / "meta" / "index").is_dir()
    assert sum(1 for _ in Repo.from_path(str(modern_repo.root)).iter_runs()) == 0
    assert len(read_runs(modern_repo.root)) == len(modern_repo.specs)


def test_partial_index_does_not_hide_new_runs(partial_repo):
    from aim.sdk.repo import Repo

    public = {run.hash for run in Repo.from_path(str(partial_repo.root)).iter_runs()}
    assert public < set(partial_repo.specs)  # the public API drops the runs after the reindex
    assert {r.hash for r in read_runs(partial_repo.root)} == set(partial_repo.specs)


def test_legacy_repository_has_no_index(legacy_repo):
    assert not (legacy_repo.root / ".aim" / "meta" / "index").exists()
    version = (legacy_repo.root / ".aim" / "VERSION").read_text().strip()
    assert version == "1.3"


def test_parallel_read_equals_serial(modern_repo, monkeypatch):
    serial = read_runs(modern_repo.root, workers=1)
    from tcsummary.core import parallel

    parts = parallel.chunked([r.hash for r in serial], 3)
    assert sum(parts, []) == [r.hash for r in serial] == sorted(modern_repo.specs)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_ITEMS", 1)
    assert read_runs(modern_repo.root, workers=2) == serial


def test_fingerprints_taken_in_worker_processes_equal_serial(modern_repo, tmp_path, monkeypatch):
    from tcsummary.read import discovery, inventory

    serial = discovery.repository_state(modern_repo.root, workers=1)
    folders = sorted(os.listdir(modern_repo.root / "artifacts"))
    cache = tmp_path / "artifacts-cache.json"
    found = inventory.cached_inventories(modern_repo.root, folders, True, 1, cache, True)
    monkeypatch.setattr(discovery, "PARALLEL_FINGERPRINTS", 1)
    monkeypatch.setattr(inventory, "PARALLEL_FINGERPRINTS", 1)
    parallel = discovery.repository_state(modern_repo.root, workers=2)
    assert parallel.fingerprints == serial.fingerprints
    assert all(parallel.fingerprints.values())
    # the cache written serially answers for every folder fingerprinted in two processes
    def read_again(folder, validate, names):
        assert not names, f"re-read although unchanged: {names}"
        return []

    monkeypatch.setattr(inventory, "_inventory_chunk", read_again)
    again = inventory.cached_inventories(modern_repo.root, folders, True, 2, cache, False)
    assert again == found


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "missing", "no such directory"),
        (lambda p: (p / "file").write_text("x") and p / "file", "a file, not a folder"),
        (lambda p: p, "no .aim folder"),
    ],
)
def test_not_a_repository(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(RepositoryError, match=message):
        scan_repository(path)
    assert not (tmp_path / ".aim").exists() and not (tmp_path / "missing").exists()


def test_a_live_writer_is_active_and_a_killed_one_unfinished(modern_repo):
    code = textwrap.dedent(
        f"""
        import sys, time, aim
        run = aim.Run(repo={str(modern_repo.root)!r}, experiment="live",
                      system_tracking_interval=None, capture_terminal_logs=False)
        run["hparams"] = {{"campaign_id": "live", "seed": 1}}
        run.track(1.0, name="loss", context={{"subset": "train"}})
        print(run.hash, flush=True)
        time.sleep(120)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        run_hash = proc.stdout.readline().strip()
        time.sleep(0.5)
        scan = scan_repository(modern_repo.root)
        assert scan.runs[run_hash].status == ACTIVE
        assert scan.runs[run_hash].campaign == "live"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert scan_repository(modern_repo.root).runs[run_hash].status == UNFINISHED


def test_runs_missing_from_sqlite_are_still_read(modern_repo):
    import sqlite3

    victim = sorted(modern_repo.specs)[0]
    con = sqlite3.connect(modern_repo.root / ".aim" / "run_metadata.sqlite")
    con.execute("DELETE FROM run WHERE hash = ?", (victim,))
    con.commit()
    con.close()
    run = scan_repository(Path(modern_repo.root)).runs[victim]
    assert run.hparams == modern_repo.specs[victim].hparams()
    assert any("run_metadata.sqlite" in p for p in run.problems)


def test_cached_discovery_takes_sqlite_props_afresh(modern_repo, tmp_path):
    """A run read while missing from SQLite is cached; its row returning clears the problem."""
    import shutil
    import sqlite3

    from tcsummary.core.model import MISSING_FROM_SQLITE
    from tcsummary.read.discovery import discover_runs

    db = modern_repo.root / ".aim" / "run_metadata.sqlite"
    saved = tmp_path / "saved.sqlite"
    shutil.copy(db, saved)
    victim = sorted(modern_repo.specs)[0]
    con = sqlite3.connect(db)
    con.execute("DELETE FROM run WHERE hash = ?", (victim,))
    con.commit()
    con.close()
    cache = tmp_path / "cache.json"
    for _ in range(2):  # a fresh read, then the cached record
        run = discover_runs(modern_repo.root, cache_path=cache)[victim]
        assert run.problems.count(MISSING_FROM_SQLITE) == 1
    shutil.copy(saved, db)
    run = discover_runs(modern_repo.root, cache_path=cache)[victim]
    assert MISSING_FROM_SQLITE not in run.problems
    assert run.name == f"Run: {victim}"


def test_discovery_cache_survives_damage_and_forgets_deleted_runs(
    modern_repo, tmp_path, monkeypatch
):
    """The cache is a memo: a damaged line costs re-reading, never a wrong or missing run."""
    import json

    from tcsummary.read import discovery

    cache = tmp_path / "cache.json"
    first = discovery.discover_runs(modern_repo.root, cache_path=cache)
    lines = cache.read_bytes().splitlines()
    assert json.loads(lines[0]) == {"version": discovery.CACHE_VERSION}
    assert len(lines) == 1 + len(first)

    read = []
    real = discovery.read_runs

    def counted(root, hashes, **kwargs):
        read.append(sorted(hashes))
        return real(root, hashes, **kwargs)

    monkeypatch.setattr(discovery, "read_runs", counted)
    # the third entry cut in half: the first two are used, the rest is read again
    cache.write_bytes(b"\n".join([*lines[:3], lines[3][:40], *lines[4:]]) + b"\n")
    again = discovery.discover_runs(modern_repo.root, cache_path=cache)
    assert again == first
    assert read == [sorted(first)[2:]]
    assert len(cache.read_bytes().splitlines()) == 1 + len(first)  # rewritten whole

    # an entry of a run that no longer exists makes the cache be rewritten without it
    ghost = json.dumps(["f" * 24, json.loads(lines[1])[1]], separators=(",", ":")).encode()
    cache.write_bytes(b"\n".join([*lines, ghost]) + b"\n")
    read.clear()
    assert discovery.discover_runs(modern_repo.root, cache_path=cache) == first
    assert read == [] and b"f" * 24 not in cache.read_bytes()

    # a well-formed line holding a record of another shape: that run alone is read again
    key, entry = json.loads(lines[1])
    entry["run"] = {"hash": key}
    odd = json.dumps([key, entry], separators=(",", ":")).encode()
    cache.write_bytes(b"\n".join([lines[0], odd, *lines[2:]]) + b"\n")
    read.clear()
    assert discovery.discover_runs(modern_repo.root, cache_path=cache) == first
    assert read == [[key]]

    for damaged in (b"", b"not json\n", b'{"version": 1}\n' + b"\n".join(lines[1:])):
        cache.write_bytes(damaged)
        read.clear()
        assert discovery.discover_runs(modern_repo.root, cache_path=cache) == first
        assert read == [sorted(first)]


def test_one_uncached_run_leaves_the_other_cache_lines_as_they_are(modern_repo, tmp_path):
    """Only the run read afresh is encoded again; the others' lines are copied byte for byte."""
    from tcsummary.read import discovery

    cache = tmp_path / "cache.json"
    first = discovery.discover_runs(modern_repo.root, cache_path=cache)
    header, *lines = cache.read_bytes().splitlines(keepends=True)
    cache.write_bytes(header + b"".join(lines[1:]))  # the first run's line is gone
    assert discovery.discover_runs(modern_repo.root, cache_path=cache) == first
    again = cache.read_bytes().splitlines(keepends=True)
    assert again[0] == header and sorted(again[1:]) == sorted(lines)
    assert again[1:-1] == lines[1:] and again[-1] == lines[0]  # kept lines first, then new
