"""Jobs log to their own log file: what they did, and on failure the traceback and the reason."""

from __future__ import annotations

import json
import logging
import tempfile
import threading

import pytest
from conftest import fresh_python_prints

from tcsummary.core.child import ChildError, run_module
from tcsummary.core.errors import StrictError
from tcsummary.core.logs import job_log
from tcsummary.jobs.problems import problems
from tcsummary.jobs.render import render


def test_a_job_logs_what_it_did(tmp_path):
    source = tmp_path / "problems.json"
    source.write_text("[]")
    log = tmp_path / "logs" / "problems.log"
    note = problems(source, tmp_path / "problems.csv", log=log)
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
        problems(source, tmp_path / "problems.csv", strict=True, log=log)
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


def test_a_render_failing_in_its_child_process_names_the_reason(tmp_path):
    """Rendering runs in a child process: its failure is one line, its traceback in the log."""
    log = tmp_path / "render.log"
    missing = tmp_path / "view.json"
    with pytest.raises(ChildError, match=r"FileNotFoundError: .*view\.json") as caught:
        render(missing, tmp_path / "out", log=log)
    assert "\n" not in str(caught.value)
    text = log.read_text()
    assert "tcsummary.render, in a child process:" in text
    assert "Traceback (most recent call last)" in text
    assert text.splitlines()[-1].startswith("ERROR tcsummary.jobs: reason: tcsummary.render failed")
    assert not (tmp_path / "out").exists()


def test_a_child_process_error_is_its_last_line(tmp_path, monkeypatch):
    """Whatever the child prints last on stderr (an exception, its usage) is the reason."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ChildError, match="unknown kind of view 'nonsense'"):
        run_module("tcsummary.render", "nonsense", str(tmp_path / "v.json"), str(tmp_path))
    usage = tmp_path / "usage"
    with pytest.raises(ChildError, match="exit status 2|usage: python -m tcsummary.render"):
        run_module("tcsummary.render", str(usage))


def test_templates_compile_once_per_machine_and_render_the_same(tmp_path, monkeypatch):
    """Each report renders in a fresh process: compiled templates come from jinja2's cache."""
    import jinja2

    from tcsummary.render import report

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    repository = {"name": "repo", "roots": ["/data/repo"], "top": "", "folders": []}

    def render(out):
        report.environment.cache_clear()  # as in a new process
        report.render_index([], [], repository, [], out)
        return {p.name: p.read_bytes() for p in out.iterdir()}

    compiled = render(tmp_path / "first")
    stored = list((tmp_path / "tmp").glob("_jinja2-cache-*/__jinja2_*.cache"))
    assert len(stored) >= 2  # index.html.j2, index.md.j2 and what they include

    def no_compiling(*args, **kwargs):
        raise AssertionError("a template was compiled again")

    monkeypatch.setattr(jinja2.Environment, "compile", no_compiling)
    assert render(tmp_path / "second") == compiled
    report.environment.cache_clear()


def test_an_extraction_job_imports_neither_pandas_nor_scipy():
    """Its workers start at once while another job thread imports them (~0.4 s)."""
    code = (
        "import sys\n"
        "from tcsummary.jobs.extract import extract\n"
        "from tcsummary.jobs.render import render\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'scipy', 'pyarrow'}))\n"
    )
    assert fresh_python_prints(code) == "[]"
