"""Reading, listing and every CLI command leave .aim/ and artifacts/ byte-identical."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import tree_state

from tcsummary.cli.main import main
from tcsummary.read.inventory import scan_repository

TCSUMMARY = Path(sys.executable).parent / "tcsummary"


def test_nothing_changes_under_aim_or_artifacts(any_repo, capsys):
    before = tree_state(any_repo.root)
    assert len(before) > 100
    scan_repository(any_repo.root)
    scan_repository(any_repo.root, workers=2)
    for command in ("ls", "properties", "campaigns"):
        for fmt in ("table", "csv", "json"):
            assert main([command, str(any_repo.root), "--format", fmt]) == 0
    capsys.readouterr()
    # and once through the installed console script, in its own process
    proc = subprocess.run(
        [str(TCSUMMARY), "ls", str(any_repo.root)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert tree_state(any_repo.root) == before
    assert not (any_repo.root / "campaign_summary").exists()
