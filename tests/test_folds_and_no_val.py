"""k-fold cross-validation (dataset.folds / dataset.fold), training without a validation split
(trainer.val_fraction=0), and a sweep's summary.csv grouped over its repeats."""

import csv
import json

import numpy as np
import pytest
import torch
from conftest import run_dlrun
from sweep_helpers import TINY, completed_summary, make_run

from dlrun.data.splits import check_fold_sizes, split_indices
from dlrun.errors import DlrunError
from dlrun.results.sweep import SUMMARY_CSV, write_summary_csv

LABELS = torch.tensor([c for c in range(3) for _ in range(10 + 5 * c)])  # 10, 15 and 20 of each class


def test_folds_partition_the_training_set_stratified_and_seeded():
    vals = [split_indices(LABELS, 0.1, seed=0, classification=True, folds=5, fold=i) for i in range(5)]
    everything = torch.cat([val for _, val in vals]).sort().values
    assert torch.equal(everything, torch.arange(len(LABELS)))  # each sample validates exactly once
    for train, val in vals:
        assert len(set(train.tolist()) & set(val.tolist())) == 0 and len(train) + len(val) == len(LABELS)
        assert torch.bincount(LABELS[val]).tolist() == [2, 3, 4]  # every class in proportion
    again = split_indices(LABELS, 0.1, seed=0, classification=True, folds=5, fold=3)
    assert torch.equal(again[1], vals[3][1])
    other = split_indices(LABELS, 0.1, seed=1, classification=True, folds=5, fold=3)
    assert not torch.equal(other[1].sort().values, vals[3][1].sort().values)
    targets = torch.linspace(0, 1, 23)  # regression: plain KFold
    sizes = [len(split_indices(targets, 0.1, 0, False, folds=4, fold=i)[1]) for i in range(4)]
    assert sorted(sizes) == [5, 6, 6, 6]


def test_val_fraction_zero_trains_on_everything():
    train, val = split_indices(LABELS, 0.0, seed=0, classification=True)
    assert len(val) == 0 and sorted(train.tolist()) == list(range(len(LABELS)))
    train, val = split_indices(LABELS, 0.1, seed=0, classification=True)
    assert len(val) == 4 and len(train) == len(LABELS) - 4  # the usual split, as before


def test_more_folds_than_the_smallest_class_is_refused():
    check_fold_sizes(LABELS.numpy(), 10, classification=True)
    with pytest.raises(DlrunError, match="dataset.folds=11 is larger than the smallest class"):
        check_fold_sizes(LABELS.numpy(), 11, classification=True)
    with pytest.raises(DlrunError, match="larger than the 3 training samples"):
        check_fold_sizes(np.zeros(3), 4, classification=False)


def test_sweep_summary_csv_is_grouped_over_seeds(tmp_path):
    sweep = tmp_path / "sweep"
    for i, (model, seed, acc) in enumerate([("mlp", 0, 0.7), ("mlp", 1, 0.72), ("cnn", 0, 0.9), ("cnn", 1, 0.92)]):
        make_run(
            sweep / f"{i}_model={model},trainer.seed={seed}",
            model=model,
            seed=seed,
            overrides=[f"model={model}", f"trainer.seed={seed}"],
            summary=completed_summary(acc, acc),
        )
    table, grouped = write_summary_csv(sweep)
    assert len(table.rows) == 4 and grouped is not None
    rows = list(csv.DictReader((sweep / SUMMARY_CSV).open()))
    assert [(r["model"], r["n"], r["best"]) for r in rows] == [("cnn", "2", "true"), ("mlp", "2", "false")]
    assert float(rows[0]["val_acc_mean"]) == pytest.approx(0.91)
    assert "trainer.seed" not in rows[0]


@pytest.mark.slow
def test_kfold_sweep_runs_every_fold_and_groups_them(tmp_path):
    sweep = tmp_path / "cv"
    done = run_dlrun("-m", *TINY, "dataset.folds=3", "dataset.fold=range(3)", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    logs = sorted(sweep.glob("*/dlrun.log"))
    assert len(logs) == 3
    sizes = [next(line for line in log.read_text().splitlines() if "data:" in line) for log in logs]
    assert all("958 train / 479 val" in line or "959 train / 478 val" in line for line in sizes), (
        sizes
    )  # digits' 1437 training samples in 3 folds
    rows = list(csv.DictReader((sweep / SUMMARY_CSV).open()))
    assert len(rows) == 1 and rows[0]["n"] == "3" and rows[0]["completed"] == "3"
    assert "one group" in done.stdout


@pytest.mark.slow
def test_no_validation_split_best_is_the_last_epoch(tmp_path):
    run = tmp_path / "run"
    done = run_dlrun(*TINY, "trainer.epochs=2", "trainer.val_fraction=0", f"hydra.run.dir={run}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["best_epoch"] == 2 and summary["monitor"] == "train_acc" and summary["val"] == {}
    assert 0 < summary["test"]["acc"] <= 1
    header = (run / "metrics.csv").read_text().splitlines()[0]
    assert "train_acc" in header and "val_" not in header
    assert "1437 train / 0 val" in (run / "dlrun.log").read_text()


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv, message",
    [
        (["trainer.val_fraction=0", "trainer.monitor=val_loss"], "trainer.monitor=val_loss needs a validation split"),
        (
            ["trainer.val_fraction=0", "regularization=[early_stopping]"],
            "regularization.early_stopping.monitor=val_loss needs a validation split",
        ),
        (["dataset.folds=5", "dataset.fold=5"], "dataset.fold: must be in 0..4 for folds=5"),
        (["dataset.folds=1"], "dataset.folds: must be >= 2"),
        (["dataset.folds=500"], "dataset.folds=500 is larger than the smallest class"),
        (["-m", "dataset.folds=500", "dataset.fold=range(2)"], "dataset.folds=500 is larger than the smallest class"),
    ],
)
def test_bad_folds_and_monitors_are_one_line_before_any_folder(tmp_path, argv, message):
    done = run_dlrun(*argv, "dataset=digits", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dlrun: error: ") and message in lines[0], done.stderr
    assert not (tmp_path / "outputs").exists()
