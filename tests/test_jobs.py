"""Jobs log to their own log file: what they did, and on failure the traceback and the reason."""

from __future__ import annotations

import json
import logging
import threading

import pytest

from tcsummary import jobs
from tcsummary.core.errors import StrictError
from tcsummary.core.logs import job_log


def test_a_job_logs_what_it_did(tmp_path):
    source = tmp_path / "problems.json"
    source.write_text("[]")
    log = tmp_path / "logs" / "problems.log"
    note = jobs.problems(source, tmp_path / "problems.csv", log=log)
    assert note == "0 repository problems"
    assert log.read_text().splitlines() == [
        "INFO tcsummary.jobs: problems: started",
        "INFO tcsummary.jobs: problems: 0 repository problems",
    ]


def test_a_failing_job_leaves_its_traceback_and_reason(tmp_path):
    source = tmp_path / "problems.json"
    source.write_text(json.dumps([{"hash": "", "path": "artifacts/x", "problem": "stray"}]))
    log = tmp_path / "problems.log"
    with pytest.raises(StrictError):
        jobs.problems(source, tmp_path / "problems.csv", strict=True, log=log)
    text = log.read_text()
    assert "Traceback (most recent call last)" in text
    assert text.splitlines()[-1] == "ERROR tcsummary.jobs: reason: artifacts/x: stray"
    assert not (tmp_path / "problems.csv").exists()


def test_jobs_in_threads_keep_their_records_apart(tmp_path):
    barrier = threading.Barrier(2)

    def job(name):
        with job_log(tmp_path / f"{name}.log", name):
            barrier.wait()
            logging.getLogger("tcsummary.summarise").info("working on %s", name)
            barrier.wait()

    threads = [threading.Thread(target=job, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, other in (("a", "b"), ("b", "a")):
        text = (tmp_path / f"{name}.log").read_text()
        assert f"working on {name}" in text and f"working on {other}" not in text
