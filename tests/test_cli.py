"""The command line as a user meets it: run folders, naming, one-line errors, user configs."""

import json
import re

import pytest
from conftest import run_dlrun


@pytest.mark.slow
def test_dlrun_run_writes_a_named_run_folder(tmp_path):
    res = run_dlrun("trainer.epochs=1", "model=cnn", "optim=sgd", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    (run,) = (tmp_path / "outputs").glob("*/*")
    assert re.fullmatch(r"\d\d-\d\d-\d\d_mnist1d-cnn-sgd_[0-9a-f]{4}", run.name)
    for f in (
        ".hydra/config.yaml",
        ".hydra/overrides.yaml",
        ".hydra/hydra.yaml",
        "metrics.csv",
        "summary.json",
        "checkpoints/last.pt",
        "checkpoints/best.pt",
        "dlrun.log",
    ):
        assert (run / f).is_file(), f
    assert "epoch 1/1" in (run / "dlrun.log").read_text()
    # plain per-epoch lines when stdout is not a terminal, then the summary
    assert "epoch 1/1" in res.stdout and "test" in res.stdout and str(run.name) in res.stdout


@pytest.mark.slow
def test_runs_started_together_never_share_a_folder(tmp_path):
    import subprocess
    import sys

    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "dlrun", "trainer.epochs=1", "dataset=digits"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    runs = list((tmp_path / "outputs").glob("*/*"))
    assert len(runs) == 3
    assert all(json.loads((r / "summary.json").read_text())["status"] == "completed" for r in runs)


@pytest.mark.slow
def test_hydra_run_dir_is_honoured(tmp_path):
    res = run_dlrun("trainer.epochs=1", "dataset=digits", f"hydra.run.dir={tmp_path / 'mine'}")
    assert res.returncode == 0, res.stderr
    assert json.loads((tmp_path / "mine" / "summary.json").read_text())["status"] == "completed"


@pytest.mark.parametrize(
    "override,expected",
    [
        ("model=mlpp", "unknown model 'mlpp' (choose from: cnn, mlp, rnn)"),
        ("optim.lrr=0.1", "unknown key 'optim.lrr'"),
        ("optim.lr=abc", "optim.lr"),
        ("optim.lr=-1", "optim.lr: must be > 0"),
        ("model.dropout=1", "model.dropout: must be in [0, 1)"),
        ("trainer.batch_size=0", "trainer.batch_size"),
        ("trainer.epochs=0", "trainer.epochs: must be > 0"),
        ("trainer.val_fraction=1", "trainer.val_fraction: must be in [0, 1)"),
        ("trainer.device=cuda", "CUDA is not available"),
        ("regularization=[l1,l3]", "unknown regularization 'l3'"),
        ("regularization.l1.weight=1", "regularization=[l1]"),
    ],
)
def test_bad_input_is_one_line_before_any_folder(tmp_path, override, expected):
    res = run_dlrun(override, cwd=tmp_path)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dlrun: error: "), res.stderr
    assert expected in lines[0]
    assert not (tmp_path / "outputs").exists()


def test_full_traceback_with_hydra_full_error(tmp_path):
    res = run_dlrun("optim.lr=-1", cwd=tmp_path, env={"HYDRA_FULL_ERROR": "1"})
    assert res.returncode != 0 and "Traceback" in res.stderr


@pytest.mark.slow
def test_user_config_dir_adds_choices(tmp_path):
    conf = tmp_path / "myconf" / "model"
    conf.mkdir(parents=True)
    (conf / "tiny.yaml").write_text(
        "_target_: dlrun.models.MLP\nhidden: [7]\nactivation: tanh\nresidual: false\ndropout: 0.0\nbatch_norm: false\n"
    )
    res = run_dlrun(
        "--config-dir", str(tmp_path / "myconf"), "model=tiny", "trainer.epochs=1", "dataset=digits", cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    (run,) = (tmp_path / "outputs").glob("*/*")
    assert "digits-tiny-adam" in run.name
    assert json.loads((run / "summary.json").read_text())["num_params"] == 64 * 7 + 7 + 7 * 10 + 10


def test_help_lists_the_groups():
    res = run_dlrun("--help")
    assert res.returncode == 0
    for group in ("dataset", "model", "optim", "sched", "regularization", "trainer", "experiment"):
        assert group in res.stdout
