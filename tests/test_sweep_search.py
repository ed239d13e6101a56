"""Search with hparams_search=optuna: trials are normal run folders, the task returns the monitored
metric to the sweeper, the best parameters and value land in the sweep folder."""

import json
import math

import pytest
import yaml
from conftest import run_dlrun
from sweep_helpers import DIVERGES, TINY, run_folders

from dlrun.cli import preflight_sweep
from dlrun.errors import DlrunError
from dlrun.metrics import objective

pytestmark = pytest.mark.slow  # subprocess trainings, sweeps, signals or torchrun


def test_a_three_trial_search(tmp_path):
    sweep_dir = tmp_path / "search"
    done = run_dlrun(
        "-m",
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.sampler.seed=7",
        *TINY,
        f"hydra.sweep.dir={sweep_dir}",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    runs = run_folders(sweep_dir)
    assert len(runs) == 3
    summaries = [json.loads((run / "summary.json").read_text()) for run in runs]
    assert all(s["status"] == "completed" for s in summaries)
    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert set(results["best_params"]) == {"optim.lr", "optim.weight_decay", "trainer.batch_size", "model.hidden"}
    # the sweeper maximized what each run reported: its best val_acc
    assert results["best_value"] == max(s["val"]["acc"] for s in summaries)
    assert "Directions: ['maximize']" in done.stdout
    assert (sweep_dir / "summary.csv").read_text().count("\n") == 4


def test_search_presets_compose(tmp_path):
    """Random search, a minimized metric, and another model's width all compose; monitor=auto
    is a one-line error (the search would not know which way is better)."""
    preflight_sweep(
        ["hparams_search=optuna", "hydra/sweeper/sampler=random", "trainer.monitor=val_loss", "model=rnn"],
        None,
        "config",
    )
    try:
        preflight_sweep(["hparams_search=optuna", "trainer.monitor=auto"], None, "config")
    except DlrunError as e:
        assert "set trainer.monitor" in str(e)
    else:
        raise AssertionError("monitor=auto should be refused for a search")


def test_the_objective_is_the_best_monitored_val_metric():
    summary = {"status": "completed", "monitor": "val_loss", "val": {"loss": 0.25, "acc": 0.9}}
    assert objective(summary) == 0.25
    assert objective({**summary, "status": "diverged"}) == math.inf
    assert objective({**summary, "status": "diverged", "monitor": "val_acc"}) == -math.inf
    assert objective({**summary, "status": "failed"}) is None
    assert objective({"status": "failed", "error": "boom"}) is None


def test_a_search_whose_trials_all_diverge_ends_with_its_table(tmp_path):
    sweep_dir = tmp_path / "search"
    done = run_dlrun(
        "-m",
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=1",
        *TINY,
        "optim=sgd",
        f"optim.lr={DIVERGES}",
        f"hydra.sweep.dir={sweep_dir}",
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("dlrun: error: 1 of 1 runs did not complete (1 diverged)")
    assert yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())["best_value"] == -math.inf
