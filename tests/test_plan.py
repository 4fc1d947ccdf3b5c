"""Planning: safe folder names, stable batches, tcbench's defaults, one-line config errors."""

from __future__ import annotations

import os
import random

import pytest

from tcsummary.core.files import safe_name, write_if_changed
from tcsummary.core.model import NO_CAMPAIGN, MetricValue, RunInfo
from tcsummary.plan.batches import batch_names
from tcsummary.plan.campaigns import campaign_folder, split_key, split_values
from tcsummary.plan.selection import (
    ConfigError,
    Selection,
    check_names,
    default_contexts,
    default_groupby,
    selection_names,
)


@pytest.mark.parametrize(
    "label",
    ["../../etc", "a/b", "..", ".", "with space", "ünïcödé", "x" * 300, "-dash", "a\x00b", "/"],
)
def test_campaign_folders_never_leave_the_output_folder(label, tmp_path):
    name = campaign_folder(label)
    assert "/" not in name and name not in {"", ".", ".."} and ".." not in name
    assert len(name) <= 110
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()


def test_plain_ids_are_kept_and_distinct_ids_stay_distinct():
    assert campaign_folder("1684447037") == "1684447037"
    assert campaign_folder(NO_CAMPAIGN) == "_no_campaign"
    assert safe_name("a/b") != safe_name("a_b") != safe_name("a b")


def test_batches_are_stable_as_runs_arrive():
    rng = random.Random(3)
    hashes = [f"{rng.getrandbits(96):024x}" for _ in range(3000)]
    first = batch_names(hashes[:800])
    assert set(first) == {"all"}
    more = batch_names(hashes)
    assert sorted(more) == ["0-3", "4-7", "8-b", "c-f"]  # the power of two under 1,000 each
    # a run keeps its batch when another run arrives
    again = batch_names([*hashes, "f" * 24])
    assert all(set(more[name]) <= set(again[name]) for name in more)


@pytest.mark.parametrize("runs, count", [(1000, 1), (1001, 2), (2500, 4), (10_000, 16),
                                         (20_000, 32), (300_000, 512)])
def test_batches_are_hash_prefix_ranges_of_at_most_a_thousand_runs(runs, count):
    rng = random.Random(runs)
    hashes = [f"{rng.getrandbits(96):024x}" for _ in range(runs)]
    batches = batch_names(hashes)
    assert len(batches) == count
    assert sorted(h for members in batches.values() for h in members) == sorted(hashes)
    assert max(len(members) for members in batches.values()) <= 1000 * 1.2  # hashes vary
    for name, members in batches.items():
        if name != "all":  # every run's prefix is within its batch's range
            low, _, high = name.partition("-")
            assert all(low <= h[: len(low)] <= (high or low) for h in members), name
    if count == 16:  # a power of 16: the prefix itself, as one hex digit always was
        assert sorted(batches) == list("0123456789abcdef")


def run(hparams, metrics=(), status="finished"):
    values = {(m, c): MetricValue(1.0, 0) for m, c in metrics}
    return RunInfo(hash="0" * 24, hparams=hparams, metrics=values, status=status)


def test_default_groupby_is_tcbench_rule_per_campaign():
    runs = [
        run({"aug_name": a, "seed": s, "split_index": k, "campaign_exp_idx": i,
             "finetune_seed": s, "flowpic_dim": 32, "campaign_id": "1"})
        for i, (a, s, k) in enumerate([("noaug", 1, 0), ("rotate", 2, 1), ("noaug", 2, 1)])
    ]
    assert default_groupby(runs) == ("aug_name",)
    same = [run({"seed": s, "campaign_id": "1"}) for s in (1, 2)]
    assert default_groupby(same) == ("campaign_id",)


def test_default_contexts_start_with_test():
    runs = [run({}, [("acc", "train"), ("acc", "test-human"), ("acc", "test"), ("loss", "val")])]
    assert default_contexts(runs) == ("test", "test-human")


def test_unknown_names_are_one_line_errors_listing_what_exists():
    runs = [run({"aug_name": "noaug"}, [("acc", "test"), ("f1", "test")])]
    has = "; the repository has: "
    cases = [
        (Selection(metrics=("acc", "bogus")), f"unknown metric 'bogus'{has}acc, f1"),
        (Selection(metrics=("acc",), contexts=("nope",)), f"unknown context 'nope'{has}test"),
        (Selection(metrics=("acc",), groupby=("lr",)), f"unknown groupby key 'lr'{has}aug_name"),
    ]
    for selection, words in cases:
        with pytest.raises(ConfigError) as info:
            check_names(selection, selection_names(runs), where="/repo")
        assert str(info.value) == f"/repo: {words}"
        assert "\n" not in str(info.value)


def test_split_key_follows_tcbench():
    cnn = [run({"flowpic_dim": d}) for d in (1500, 32, 64)]
    assert split_key(cnn) == "flowpic_dim" and split_values(cnn, "flowpic_dim") == [32, 64, 1500]
    xgb = [run({"flow_representation": "pktseries", "max_n_pkts": n}) for n in (10, 20)]
    assert split_key(xgb) == "max_n_pkts"


def test_write_if_changed_keeps_the_mtime_of_unchanged_files(tmp_path):
    path = tmp_path / "snapshot.json"
    assert write_if_changed(path, b"one")
    os.utime(path, ns=(1, 1))
    assert not write_if_changed(path, b"one")
    assert path.stat().st_mtime_ns == 1
    assert write_if_changed(path, b"two") and path.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["snapshot.json"]  # no temporary left


def test_written_files_get_the_usual_permissions(tmp_path):
    path = tmp_path / "report.html"
    write_if_changed(path, b"<html></html>")
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_temporaries_skip_a_leftover_name_and_never_collide_across_threads(
    tmp_path, monkeypatch
):
    import itertools
    import threading

    from tcsummary.core import files

    monkeypatch.setattr(files, "_TEMPORARIES", itertools.count())
    leftover = tmp_path / f".a.txt.{os.getpid():x}-0.tmp"  # as a killed build leaves it
    leftover.write_text("old")
    files.write_text(tmp_path / "a.txt", "new")
    assert (tmp_path / "a.txt").read_text() == "new" and leftover.read_text() == "old"

    def write_many(n: int) -> None:
        for k in range(50):
            files.write_text(tmp_path / f"f{n}-{k}.txt", f"{n}:{k}")

    threads = [threading.Thread(target=write_many, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(
        (tmp_path / f"f{n}-{k}.txt").read_text() == f"{n}:{k}" for n in range(6) for k in range(50)
    )
    assert [p.name for p in tmp_path.glob(".*.tmp")] == [leftover.name]
    assert files.remove_stale_temporaries(tmp_path) == 1


@pytest.mark.slow
def test_the_bundled_example_is_generated_when_missing(tmp_path):
    from conftest import workflow_config

    from tcsummary.example import ensure_example
    from tcsummary.plan.build import plan_build

    root = tmp_path / "example"
    assert ensure_example(root, runs=4, campaigns=1)
    assert not ensure_example(root, runs=4, campaigns=1)  # present: left alone
    config = workflow_config(repositories=["example"], metrics=["acc"])
    build = plan_build(config, base=tmp_path, main_process=True)
    plan = build.repositories[0]
    assert plan.summary == tmp_path / "example" / "campaign_summary"
    assert set(plan.campaigns) == {"1684447037", "_no_campaign"}
    assert str(plan.summary / "problems.csv") in build.reports()
    other = {**config, "repositories": ["elsewhere"]}
    with pytest.raises(Exception, match="elsewhere: no such directory"):
        plan_build(other, base=tmp_path)
    assert not (tmp_path / "elsewhere").exists()  # planning never creates a repository


def test_a_snapshot_is_read_as_written_with_its_repeated_names_shared(modern_repo, tmp_path):
    import json

    from tcsummary.plan.campaigns import plan_repository, read_snapshot
    from tcsummary.plan.selection import Selection

    plan = plan_repository(modern_repo.root, tmp_path / "out", Selection(metrics=("acc",)))
    campaign = next(iter(plan.campaigns.values()))
    raw = campaign.snapshot.read_bytes()
    document = read_snapshot(campaign.snapshot)
    assert document == json.loads(raw)
    runs = [r for r in document["runs"] if r["metrics"]]
    assert len(runs) > 1
    first, second = runs[0]["metrics"][0], runs[1]["metrics"][0]
    assert first[:2] == second[:2] and first[0] is second[0] and first[1] is second[1]
    values = read_snapshot(campaign.values)  # the values file is read as written too
    assert values == json.loads(campaign.values.read_bytes())


def test_planning_ends_the_worker_processes_it_started(modern_repo, tmp_path):
    from conftest import workflow_config

    from tcsummary.core.workers import close_pools, pool
    from tcsummary.plan.build import plan_build

    started = pool(2)
    started.start()  # as discovery does before reading many runs
    processes = [w.process for w in started._started]
    config = workflow_config(
        repositories=[str(modern_repo.root)], output=str(tmp_path / "out"), workers=2
    )
    plan_build(config, base=tmp_path)
    # gone before the jobs: they would idle beside the first aggregation
    assert pool(2) is not started
    assert all(p.wait(timeout=10) == 0 for p in processes)
    close_pools()


def test_params_files_carry_the_code_version_so_an_upgrade_rebuilds(tmp_path):
    """A new tcsummary reruns the jobs whose params files it rewrites (mtime trigger)."""
    import json
    import os

    from tcsummary.plan.build import code_version, params_file

    path = tmp_path / "params.json"
    params_file(path, {"strict": False}, write=True)
    assert json.loads(path.read_text()) == {"strict": False, "tcsummary": code_version()}
    assert code_version().startswith("0.") and "+" in code_version()
    os.utime(path, (1, 1))
    params_file(path, {"strict": False}, write=True)  # the same code and params: untouched
    assert path.stat().st_mtime == 1
    code_version.cache_clear()
    try:
        import tcsummary.plan.build as build

        real = build.__version__
        build.__version__ = "9.9.9"
        params_file(path, {"strict": False}, write=True)
        assert path.stat().st_mtime > 1 and "9.9.9+" in path.read_text()
    finally:
        build.__version__ = real
        code_version.cache_clear()
