"""The command line against the generator's known truth."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tcsummary.cli.main import main
from tcsummary.core.model import NO_CAMPAIGN
from tcsummary.example import CRASHED, RunSpec, write_example

TCSUMMARY = Path(sys.executable).parent / "tcsummary"


def run_json(capsys, *args: str):
    assert main([*args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_ls_lists_every_run_with_its_truth(any_repo, capsys):
    rows = run_json(capsys, "ls", str(any_repo.root))
    assert {r["hash"] for r in rows} == set(any_repo.specs)
    for row in rows:
        spec = any_repo.specs[row["hash"]]
        assert row["campaign"] == (spec.campaign_id or NO_CAMPAIGN)
        assert row["aug_name"] == spec.aug_name
        assert row["flowpic_dim"] == spec.flowpic_dim
        assert row["seed"] == spec.seed and row["split_index"] == spec.split_index
        assert row["status"] == ("unfinished" if spec.fate == CRASHED else "finished")
        assert row["experiment"] == "augmentation-at-loading"


def test_ls_filters(modern_repo, capsys):
    campaign = next(s.campaign_id for s in modern_repo.specs.values() if s.campaign_id)
    rows = run_json(capsys, "ls", str(modern_repo.root), "--campaign", campaign)
    assert {r["hash"] for r in rows} == {
        h for h, s in modern_repo.specs.items() if s.campaign_id == campaign
    }
    rows = run_json(
        capsys, "ls", str(modern_repo.root), "--where", 'flowpic_dim == 64 and status == "finished"'
    )
    assert rows and all(r["flowpic_dim"] == 64 for r in rows)
    assert main(["ls", str(modern_repo.root), "--where", "no_such_column == 1"]) == 2
    assert "--where" in capsys.readouterr().err


def test_ls_csv_and_table(modern_repo, capsys):
    assert main(["ls", str(modern_repo.root), "--format", "csv"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert len(frame) == len(modern_repo.specs)
    assert main(["ls", str(modern_repo.root)]) == 0
    table = capsys.readouterr().out
    for run_hash in modern_repo.specs:
        assert run_hash in table


def test_a_long_listing_prints_one_aligned_line_per_run(modern_repo, capsys, monkeypatch):
    """Past TEXT_TABLE_FROM rows ls prints text: rich took 1.9 s to lay out 1,000 runs."""
    from tcsummary.cli import tables

    monkeypatch.setattr(tables, "TEXT_TABLE_FROM", 3)
    assert main(["ls", str(modern_repo.root)]) == 0
    title, header, *lines = capsys.readouterr().out.splitlines()
    assert title.startswith(f"{len(modern_repo.specs)} runs in ")
    assert len(lines) == len(modern_repo.specs)
    assert {line.split()[0] for line in lines} == set(modern_repo.specs)
    starts = [header.index(name) for name in ("hash", "campaign", "status", "created")]
    for line in lines:  # every column starts where its header does
        assert all(line[i - 2:i] == "  " and line[i] != " " for i in starts[1:])


def test_text_table_aligns_and_keeps_a_row_on_one_line():
    from tcsummary.cli.tables import text_table

    columns = {"hash": ["a", "bbb"], "lr": [0.001, None], "problems": ["x\ny", ""]}
    assert text_table(columns, "two runs") == (
        "two runs\n"
        "hash  lr     problems\n"
        "a     0.001  x y\n"
        "bbb\n"
    )


def test_tables_print_without_pandas(modern_repo):
    """Only csv, json listings and --where build DataFrames: tables skip pandas' import."""
    code = (
        "import sys\n"
        "from tcsummary.cli.main import main\n"
        "for argv in (['campaigns', sys.argv[1]], ['campaigns', sys.argv[1], '--format', 'json'],"
        " ['properties', sys.argv[1]], ['properties', sys.argv[1], '--format', 'json'],"
        " ['ls', sys.argv[1]]):\n"
        "    assert main(argv) == 0\n"
        "assert 'pandas' not in sys.modules, 'pandas imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(modern_repo.root)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "campaigns in" in done.stdout and "hparams.seed" in done.stdout


def test_properties_match_the_grid(modern_repo, capsys):
    data = run_json(capsys, "properties", str(modern_repo.root))
    repo = data["repository"]
    assert repo["runs"] == len(modern_repo.specs)
    assert repo["by_status"]["unfinished"] == 1
    assert set(repo["contexts"]) == {
        "train", "val", "test-human", "test-script", "test-train-val-leftover",
    }
    assert set(repo["metrics"]) == {
        "acc", "loss", "best_loss", "best_epoch", "precision", "recall", "f1",
    }
    assert repo["hparams"]["seed"]["values"] == sorted({s.seed for s in modern_repo.specs.values()})
    # runs without campaign_id are reported, not a crash (tcbench's aimrepo properties crashes)
    assert f"campaign {NO_CAMPAIGN}" in data
    assert data[f"campaign {NO_CAMPAIGN}"]["runs"] == 1


def test_campaigns_find_missing_and_duplicated_cells(tmp_path, capsys):
    campaign = "1700000000"
    cells = [(aug, dim, seed, split) for aug in ("noaug", "rotate") for dim in (32,)
             for seed in (1, 2) for split in (0, 1)]
    specs = [RunSpec(*cell, campaign, i) for i, cell in enumerate(cells, start=1)]
    dropped = specs.pop(3)                              # a missing cell
    specs.append(RunSpec(*cells[0], campaign, 99))      # a duplicated cell
    write_example(tmp_path / "repo", specs=specs, seed=5, system_params=False)
    data = run_json(capsys, "campaigns", str(tmp_path / "repo"))
    (grid,) = data
    assert grid["campaign"] == campaign
    assert grid["grid"]["axes"] == {"aug_name": ["noaug", "rotate"], "seed": [1, 2],
                                    "split_index": [0, 1]}
    assert grid["missing_cells"] == [
        {"aug_name": dropped.aug_name, "seed": dropped.seed, "split_index": dropped.split_index}
    ]
    assert [d["cell"] for d in grid["duplicated_cells"]] == [
        {"aug_name": "noaug", "seed": 1, "split_index": 0}
    ]
    assert main(["campaigns", str(tmp_path / "repo")]) == 0
    assert "1 missing cells" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["ls", "properties", "campaigns"])
def test_not_a_repository_is_a_one_line_error(tmp_path, command):
    for path in (tmp_path / "missing", tmp_path):
        proc = subprocess.run(
            [str(TCSUMMARY), command, str(path)], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 2
        assert proc.stderr.count("\n") == 1 and str(path) in proc.stderr
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / ".aim").exists()


def test_properties_and_campaigns_on_every_kind(any_repo, capsys):
    truth: dict[str, list] = {}
    for spec in any_repo.specs.values():
        truth.setdefault(spec.campaign_id or NO_CAMPAIGN, []).append(spec)
    grids = {g["campaign"]: g for g in run_json(capsys, "campaigns", str(any_repo.root))}
    assert set(grids) == set(truth)
    for campaign, specs in truth.items():
        grid = grids[campaign]
        assert grid["runs"] == len(specs)
        assert grid["by_status"]["unfinished"] == sum(s.fate == CRASHED for s in specs)
        if campaign != NO_CAMPAIGN:
            finished = {(s.aug_name, s.flowpic_dim, s.seed, s.split_index)
                        for s in specs if s.fate != CRASHED}
            expected_cells = 1
            for axis in grid["grid"]["axes"].values():
                expected_cells *= len(axis)
            assert len(grid["missing_cells"]) == expected_cells - len(finished)
    props = run_json(capsys, "properties", str(any_repo.root))
    assert props["repository"]["runs"] == len(any_repo.specs)
    for campaign, specs in truth.items():
        assert props[f"campaign {campaign}"]["runs"] == len(specs)


# --- the caches: the build's work folder makes reruns fast; nothing written elsewhere ----

def test_ls_reads_through_the_output_folders_caches(modern_repo, tmp_path, capsys):
    from conftest import tree_state

    from tcsummary.example import RunSpec, write_example

    root, out = modern_repo.root, tmp_path / "out"
    before = tree_state(root)
    cold = run_json(capsys, "ls", str(root), "--output", str(out))
    assert {p.name for p in (out / ".tcsummary").iterdir()} == {
        "aim-cache.json", "artifacts-cache.json"}
    assert run_json(capsys, "ls", str(root), "--output", str(out)) == cold
    assert tree_state(root) == before and not (root / "campaign_summary").exists()

    # a new run and an edited CSV show through the cache
    spec = RunSpec("rotate", 64, 4242, 0, cold[0]["campaign"], 900)
    new = next(iter(write_example(root, specs=[spec], seed=404, system_params=False)))
    victim = next(r["hash"] for r in cold if r["problems"] == "")
    (root / "artifacts" / victim / "test-human_class_rep.csv").write_text("not,a,report\n")
    warm = run_json(capsys, "ls", str(root), "--output", str(out))
    assert {r["hash"] for r in warm} == {r["hash"] for r in cold} | {new}
    problems = next(r["problems"] for r in warm if r["hash"] == victim)
    assert "test-human_class_rep.csv" in problems
    assert warm == run_json(capsys, "ls", str(root))  # the same as reading everything
    assert run_json(capsys, "campaigns", str(root), "--output", str(out)) == run_json(
        capsys, "campaigns", str(root))


def test_without_an_output_folder_nothing_is_created(modern_repo, capsys):
    root = modern_repo.root
    run_json(capsys, "campaigns", str(root))
    assert not (root / "campaign_summary").exists()
