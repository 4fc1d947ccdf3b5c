"""Extraction batches: a pool of processes only when enough runs need parsing; the memo."""

from __future__ import annotations

import json
import os

from tcsummary.core.workers import close_pools, pool
from tcsummary.jobs.extract import extract as extract_job
from tcsummary.plan.batches import batch_manifest, extractions_pending
from tcsummary.summarise.extract import (
    MIN_POOL_RUNS,
    encode,
    extract_batch,
    pool_size,
    read_extractions,
)


def test_a_batch_mostly_in_its_memo_is_parsed_without_a_pool():
    cached = [(f"{i:024x}", {"digest": "d"}) for i in range(250)]
    one_new = [*cached, ("f" * 24, None)]
    assert pool_size(one_new, workers=2) == 1
    fresh = [(run_hash, None) for run_hash, _ in one_new]
    assert pool_size(fresh, workers=2) == 2
    assert pool_size(fresh[: MIN_POOL_RUNS - 1], workers=2) == 1
    assert pool_size(fresh[:MIN_POOL_RUNS], workers=2) == 2
    assert pool_size(fresh, workers=1) == 1


CONTEXTS = ("test-human", "test-script", "test-train-val-leftover")


def _batch(repo):
    """A batch of the repository's runs having artifact folders, and its manifest's runs."""
    artifacts = repo.root / "artifacts"
    hashes = sorted(p.name for p in artifacts.iterdir() if (p / "params.yml").exists())
    manifest = json.loads(batch_manifest(artifacts, hashes, CONTEXTS))
    return artifacts, hashes, manifest["runs"]


def _rewrite_keeping_size_and_mtime(path, old: bytes, new: bytes) -> None:
    assert len(old) == len(new)
    info = path.stat()
    path.write_bytes(new)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def test_a_run_whose_files_still_show_their_size_and_mtime_is_taken_from_the_memo(modern_repo):
    artifacts, hashes, files = _batch(modern_repo)
    first = extract_batch(artifacts, hashes, CONTEXTS, files=files)
    memo = {r["hash"]: r for r in first}
    target = artifacts / hashes[0] / "test-human_class_rep.csv"
    old = target.read_bytes()
    # same size, same mtime, other bytes: what the manifest cannot see is not read again
    # (Snakemake would not even rerun the batch: its manifest is unchanged)
    _rewrite_keeping_size_and_mtime(target, old, old.replace(b",", b";", 1))
    again = extract_batch(artifacts, hashes, CONTEXTS, memo, files=files)
    assert again == first
    # without the manifest's entries the run is read: the broken CSV is found
    read = extract_batch(artifacts, hashes, CONTEXTS, memo)
    assert "problem" in read[0]["contexts"]["test-human"]
    assert read[1:] == first[1:]


def test_a_run_whose_files_changed_is_read_again_and_a_touch_reuses_its_record(modern_repo):
    artifacts, hashes, files = _batch(modern_repo)
    first = extract_batch(artifacts, hashes, CONTEXTS, files=files)
    memo = {r["hash"]: r for r in first}
    touched = artifacts / hashes[0] / "params.yml"
    os.utime(touched, ns=(0, touched.stat().st_mtime_ns + 10**9))
    target = artifacts / hashes[1] / "test-script_conf_mtx.csv"
    target.write_bytes(target.read_bytes() + b"not,a,row\n")
    _, _, now = _batch(modern_repo)
    assert now[hashes[0]] != files[hashes[0]] and now[hashes[1]] != files[hashes[1]]
    again = extract_batch(artifacts, hashes, CONTEXTS, memo, files=now)
    # the touched run: same bytes, same record, now with the entries it was checked against
    assert again[0] == {**first[0], "files": now[hashes[0]]}
    assert "problem" in again[1]["contexts"]["test-script"]
    assert again[1]["files"] == now[hashes[1]]
    assert again[2:] == first[2:]
    # a record made now is reused by the next build's manifest without reading
    assert extract_batch(artifacts, hashes, CONTEXTS, {r["hash"]: r for r in again},
                         files=now) == again


def test_an_extraction_is_pending_while_its_output_is_missing_or_older_than_its_manifest(
    tmp_path,
):
    manifest, output = tmp_path / "inputs.json", tmp_path / "extract.json"
    manifest.write_text("{}")
    batches = [(str(manifest), str(output))]
    assert extractions_pending(batches)
    output.write_text("[]")
    os.utime(output, ns=(0, manifest.stat().st_mtime_ns - 10**9))
    assert extractions_pending(batches)
    os.utime(output, ns=(0, manifest.stat().st_mtime_ns + 10**9))
    assert not extractions_pending(batches)


def test_the_builds_last_extraction_ends_the_worker_processes(modern_repo, tmp_path):
    artifacts, hashes, _ = _batch(modern_repo)
    work = tmp_path / ".tcsummary" / "c"
    pairs = []
    for batch in ("a", "b"):
        manifest = work / "inputs" / f"{batch}.json"
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_bytes(batch_manifest(artifacts, hashes, CONTEXTS))
        pairs.append((str(manifest), str(work / "extract" / f"{batch}.json")))
    started = pool(2)
    started.start()
    processes = [w.process for w in started._started]
    extract_job(*pairs[0], workers=2, batches=pairs)  # "b" still to do: the workers stay
    assert pool(2) is started and all(p.poll() is None for p in processes)
    extract_job(*pairs[1], workers=2, batches=pairs)
    assert pool(2) is not started  # closed and forgotten: a later call starts new ones
    assert all(p.wait(timeout=10) == 0 for p in processes)
    close_pools()


def test_aggregation_reads_records_without_what_only_the_memo_needs(modern_repo, tmp_path):
    artifacts, hashes, files = _batch(modern_repo)
    records = extract_batch(artifacts, hashes, CONTEXTS, files=files)
    path = tmp_path / "all.json"
    path.write_bytes(encode(records))
    read = read_extractions([path])
    assert list(read) == hashes
    for record in records:
        kept = {k: v for k, v in record.items() if k not in ("files", "digest")}
        assert read[record["hash"]] == kept


def test_manifests_built_in_worker_processes_equal_the_ones_built_here(modern_repo, monkeypatch):
    from tcsummary.plan import batches as B

    artifacts, hashes, _ = _batch(modern_repo)
    (artifacts / hashes[1] / "test-script_conf_mtx.csv").unlink()  # a missing file is listed too
    plan = [(str(artifacts), hashes[:3], CONTEXTS), (str(artifacts), hashes[3:], CONTEXTS[:1])]
    here = B.batch_manifests(plan, workers=1)
    assert here == [batch_manifest(artifacts, h, c) for _, h, c in plan]
    monkeypatch.setattr(B, "PARALLEL_MANIFEST_RUNS", 1)
    calls = []
    real_map = B.map_chunks
    monkeypatch.setattr(B, "map_chunks", lambda *a, **k: calls.append(a[2]) or real_map(*a, **k))
    try:
        assert B.batch_manifests(plan, workers=2) == here
    finally:
        close_pools()
    assert calls == [2]  # the workers were asked for
