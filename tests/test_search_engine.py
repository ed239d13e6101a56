"""Searches end to end (dlrun -m hparams_search=optuna, real processes): pruned trials, a continued
search, seeds, parallel jobs sharing the study, the search report and the lr range test."""

import json
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
import yaml
from conftest import run_dlrun
from sweep_helpers import TINY, run_folders, status

from dlrun.commands import lr_find
from dlrun.tuning.study import STUDY_FILE, storage

pytestmark = pytest.mark.slow


def trials(sweep_dir):
    return optuna.load_study(study_name="dlrun", storage=storage(sweep_dir)).trials


def test_pruned_trials_stop_early_keep_their_files_and_are_not_errors(tmp_path):
    sweep_dir = tmp_path / "search"
    done = run_dlrun(
        "-m",
        "hparams_search=optuna",
        "hydra/sweeper/pruner=median",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.pruner.n_startup_trials=1",
        "hydra.sweeper.pruner.n_warmup_steps=1",
        "hydra/sweeper/sampler=random",
        "hydra.sweeper.sampler.seed=0",
        "dataset=digits",
        "trainer.epochs=3",
        "trainer.progress=false",
        f"hydra.sweep.dir={sweep_dir}",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    runs = run_folders(sweep_dir)
    pruned = [run for run in runs if status(run) == "pruned"]
    assert pruned, [status(run) for run in runs]
    for run in pruned:
        summary = json.loads((run / "summary.json").read_text())
        assert summary["epochs_completed"] < 3 and summary["error"].startswith("pruned by MedianPruner")
        assert (run / "metrics.csv").is_file() and (run / "checkpoints" / "best.pt").is_file()
        assert summary["test"]["acc"] > 0  # its best checkpoint was tested, as for any run
    # the study knows them as pruned, after the val_acc they reported each epoch
    states = {t.number: t for t in trials(sweep_dir)}
    for run in pruned:
        trial = states[int(run.name.split("_")[0])]  # run folder N_... is trial N
        assert (
            trial.state.name == "PRUNED"
            and len(trial.intermediate_values) == json.loads((run / "summary.json").read_text())["epochs_completed"]
        )
    assert "pruned" in (sweep_dir / "summary.csv").read_text()
    compare = run_dlrun("compare", str(sweep_dir), "--format", "csv", cwd=tmp_path)
    assert compare.stdout.count(",pruned,") == len(pruned)


def test_a_search_continues_where_it_stopped_and_the_seed_fixes_its_trials(tmp_path):
    args = ["-m", "hparams_search=optuna", "hydra.sweeper.sampler.seed=3", *TINY]
    first = tmp_path / "first"
    assert run_dlrun(*args, "hydra.sweeper.n_trials=2", f"hydra.sweep.dir={first}", cwd=tmp_path).returncode == 0
    again = run_dlrun(*args, "hydra.sweeper.n_trials=3", f"hydra.sweep.dir={first}", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "continuing the study: 2 of 3 trials done" in again.stdout + again.stderr
    assert [run.name.split("_")[0] for run in run_folders(first)] == ["0", "1", "2"]  # one new trial
    params = [t.params for t in trials(first)]
    assert params[2] != params[0]  # the continued sampler does not replay its first draws
    # another space or other fixed values would mix trials that cannot be compared: refused
    other_space = run_dlrun(
        *args,
        "hydra.sweeper.n_trials=4",
        "optim.lr=tag(log, interval(0.5, 0.9))",
        f"hydra.sweep.dir={first}",
        cwd=tmp_path,
    )
    assert other_space.returncode == 2 and other_space.stderr.strip().splitlines() == [
        f"dlrun: error: {first} holds a search started with optim.lr=tag(log, interval(1e-4, 1e-1)), now "
        "optim.lr=tag(log, interval(0.5, 0.9)): continue it with its own command, or give a new hydra.sweep.dir"
    ]
    assert len(trials(first)) == 3

    other = tmp_path / "other"  # the same seed in a new folder: the same first trials
    assert run_dlrun(*args, "hydra.sweeper.n_trials=2", f"hydra.sweep.dir={other}", cwd=tmp_path).returncode == 0
    assert [t.params for t in trials(other)] == params[:2]

    report = run_dlrun("report", str(first), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    for name in ("optimization_history.png", "param_importances.png", "parallel_coordinate.png", "slice.png"):
        assert (first / name).stat().st_size > 1000
    best = yaml.safe_load((first / "optimization_results.yaml").read_text())
    assert f"best trial {best['best_trial']}: value" in report.stdout
    assert f"run folder: {first / best['best_run_dir']}" in report.stdout
    assert (first / best["best_run_dir"] / "summary.json").is_file()


def test_a_trial_interrupted_by_ctrl_c_is_run_again_in_its_folder(tmp_path):
    sweep_dir = tmp_path / "search"
    args = [
        "-m",
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=2",
        "dataset=digits",
        "trainer.epochs=100",
        "trainer.progress=false",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    search = subprocess.Popen(
        [sys.executable, "-m", "dlrun", *args],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    deadline = time.time() + 240
    while not list(sweep_dir.glob("1_*/metrics.csv")) and search.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    search.send_signal(signal.SIGINT)  # Ctrl-C while trial 1 trains
    _, stderr = search.communicate(timeout=120)
    assert search.returncode == 130
    # the advice is to run the search again, not `dlrun resume` (the study would not hear of it)
    assert f"continue the search: run the same command with hydra.sweep.dir={sweep_dir}" in stderr, stderr
    assert "dlrun resume" not in stderr
    assert [status(run) for run in run_folders(sweep_dir)] == ["completed", "interrupted"]
    again = run_dlrun(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "run again from the start: interrupted trial(s) [1]" in again.stdout + again.stderr
    assert [status(run) for run in run_folders(sweep_dir)] == ["completed", "completed"]  # the same 2 folders
    assert [t.state.name for t in trials(sweep_dir)] == ["COMPLETE", "COMPLETE"]


def test_parallel_trials_share_the_study_file(tmp_path):
    sweep_dir = tmp_path / "search"
    done = run_dlrun(
        "-m",
        "hparams_search=optuna",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "hydra.sweeper.n_trials=2",
        "dataset=digits",
        "trainer.epochs=2",
        "trainer.progress=false",
        f"hydra.sweep.dir={sweep_dir}",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (sweep_dir / STUDY_FILE).is_file()
    done_trials = trials(sweep_dir)
    assert [t.state.name for t in done_trials] == ["COMPLETE", "COMPLETE"]
    # each job process wrote its epochs into the study
    assert all(sorted(t.intermediate_values) == [1, 2] for t in done_trials)


def test_lr_find_writes_its_files_and_suggests_an_lr(tmp_path):
    out = tmp_path / "lr"
    done = run_dlrun("lr-find", "dataset=digits", "--steps", "40", "--start", "1e-5", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = (out / "lr_find.csv").read_text().splitlines()
    assert rows[0] == "step,lr,loss,smoothed_loss" and 10 < len(rows) <= 41
    assert (out / "lr_find.png").stat().st_size > 1000
    lr = float(done.stdout.split("suggested lr: ")[1].split()[0])
    assert 1e-5 < lr < 1
    assert f"dlrun dataset=digits optim.lr={lr:.3g}" in done.stdout


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--steps", "5"], "at least 10 steps"),
        (["--start", "0.1", "--end", "0.01"], "is empty"),
        (["dataset=diabetes"], "regression task"),
    ],
)
def test_lr_find_refuses_bad_input_in_one_line(tmp_path, capsys, argv, message):
    out = tmp_path / "lr"
    assert lr_find.main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dlrun: error: lr-find") and message in err[0]
    assert not out.exists()


@pytest.mark.parametrize(
    "out, message",
    [
        ("afile", "lr-find: --out {out}: is a file, not a folder"),
        ("afile/lr", "lr-find: --out {out}: {tmp}/afile is a file, not a folder"),
    ],
)
def test_lr_find_out_that_is_a_file_is_one_line_before_the_test(tmp_path, out, message):
    (tmp_path / "afile").write_text("mine")
    out = str(tmp_path / out)
    done = run_dlrun("lr-find", "dataset=digits", "--steps", "10", "--out", out, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert done.stderr == f"dlrun: error: {message.format(out=out, tmp=tmp_path)}\n"
    assert (tmp_path / "afile").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_a_failed_trial_is_recorded_and_the_search_goes_on(tmp_path):
    sweep_dir = tmp_path / "search"
    done = run_dlrun(
        "-m",
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=2",
        *TINY,
        "trainer.monitor=val_nope",  # passes the checks, fails in the first epoch of each run
        f"hydra.sweep.dir={sweep_dir}",
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("dlrun: error: 2 of 2 runs did not complete (2 failed)")
    assert [t.state.name for t in trials(sweep_dir)] == ["FAIL", "FAIL"]
    assert [status(run) for run in run_folders(sweep_dir)] == ["failed", "failed"]
