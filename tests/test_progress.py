"""Progress on stderr: silent for fast steps, lines without a terminal, never on stdout."""

from __future__ import annotations

import io

from tcsummary.core.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_fast_step_prints_nothing():
    stream, clock = io.StringIO(), Clock()
    with Progress("reading 10 runs", 10, stream=stream, clock=clock) as progress:
        for _ in range(10):
            clock.now += 0.05
            progress.advance()
    assert stream.getvalue() == ""


def test_a_slow_step_prints_a_line_every_few_seconds_and_a_last_one():
    stream, clock = io.StringIO(), Clock()
    with Progress("reading 100 runs", 100, stream=stream, clock=clock) as progress:
        for _ in range(100):
            clock.now += 0.2  # 20 s in all
            progress.advance()
    lines = stream.getvalue().splitlines()
    assert 4 <= len(lines) <= 6
    assert lines[0].startswith("tcsummary: reading 100 runs: ")
    assert lines[-1] == "tcsummary: reading 100 runs: 100 of 100 (100%), 20 s"


def test_the_cli_keeps_progress_off_stdout(modern_repo, capsys):
    from tcsummary.cli.main import main

    assert main(["ls", str(modern_repo.root), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("hash,")
    assert "tcsummary:" not in out
