"""Grid sweeps (`dlrun -m`): one run folder per combination, summary.csv, the final table, failure
isolation and the exit status; the checks made before a sweep starts."""

import csv

import pytest
from conftest import run_dlrun
from sweep_helpers import DIVERGES, TINY, run_folders, status

from dlrun.config.sweep_check import compositions_to_check

pytestmark = pytest.mark.slow  # subprocess trainings, sweeps, signals or torchrun


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """4 tiny runs, 2 of which diverge: optim.lr in {0.05, 1e30} x trainer.seed in {0, 1}."""
    cwd = tmp_path_factory.mktemp("grid")
    done = run_dlrun(
        "-m",
        *TINY,
        "model=mlp",
        "model.hidden=[16]",
        "optim=sgd",
        f"optim.lr=0.05,{DIVERGES}",
        "trainer.seed=0,1",
        f"hydra.sweep.dir={cwd / 'sweep'}",
        cwd=cwd,
    )
    return cwd / "sweep", done


def test_every_combination_gets_its_own_readable_folder(sweep):
    sweep_dir, _ = sweep
    names = [p.name for p in run_folders(sweep_dir)]
    assert len(names) == 4
    assert names[0].startswith("0_") and "optim.lr=0.05" in names[0] and "trainer.seed=0" in names[0]
    assert sum(f"optim.lr={DIVERGES}" in n or "optim.lr=1e+30" in n for n in names) == 2


def test_diverged_runs_are_recorded_and_the_sweep_goes_on(sweep):
    sweep_dir, _ = sweep
    statuses = sorted(status(p) for p in run_folders(sweep_dir))
    assert statuses == ["completed", "completed", "diverged", "diverged"]
    for run in run_folders(sweep_dir):
        if status(run) == "diverged":
            assert "loss became" in (run / "summary.json").read_text()


def test_summary_csv_has_a_row_per_group_of_seeds(sweep):
    """trainer.seed is a repeat key: the sweep's summary.csv has a row per optim.lr (dlrun.results.groups)."""
    sweep_dir, _ = sweep
    rows = list(csv.DictReader((sweep_dir / "summary.csv").open()))
    assert len(rows) == 2
    assert {
        "optim.lr",
        "n",
        "completed",
        "status",
        "val_acc_mean",
        "val_acc_std",
        "test_acc_mean",
        "epochs_mean",
        "wall_s_mean",
    } <= set(rows[0])
    assert "trainer.seed" not in rows[0]
    assert (rows[0]["optim.lr"], rows[0]["n"], rows[0]["completed"], rows[0]["best"]) == ("0.05", "2", "2", "true")
    assert (rows[1]["n"], rows[1]["completed"], rows[1]["status"]) == ("2", "0", "2 diverged")
    assert rows[1]["val_acc_mean"] == ""  # no completed run to average


def test_the_sweep_ends_with_a_table_and_a_non_zero_exit(sweep):
    _, done = sweep
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "dlrun: error: 2 of 4 runs did not complete (2 diverged); see the table above"
    )
    table = done.stdout[done.stdout.index("4 runs in 2 groups") :]
    assert "2 diverged" in table and "2 completed" in table and "★" in table
    assert "nothing to compare it with" in table  # the diverged group has no completed run


def test_a_bad_job_stops_the_sweep_before_any_run(tmp_path):
    done = run_dlrun("-m", *TINY, "model=mlp,nope", f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == "dlrun: error: unknown model 'nope' (choose from: cnn, mlp, rnn)\n"
    assert not (tmp_path / "sweep").exists()


def is_group(key: str) -> bool:
    return key in ("model", "optim")


def test_compositions_checked_cover_each_group_combination_and_each_value():
    checks = compositions_to_check(["model=mlp,cnn", "optim.lr=0.1,0.01,0.001", "trainer.epochs=1"], is_group)
    assert checks == [
        ["trainer.epochs=1", "model=mlp", "optim.lr=0.1"],
        ["trainer.epochs=1", "model=cnn", "optim.lr=0.1"],
        ["trainer.epochs=1", "model=mlp", "optim.lr=0.01"],
        ["trainer.epochs=1", "model=mlp", "optim.lr=0.001"],
    ]


def test_search_ranges_are_left_to_the_sweeper():
    checks = compositions_to_check(
        ["optim.lr=tag(log, interval(1e-4, 1e-1))", "trainer.batch_size=choice(32, 64)"], is_group
    )
    assert checks == [["trainer.batch_size=32"], ["trainer.batch_size=64"]]


def test_summary_csv_is_rebuilt_as_each_job_ends(sweep, tmp_path):
    """What a launcher's worker does when a job ends: rebuild summary.csv from the run folders."""
    import shutil

    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from dlrun.results.sweep import SUMMARY_CSV, SweepReport

    copy = tmp_path / "sweep"
    shutil.copytree(sweep[0], copy)
    (copy / SUMMARY_CSV).unlink()
    run = run_folders(copy)[1]
    config = OmegaConf.load(run / ".hydra" / "hydra.yaml")
    config.hydra.mode = RunMode.MULTIRUN
    config.hydra.runtime.output_dir = str(run)
    SweepReport().on_job_end(config, job_return=None)
    rows = list(csv.DictReader((copy / SUMMARY_CSV).open()))
    assert len(rows) == 2 and rows[0]["optim.lr"] == "0.05" and rows[0]["n"] == "2"  # grouped over seeds
