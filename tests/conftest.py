"""Shared fixtures: real tcbench repositories of the three kinds the reader must handle.

(a) ``legacy_repo``: written by aim 3.17.4 (what tcbench pins), no meta/index; a
    committed fixture that ``scripts/make_legacy_fixture.sh`` regenerates.
(b) ``modern_repo``: written by aim 3.29 (empty index: the public API reads nothing).
(c) ``partial_repo``: indexed by ``aim storage reindex``, then more runs arrived.
Each test gets its own copy, so nothing a test does can leak into another.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tcsummary.example import RunSpec, plan_example, write_example

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT = Path(__file__).resolve().parents[1]
SCHEMA = PROJECT / "workflow" / "schemas" / "config.schema.yaml"
LEGACY_TARBALL = FIXTURES / "legacy-aim-3.17.4.tar.gz"
AIM = Path(sys.executable).parent / "aim"


@dataclass
class Repo:
    """A generated repository and the truth it was generated from."""

    root: Path
    specs: dict[str, RunSpec]  # run hash -> spec


def _copy(repo: Repo, dest: Path) -> Repo:
    shutil.copytree(repo.root, dest, symlinks=True)
    return Repo(dest, dict(repo.specs))


def _specs_from_artifacts(root: Path) -> dict[str, RunSpec]:
    """Recover hash -> spec of the legacy fixture from its Aim-independent truth file."""
    import json

    truth = json.loads((root.parent / "truth.json").read_text())
    return {h: RunSpec(**spec) for h, spec in truth.items()}


@pytest.fixture(scope="session")
def _modern(tmp_path_factory) -> Repo:
    root = tmp_path_factory.mktemp("modern") / "repo"
    specs = write_example(
        root, runs=16, campaigns=2, seed=1, unfinished=1, missing_artifact=1, no_campaign=1,
        system_params=False,
    )
    return Repo(root, specs)


@pytest.fixture(scope="session")
def _partial(tmp_path_factory) -> Repo:
    root = tmp_path_factory.mktemp("partial") / "repo"
    first = plan_example(8, campaigns=1)
    specs = write_example(root, specs=first, seed=2, system_params=False)
    subprocess.run(
        [str(AIM), "storage", "--repo", str(root), "reindex", "-y"],
        check=True, capture_output=True, cwd=root,
    )
    later = [RunSpec("rotate", 64, 666, s, "1684447037", 100 + s) for s in range(3)]
    specs.update(write_example(root, specs=later, seed=3, system_params=False))
    return Repo(root, specs)


@pytest.fixture(scope="session")
def _legacy(tmp_path_factory) -> Repo:
    dest = tmp_path_factory.mktemp("legacy")
    with tarfile.open(LEGACY_TARBALL) as archive:
        archive.extractall(dest, filter="tar")
    root = dest / "legacy-repo"
    return Repo(root, _specs_from_artifacts(root))


@pytest.fixture
def modern_repo(_modern, tmp_path) -> Repo:
    return _copy(_modern, tmp_path / "modern")


@pytest.fixture
def partial_repo(_partial, tmp_path) -> Repo:
    return _copy(_partial, tmp_path / "partial")


@pytest.fixture
def legacy_repo(_legacy, tmp_path) -> Repo:
    return _copy(_legacy, tmp_path / "legacy")


@pytest.fixture(params=["legacy", "modern", "partial"])
def any_repo(request) -> Repo:
    """Each test using it runs once per repository kind."""
    return request.getfixturevalue(f"{request.param}_repo")


def tree_state(root: Path) -> dict[str, str]:
    """Every entry under .aim/ and artifacts/ with a checksum (files) or a marker (dirs)."""
    state = {}
    for top in (".aim", "artifacts"):
        for dirpath, dirnames, filenames in os.walk(root / top):
            for name in dirnames:
                state[os.path.relpath(os.path.join(dirpath, name), root)] = "dir"
            for name in filenames:
                path = os.path.join(dirpath, name)
                with open(path, "rb") as fh:
                    digest = hashlib.sha256(fh.read()).hexdigest()
                state[os.path.relpath(path, root)] = digest
    return state


def corrupt_rocksdb(root: Path, victim: str) -> None:
    """Overwrite a run's RocksDB files with garbage: its Aim metadata becomes unreadable."""
    folder = root / ".aim" / "meta" / "chunks" / victim
    for entry in folder.iterdir():
        if entry.name.startswith(("MANIFEST", "CURRENT")) or entry.suffix in (".sst", ".log"):
            entry.write_bytes(b"\x13garbage\x00" * 64)


def fresh_python_prints(code: str) -> str:
    """What ``code`` prints in a fresh interpreter (import hygiene: what a module pulls in)."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def workflow_config(**overrides):
    """A validated config as the workflow sees it: the schema's defaults, then ``overrides``."""
    import yaml

    schema = yaml.safe_load(SCHEMA.read_text())
    config = {k: spec["default"] for k, spec in schema["properties"].items() if "default" in spec}
    config.update(overrides)
    return config
