"""Launchers: joblib runs jobs in parallel with torch threads split between them (and the sweep
still exits non-zero when a run fails); submitit_local runs a tiny sweep; the
submitit_slurm fields the README documents compose."""

import pytest
from conftest import run_dlrun
from sweep_helpers import TINY, run_folders, status

from dlrun.cli import preflight_sweep
from dlrun.results.sweep import available_cores, threads_per_job

pytestmark = pytest.mark.slow  # subprocess trainings, sweeps, signals or torchrun


def test_joblib_two_jobs_share_the_cores(tmp_path):
    sweep_dir = tmp_path / "sweep"
    # the second run raises when its first epoch ends (no such metric): status failed
    done = run_dlrun(
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        *TINY,
        "model.hidden=[16]",
        "trainer.monitor=val_acc,val_nope",
        f"hydra.sweep.dir={sweep_dir}",
        cwd=tmp_path,
    )
    assert "Joblib.Parallel(n_jobs=2" in done.stdout
    runs = run_folders(sweep_dir)
    assert [status(r) for r in runs] == ["completed", "failed"]
    assert "val_nope is not a metric of this run" in (runs[1] / "summary.json").read_text()
    expected = threads_per_job(2, available_cores())
    for run in runs:
        assert f"torch threads: {expected} (n_jobs=2 on {available_cores()} cores)" in (run / "dlrun.log").read_text()
    assert done.returncode == 1
    assert "1 of 2 runs did not complete (1 failed)" in done.stderr
    assert (sweep_dir / "summary.csv").read_text().count("\n") == 3


def test_threads_per_job():
    assert threads_per_job(2, 2) == 1
    assert threads_per_job(2, 16) == 8
    assert threads_per_job(10, 2) == 1
    assert threads_per_job(-1, 8) == 1  # joblib: one job per core
    assert threads_per_job(-2, 8) == 1  # one job per core but one
    assert threads_per_job(1, 8) == 8


def test_submitit_local_tiny_sweep(tmp_path):
    sweep_dir = tmp_path / "sweep"
    done = run_dlrun(
        "-m",
        "hydra/launcher=submitit_local",
        "hydra.launcher.timeout_min=5",
        *TINY,
        "model.hidden=[16]",
        "trainer.seed=0,1",
        f"hydra.sweep.dir={sweep_dir}",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    runs = run_folders(sweep_dir)
    assert [status(r) for r in runs] == ["completed", "completed"]
    # two seeds of one config: summary.csv has one group row (n=2) under its header
    assert (sweep_dir / "summary.csv").read_text().count("\n") == 2


def test_submitit_slurm_fields_compose():
    # composes here without Slurm; trainer.device=cuda is not checked on the submitting machine
    preflight_sweep(
        [
            "hydra/launcher=submitit_slurm",
            "hydra.launcher.partition=gpu",
            "hydra.launcher.gpus_per_node=1",
            "hydra.launcher.timeout_min=120",
            "hydra.launcher.array_parallelism=8",
            "hydra.launcher.cpus_per_task=8",
            "hydra.launcher.mem_gb=32",
            "trainer.device=cuda",
            "optim.lr=0.1,0.01",
        ],
        None,
        "config",
    )
