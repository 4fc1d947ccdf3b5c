"""Write realistic tcbench repositories with the real ``aim`` package.

The layout, Aim experiment, hparams, metric names, contexts and artifact files
follow what tcbench 0.0.22's augment-at-loading campaign writes (see
``shared/reference/tcbench-repository.md``): per-class predictions come from a
generator seeded per run, so the same seed gives the same CSV bytes, and the
Aim metrics agree with the CSVs (test ``acc`` = 100 x accuracy, ``precision``/
``recall``/``f1`` = the report's weighted average), which lets tests check the
tool against known truth.

This module imports neither pandas nor anything else beyond aim, numpy-free
stdlib and PyYAML, so the same code also runs under aim 3.17.4 in a legacy
virtual environment (``scripts/make_legacy_fixture.sh``).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import math
import os
import random
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .core.progress import Progress

CLASSES = ("google-doc", "google-drive", "google-music", "google-search", "youtube")
AUGMENTATIONS = (
    "noaug", "rotate", "horizontalflip", "colorjitter", "packetloss", "changertt", "timeshift",
)
FLOWPIC_DIMS = (32, 64, 1500)
SEEDS = (12345, 42, 666)
SPLITS = (0, 1, 2, 3, 4)
#: Context -> per-class number of samples (ucdavis-icdm19's proportions, scaled down).
CONTEXT_SUPPORT = {
    "train": (80, 80, 80, 80, 80),
    "val": (20, 20, 20, 20, 20),
    "test-human": (15, 18, 15, 15, 20),
    "test-script": (30, 30, 30, 30, 30),
    "test-train-val-leftover": (420, 390, 460, 310, 280),
}
TEST_CONTEXTS = ("test-human", "test-script", "test-train-val-leftover")
#: Expected accuracy of a context, before the effects of augmentation and resolution.
BASE_ACCURACY = {
    "train": 0.985, "val": 0.965, "test-human": 0.70, "test-script": 0.955,
    "test-train-val-leftover": 0.955,
}
AUG_EFFECT = {
    "noaug": 0.0, "rotate": 0.008, "horizontalflip": 0.004, "colorjitter": 0.015,
    "packetloss": -0.01, "changertt": 0.02, "timeshift": 0.012,
}
DIM_EFFECT = {32: 0.0, 64: 0.004, 1500: -0.012}
#: How much harder each class is than the average (human traces confuse these most).
CLASS_DIFFICULTY = (0.04, -0.02, 0.01, -0.06, 0.03)
EXPERIMENT = "augmentation-at-loading"
FIRST_CAMPAIGN_ID = 1684447037
#: Size of the bundled example (``tcsummary example`` and the workflow's generated example).
DEFAULT_RUNS = 72
DEFAULT_CAMPAIGNS = 2
FINISHED, CRASHED, MISSING_ARTIFACT = "finished", "crashed", "missing-artifact"
#: The file a "missing-artifact" run lacks.
MISSING_FILE = "test-human_conf_mtx.csv"


@dataclass(frozen=True)
class RunSpec:
    """One run to write: its place in a campaign grid and what happens to it."""

    aug_name: str
    flowpic_dim: int
    seed: int
    split_index: int
    campaign_id: str | None = None
    campaign_exp_idx: int | None = None
    fate: str = FINISHED

    @property
    def key(self) -> str:
        """Seeds the run's random draws: stable whatever order runs are written in."""
        return (
            f"{self.campaign_id}:{self.campaign_exp_idx}:{self.aug_name}:"
            f"{self.flowpic_dim}:{self.seed}:{self.split_index}"
        )

    def hparams(self) -> dict[str, Any]:
        """``run["hparams"]`` as tcbench's augment-at-loading run sets it (same key order)."""
        values: dict[str, Any] = {
            "flowpic_dim": self.flowpic_dim,
            "flowpic_block_duration": 15,
            "split_index": self.split_index,
            "max_samples_per_class": -1,
            "aug_name": self.aug_name,
            "patience_steps": 5,
            "suppress_val_augmentation": False,
            "dataset": "ucdavis-icdm19",
            "dataset_minpkts": -1,
            "seed": self.seed,
            "with_dropout": True,
        }
        if self.campaign_id is not None:
            values["campaign_id"] = self.campaign_id
            values["campaign_exp_idx"] = self.campaign_exp_idx
        return values

    def params(self, root_name: str) -> dict[str, Any]:
        """``params.yml``: every CLI argument of the run (tcbench dumps ``vars(args)``)."""
        values: dict[str, Any] = {
            "aim_experiment_name": EXPERIMENT,
            "aim_repo": root_name,
            "artifacts_folder": f"{root_name}/artifacts",
            "aug_name": self.aug_name,
            "batch_size": 32,
            "dataset": "ucdavis-icdm19",
            "dataset_minpkts": -1,
            "epochs": 50,
            "final": False,
            "flowpic_block_duration": 15,
            "flowpic_dim": self.flowpic_dim,
            "gpu_index": "0",
            "learning_rate": 0.001,
            "max_samples_per_class": -1,
            "method": "monolithic",
            "patience_steps": 5,
            "seed": self.seed,
            "split_index": self.split_index,
            "suppress_dropout": False,
            "suppress_test_train_val_leftover": False,
            "suppress_val_augmentation": False,
            "train_val_split_ratio": 0.8,
            "workers": 20,
        }
        if self.campaign_id is not None:
            values["experiment_name"] = "augmentations-at-loading"
        return values


@dataclass
class ContextResult:
    """Counts of one context and the sklearn-style report derived from them."""

    counts: list[list[int]]
    report: list[tuple[str, float, float, float, float]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        total = sum(sum(row) for row in self.counts)
        return sum(self.counts[i][i] for i in range(len(self.counts))) / total

    def weighted(self) -> tuple[float, float, float]:
        row = self.report[-1]
        return row[1], row[2], row[3]


def grid_cells(n_runs: int) -> list[tuple[str, int, int, int]]:
    """The first ``n_runs`` cells (aug_name, flowpic_dim, seed, split) of a campaign.

    tcbench iterates ``product(splits, augs, dims, seeds)``; a small example keeps
    that order but uses a sub-grid sized to ``n_runs`` so every configuration gets
    replicates: up to 36 runs use 2 seeds x 3 splits, larger ones 3 seeds x 5 splits
    (and more seeds past the 21 aug x dim configurations).
    """
    if n_runs <= 0:
        return []
    if n_runs <= 36:
        seeds, splits = SEEDS[:2], SPLITS[:3]
    else:
        seeds, splits = SEEDS, SPLITS
    configs_all = [(aug, dim) for dim in FLOWPIC_DIMS for aug in AUGMENTATIONS]
    # Prefer two resolutions early so per-flowpic_dim files appear even in small examples.
    configs_all = sorted(configs_all, key=lambda c: (c[1] == 1500, AUGMENTATIONS.index(c[0])))
    reps = len(seeds) * len(splits)
    n_configs = min(len(configs_all), math.ceil(n_runs / reps))
    if n_configs * reps < n_runs:  # very large campaigns: extra seeds
        extra = math.ceil(n_runs / (n_configs * len(splits))) - len(seeds)
        seeds = tuple(seeds) + tuple(1000 + i for i in range(extra))
    configs = configs_all[:n_configs]
    augs = [a for a in AUGMENTATIONS if any(c[0] == a for c in configs)]
    dims = [d for d in FLOWPIC_DIMS if any(c[1] == d for c in configs)]
    cells = [
        (aug, dim, seed, split)
        for split in splits
        for aug in augs
        for dim in dims
        for seed in seeds
        if (aug, dim) in configs
    ]
    # Fill whole replicates first so a truncated grid misses cells evenly.
    cells.sort(key=lambda c: (seeds.index(c[2]) * len(splits) + splits.index(c[3])))
    return cells[:n_runs]


def plan_example(
    runs: int,
    campaigns: int = 2,
    unfinished: int = 0,
    missing_artifact: int = 0,
    no_campaign: int = 0,
) -> list[RunSpec]:
    """Specs of an example repository: ``runs`` campaign runs plus the imperfections asked for.

    A ``missing-artifact`` run replaces a finished run of the first campaign (its
    last runs); an ``unfinished`` run is an extra, crashed attempt at the first
    cell of the first campaign; ``no_campaign`` runs are single runs without
    ``campaign_id``.
    """
    if campaigns < 1:
        raise ValueError("campaigns must be >= 1")
    specs: list[RunSpec] = []
    per_campaign = [
        runs // campaigns + (1 if k < runs % campaigns else 0) for k in range(campaigns)
    ]
    for k, count in enumerate(per_campaign):
        campaign_id = str(FIRST_CAMPAIGN_ID + k * 86_400)
        for idx, (aug, dim, seed, split) in enumerate(grid_cells(count), start=1):
            specs.append(RunSpec(aug, dim, seed, split, campaign_id, idx))
    first = [i for i, s in enumerate(specs) if s.campaign_id == str(FIRST_CAMPAIGN_ID)]
    for i in first[::-1][:missing_artifact]:
        specs[i] = RunSpec(**{**specs[i].__dict__, "fate": MISSING_ARTIFACT})
    for j in range(unfinished):
        base = specs[first[j % len(first)]] if first else RunSpec("noaug", 32, 12345, 0)
        specs.append(
            RunSpec(
                base.aug_name, base.flowpic_dim, base.seed, base.split_index,
                base.campaign_id, len(first) + j + 1, fate=CRASHED,
            )
        )
    for j in range(no_campaign):
        specs.append(RunSpec("noaug", 32, SEEDS[j % len(SEEDS)], j % len(SPLITS)))
    return specs


def _run_accuracy(spec: RunSpec, context: str, rng: random.Random) -> float:
    acc = BASE_ACCURACY[context] + AUG_EFFECT.get(spec.aug_name, 0.0)
    acc += DIM_EFFECT.get(spec.flowpic_dim, 0.0)
    acc += rng.gauss(0.0, 0.03 if context == "test-human" else 0.008)
    return min(0.999, max(0.2, acc))


def simulate_context(spec: RunSpec, context: str, rng: random.Random) -> ContextResult:
    """Draw a plausible confusion matrix for one context and derive its class report."""
    accuracy = _run_accuracy(spec, context, rng)
    n = len(CLASSES)
    counts = [[0] * n for _ in range(n)]
    scale = 3.0 if context == "test-human" else 0.6
    for i, support in enumerate(CONTEXT_SUPPORT[context]):
        p_correct = min(0.999, max(0.05, accuracy - scale * CLASS_DIFFICULTY[i]))
        weights = [rng.random() + 0.05 if j != i else 0.0 for j in range(n)]
        for _ in range(support):
            if rng.random() < p_correct:
                counts[i][i] += 1
            else:
                counts[i][rng.choices(range(n), weights)[0]] += 1
    result = ContextResult(counts=counts)
    result.report = classification_report_rows(counts)
    return result


def classification_report_rows(
    counts: Sequence[Sequence[int]],
) -> list[tuple[str, float, float, float, float]]:
    """sklearn's ``classification_report`` (zero_division=0) computed from a confusion matrix."""
    n = len(counts)
    total = sum(sum(row) for row in counts)
    rows = []
    for i, name in enumerate(CLASSES[:n]):
        tp = counts[i][i]
        predicted = sum(counts[r][i] for r in range(n))
        support = sum(counts[i])
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append((name, precision, recall, f1, float(support)))
    accuracy = sum(counts[i][i] for i in range(n)) / total
    rows.append(("accuracy", accuracy, accuracy, accuracy, accuracy))
    macro = [sum(r[k] for r in rows[:n]) / n for k in (1, 2, 3)]
    rows.append(("macro avg", *macro, float(total)))
    weighted = [sum(r[k] * r[4] for r in rows[:n]) / total for k in (1, 2, 3)]
    rows.append(("weighted avg", *weighted, float(total)))
    return rows


def class_report_csv(result: ContextResult) -> str:
    """The bytes pandas' ``to_csv(index=None)`` writes for tcbench's class report."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["index", "precision", "recall", "f1-score", "support"])
    for name, *values in result.report:
        writer.writerow([name, *(repr(float(v)) for v in values)])
    return out.getvalue()


def conf_matrix_csv(result: ContextResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["index", *CLASSES])
    for name, row in zip(CLASSES, result.counts, strict=True):
        writer.writerow([name, *row])
    return out.getvalue()


def _weights_file(path: Path) -> None:
    """A minimal file in torch.save's zip layout (an empty state dict, loadable by torch.load)."""
    import pickle
    from collections import OrderedDict

    stem = path.stem
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in (
            (f"{stem}/data.pkl", pickle.dumps(OrderedDict(), protocol=2)),
            (f"{stem}/byteorder", b"little"),
            (f"{stem}/version", b"3\n"),
        ):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, data)


@contextlib.contextmanager
def seeded_run_hashes(rng: random.Random) -> Iterator[None]:
    """Make aim draw run hashes from ``rng`` so an example is reproducible to the hash.

    Aim draws ``uuid4().hex[:24]``; this patches the one name aim's BaseRun uses,
    leaving every byte aim writes otherwise untouched. If aim moves it, hashes
    just stay random.
    """
    try:
        from aim.sdk import base_run
    except ImportError:  # pragma: no cover - aim layout changed
        yield
        return
    original = getattr(base_run, "generate_run_hash", None)
    if original is None:  # pragma: no cover
        yield
        return
    base_run.generate_run_hash = lambda hash_length=24: f"{rng.getrandbits(96):024x}"[:hash_length]
    try:
        yield
    finally:
        base_run.generate_run_hash = original


def _epochs(rng: random.Random) -> list[tuple[float, float, float, float]]:
    """(train_loss, train_acc, val_loss, val_acc) per epoch until patience runs out."""
    history = []
    n_epochs = rng.randint(8, 18)
    for e in range(n_epochs):
        progress = 1.0 - math.exp(-(e + 1) / 3.0)
        train_loss = 1.6 * (1 - progress) + 0.02 + rng.random() * 0.02
        val_loss = 1.4 * (1 - progress) + 0.08 + rng.random() * 0.05
        history.append((train_loss, 40 + 59 * progress, val_loss, 45 + 52 * progress))
    return history


#: Seconds of training per epoch by flowpic resolution: a 1500x1500 flowpic is far slower.
EPOCH_SECONDS = {32: 4.0, 64: 7.0, 1500: 45.0}


def training_seconds(spec: RunSpec, seed: int) -> float:
    """How long the run trained: its epochs at its resolution's pace, +-15%.

    Aim times a run from its creation to its close; written here, that is a few
    milliseconds, and every report's run duration read "0.0 s". Deterministic, like
    the rest of a run (the same spec and seed give the same epochs and seconds).
    """
    rng = random.Random(f"{seed}:{spec.key}")
    epochs = len(_epochs(rng))  # the same draws write_run makes first
    pace = random.Random(f"{seed}:{spec.key}:pace").uniform(0.85, 1.15)
    return round(epochs * EPOCH_SECONDS.get(spec.flowpic_dim, 5.0) * pace, 1)


def backdate_runs(root: Path, seconds: dict[str, float]) -> None:
    """Move each run's creation time in Aim's SQLite back by its training time.

    Only for repositories this module wrote (never a user's): one transaction, so
    the example reads either all runs backdated or none.
    """
    stamp = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores aim's created_at
    path = root / ".aim" / "run_metadata.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        for run_hash, value in sorted(seconds.items()):
            select = "SELECT created_at FROM run WHERE hash = ?"
            row = db.execute(select, (run_hash,)).fetchone()
            if row is None or row[0] is None:
                continue
            created = dt.datetime.fromisoformat(row[0]) - dt.timedelta(seconds=value)
            db.execute("UPDATE run SET created_at = ? WHERE hash = ?",
                       (created.strftime(stamp), run_hash))


def _log_text(spec: RunSpec, run_hash: str, root_name: str, history, results) -> str:
    """log.txt as tcbench's logger writes it: bare lines, no timestamps."""
    artifacts = f"{root_name}/artifacts/{run_hash}"
    lines = [
        "",
        f"connecting to AIM repo at: {root_name}",
        f"created aim run hash={run_hash}",
        f"artifacts folder at: {artifacts}",
        "WARNING: the artifact folder is not a subfolder of the AIM repo",
        "--- run hparams ---",
        *(f"{k}: {v}" for k, v in spec.hparams().items()),
        "-------------------",
    ]
    best = math.inf
    for e, (tl, ta, vl, va) in enumerate(history):
        mark = " | *" if best - vl > 0.001 else ""
        best = min(best, vl)
        lines.append(
            f"epoch: {e:3d} | train_loss: {tl:.6f} | train_acc: {ta:5.1f}% | "
            f"val_loss: {vl:.6f} | val_acc: {va:5.1f}%{mark}"
        )
    if results is None:
        return "\n".join(lines) + "\n"
    lines.append("run out of patience")
    for context, result in results.items():
        if context.startswith("test-"):
            lines.append(
                f"Test dataset {context[5:]} | loss: {history[-1][2]:.6f} | "
                f"acc: {100 * result.accuracy:.1f}"
            )
        lines += ["", f"---{context} reports---", ""]
        lines += [
            f"{name:>16} {p:9.4f} {r:9.4f} {f:9.4f} {s:9.1f}"
            for name, p, r, f, s in result.report
        ]
        lines.append("")
        lines += [f"{name:>16} " + " ".join(f"{c:5d}" for c in row)
                  for name, row in zip(CLASSES, result.counts, strict=True)]
        for suffix in ("class_rep", "conf_mtx"):
            lines.append(f"saving: {artifacts}/{context}_{suffix}.csv")
    lines.append(f"saving: {artifacts}/params.yml")
    return "\n".join(lines) + "\n"


def write_run(
    root: Path,
    spec: RunSpec,
    seed: int,
    hash_rng: random.Random,
    repo: Any = None,
    system_params: bool = True,
) -> str:
    """Write one run into Aim and its artifact folder, as tcbench would; returns its hash.

    A ``crashed`` spec never returns: the process ends without closing the run,
    exactly like a killed training job (callers run it in a child process).
    ``repo`` (an open ``aim.Repo``) saves reopening it per run; ``system_params``
    logs the environment like tcbench does, at ~0.1 s per run.
    """
    import aim

    rng = random.Random(f"{seed}:{spec.key}")
    history = _epochs(rng)
    results = {ctx: simulate_context(spec, ctx, rng) for ctx in CONTEXT_SUPPORT}
    with seeded_run_hashes(hash_rng):
        run = aim.Run(
            repo=repo if repo is not None else str(root),
            experiment=EXPERIMENT,
            log_system_params=system_params,
            capture_terminal_logs=False, system_tracking_interval=None,
        )
    run_hash = run.hash
    run["hparams"] = spec.hparams()
    best = math.inf
    for e, (tl, ta, vl, va) in enumerate(history):
        run.track(tl, name="loss", epoch=e, context={"subset": "train"})
        run.track(ta, name="acc", epoch=e, context={"subset": "train"})
        for _ in range(2):  # tcbench tracks validation metrics twice per epoch
            run.track(vl, name="loss", epoch=e, context={"subset": "val"})
            run.track(va, name="acc", epoch=e, context={"subset": "val"})
        if best - vl > 0.001:
            best = vl
            run.track(vl, name="best_loss", context={"subset": "val"})
            run.track(e, name="best_epoch", context={"subset": "val"})
    folder = root / "artifacts" / run_hash
    folder.mkdir(parents=True, exist_ok=True)
    if spec.fate == CRASHED:
        # A killed job: log so far, no reports, no params.yml (tcbench writes it last),
        # the Aim run never closed. Dying here keeps aim's finalizers from closing it.
        (folder / "log.txt").write_text(_log_text(spec, run_hash, root.name, history, None))
        sys.stdout.flush()
        os._exit(1)
    for context in TEST_CONTEXTS:
        result = results[context]
        ctx = {"subset": context}
        for _ in range(2):  # tcbench tracks test loss/acc twice
            run.track(history[-1][2], name="loss", context=ctx)
            run.track(100 * result.accuracy, name="acc", context=ctx)
        precision, recall, f1 = result.weighted()
        run.track(precision, name="precision", context=ctx)
        run.track(recall, name="recall", context=ctx)
        run.track(f1, name="f1", context=ctx)
    run.close()
    for context, result in results.items():
        (folder / f"{context}_class_rep.csv").write_text(class_report_csv(result))
        (folder / f"{context}_conf_mtx.csv").write_text(conf_matrix_csv(result))
    _weights_file(folder / f"best_model_weights_split_{spec.split_index}.pt")
    (folder / "log.txt").write_text(_log_text(spec, run_hash, root.name, history, results))
    with open(folder / "params.yml", "w") as fh:
        yaml.dump(spec.params(root.name), fh)
    if spec.fate == MISSING_ARTIFACT:
        (folder / MISSING_FILE).unlink()
    return run_hash


def _crash_in_subprocess(root: Path, spec: RunSpec, seed: int, hash_seed: str) -> None:
    """Write a run in a child process that dies without closing it, like a killed job."""
    code = (
        "import os, random, sys; from pathlib import Path\n"
        "from tcsummary.example import RunSpec, write_run\n"
        f"spec = RunSpec(**{spec.__dict__!r})\n"
        f"write_run(Path({str(root)!r}), spec, {seed}, random.Random({hash_seed!r}))\n"
    )
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    subprocess.run([sys.executable, "-c", code], env=env, check=False, timeout=300)


def write_example(
    root: Path | str,
    runs: int = DEFAULT_RUNS,
    campaigns: int = DEFAULT_CAMPAIGNS,
    seed: int = 0,
    unfinished: int = 0,
    missing_artifact: int = 0,
    no_campaign: int = 0,
    specs: Sequence[RunSpec] | None = None,
    system_params: bool = True,
) -> dict[str, RunSpec]:
    """Write an example repository at ``root`` (created if needed); returns hash -> spec.

    Runs can be appended to an existing repository by calling it again with
    other ``specs`` (and another ``seed`` so the hashes differ).
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if specs is None:
        specs = plan_example(runs, campaigns, unfinished, missing_artifact, no_campaign)
    hash_rng = random.Random(f"hashes:{seed}")
    written: dict[str, RunSpec] = {}
    repo = None
    with Progress(f"writing {len(specs)} runs to {root}", len(specs)) as progress:
        for n, spec in enumerate(specs):
            if spec.fate == CRASHED:
                hash_seed = f"crash:{seed}:{n}"
                before = set(_run_folders(root))
                _crash_in_subprocess(root, spec, seed, hash_seed)
                for run_hash in set(_run_folders(root)) - before:
                    written[run_hash] = spec
            else:
                if repo is None:
                    from aim.sdk.repo import Repo

                    # init only once: two writers opening an existing repository with
                    # init=True race for the index's lock (aim opens it writable)
                    fresh = not (root / ".aim" / "meta" / "index").exists()
                    repo = Repo.from_path(str(root), init=fresh)
                written[write_run(root, spec, seed, hash_rng, repo, system_params)] = spec
            progress.advance()
    if repo is not None:
        repo.close()
    backdate_runs(root, {h: training_seconds(spec, seed) for h, spec in written.items()})
    return written


def ensure_example(root: Path, runs: int | None = None, campaigns: int | None = None) -> bool:
    """Write the bundled example (with its imperfections) at ``root`` unless it has ``.aim``.

    The workflow calls this for the configured example path only, so a user's
    repository is never touched; returns whether anything was written.
    """
    if (root / ".aim").exists():
        return False
    write_example(
        root,
        runs=DEFAULT_RUNS if runs is None else runs,
        campaigns=DEFAULT_CAMPAIGNS if campaigns is None else campaigns,
        unfinished=1,
        missing_artifact=1,
        no_campaign=1,
    )
    return True


def _run_folders(root: Path) -> list[str]:
    folder = root / "artifacts"
    return [p.name for p in folder.iterdir()] if folder.is_dir() else []


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tcsummary.example ROOT [...]`` for environments without the CLI (legacy aim)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tcsummary.example")
    parser.add_argument("root", type=Path)
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--campaigns", type=int, default=DEFAULT_CAMPAIGNS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--imperfections", action="store_true")
    parser.add_argument("--truth", type=Path, help="also write hash -> run spec as JSON here")
    args = parser.parse_args(argv)
    extra = 1 if args.imperfections else 0
    written = write_example(
        args.root, args.runs, args.campaigns, args.seed, extra, extra, extra
    )
    if args.truth is not None:
        write_truth(args.truth, written)
    print(f"wrote {len(written)} runs to {args.root}")
    return 0


def write_truth(path: Path, written: dict[str, RunSpec]) -> None:
    """Save what each run was generated from, so tests can check a reader against it."""
    import json

    data = {h: spec.__dict__ for h, spec in sorted(written.items())}
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
