"""The example generator: realistic, and reproducible from its seed."""

from __future__ import annotations

import yaml

from tcsummary.example import grid_cells, plan_example, write_example


def _csv_bytes(root, written):
    out = {}
    for run_hash, spec in written.items():
        for path in sorted((root / "artifacts" / run_hash).glob("*.csv")):
            out[(spec.key, path.name)] = path.read_bytes()
    return out


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    specs = plan_example(4, campaigns=1)
    a = write_example(tmp_path / "a", specs=specs, seed=11, system_params=False)
    b = write_example(tmp_path / "b", specs=specs, seed=11, system_params=False)
    c = write_example(tmp_path / "c", specs=specs, seed=12, system_params=False)
    assert sorted(a) == sorted(b)  # run hashes are reproducible too
    assert _csv_bytes(tmp_path / "a", a) == _csv_bytes(tmp_path / "b", b)
    assert _csv_bytes(tmp_path / "a", a) != _csv_bytes(tmp_path / "c", c)
    run_hash = sorted(a)[0]
    params = yaml.safe_load((tmp_path / "a" / "artifacts" / run_hash / "params.yml").read_text())
    assert "campaign_id" not in params and params["method"] == "monolithic"
    log = (tmp_path / "a" / "artifacts" / run_hash / "log.txt").read_text()
    assert "--- run hparams ---" in log and f"campaign_id: {a[run_hash].campaign_id}" in log


def test_grid_is_balanced():
    cells = grid_cells(24)
    assert len(cells) == len(set(cells)) == 24
    assert {c[0] for c in cells} == {"noaug", "rotate"} and {c[1] for c in cells} == {32, 64}
    big = grid_cells(315)
    assert len(set(big)) == 315  # tcbench's full 7 x 3 x 3 x 5 grid
    assert len(set(grid_cells(400))) == 400


def test_imperfections_are_planned():
    specs = plan_example(10, campaigns=2, unfinished=1, missing_artifact=1, no_campaign=1)
    fates = [s.fate for s in specs]
    assert fates.count("crashed") == 1 and fates.count("missing-artifact") == 1
    assert sum(s.campaign_id is None for s in specs) == 1
    assert len(specs) == 12


def test_runs_last_as_long_as_they_trained(tmp_path):
    """Aim times a run from creation to close; written here that took milliseconds."""
    from tcsummary.example import CRASHED, training_seconds
    from tcsummary.read.inventory import scan_repository

    specs = plan_example(6, campaigns=1, unfinished=1)
    written = write_example(tmp_path / "r", specs=specs, seed=5, system_params=False)
    runs = scan_repository(tmp_path / "r").runs
    for run_hash, spec in written.items():
        if spec.fate == CRASHED:
            assert runs[run_hash].duration is None
            continue
        seconds = training_seconds(spec, 5)
        assert 20 <= seconds <= 1000, seconds  # minutes, as tcbench's runs take
        # the close follows the creation by the milliseconds the writing took
        assert 0 <= runs[run_hash].duration - seconds < 5, (runs[run_hash].duration, seconds)
    assert training_seconds(specs[0], 5) == training_seconds(specs[0], 5)
    assert len({training_seconds(s, 5) for s in specs}) > 1
