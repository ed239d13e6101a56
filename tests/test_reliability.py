"""Interrupt and resume, signals, crash safety, safe loading, divergence (issue: reliability).
The signal tests drive a real `dlrun` process."""

import csv
import json
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import run_dlrun

from dlrun.results.run_folder import RunFolder, atomic_write
from dlrun.training.trainer import train

pytestmark = pytest.mark.slow  # subprocess trainings, sweeps, signals or torchrun

RUN = [
    "dataset=digits",
    "model.hidden=[64]",
    "trainer.batch_size=32",
    "regularization=[dropout]",
    "trainer.progress=false",
]


def metrics_without_time(run_dir):
    with open(run_dir / "metrics.csv", newline="") as f:
        return [{k: v for k, v in r.items() if k not in ("epoch_s", "samples_per_s")} for r in csv.DictReader(f)]


def summary(run_dir):
    return json.loads((run_dir / "summary.json").read_text())


def start(run_dir, *overrides):
    return subprocess.Popen(
        [sys.executable, "-m", "dlrun", *RUN, *overrides, f"hydra.run.dir={run_dir}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(proc, prefix):
    for line in proc.stdout:
        if line.startswith(prefix):
            return
    raise AssertionError(f"no line starting with {prefix!r}; stderr: {proc.stderr.read()}")


@pytest.fixture(scope="module")
def reference(tmp_path_factory, data_root):
    """The uninterrupted run every resumed run must reproduce."""
    run_dir = tmp_path_factory.mktemp("reference")
    res = run_dlrun(*RUN, "trainer.epochs=8", f"hydra.run.dir={run_dir}")
    assert res.returncode == 0, res.stderr
    return run_dir


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_cleanly_and_resume_reproduces_the_run(tmp_path, reference, sig, code):
    run_dir = tmp_path / "run"
    proc = start(run_dir, "trainer.epochs=8")
    wait_for_line(proc, "epoch 2/8")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code
    assert f"dlrun resume {run_dir}" in err
    s = summary(run_dir)
    assert s["status"] == "interrupted" and 2 <= s["epochs_completed"] < 8
    last = torch.load(run_dir / "checkpoints/last.pt", weights_only=True)
    assert last["epoch"] == s["epochs_completed"]

    res = run_dlrun("resume", str(run_dir))
    assert res.returncode == 0, res.stderr
    assert summary(run_dir)["status"] == "completed"
    assert metrics_without_time(run_dir) == metrics_without_time(reference)
    assert summary(run_dir)["test"] == summary(reference)["test"]


def test_second_ctrl_c_exits_at_once_and_leaves_files_readable(tmp_path):
    run_dir = tmp_path / "run"
    proc = start(run_dir, "trainer.epochs=200")
    wait_for_line(proc, "epoch 1/200")
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert summary(run_dir)["status"] == "interrupted"
    for name in ("last", "best"):
        torch.load(run_dir / "checkpoints" / f"{name}.pt", weights_only=True)
    assert not list(run_dir.rglob("*.tmp"))


def test_sigkill_at_any_moment_leaves_readable_files_and_resume_continues(tmp_path, make_cfg):
    # batch size 1: ~1300 steps an epoch, so kills land inside epochs and inside checkpoint writes.
    # Each session is killed soon after its first epoch line: 3 kills leave most of the 8 epochs.
    slow = ["trainer.batch_size=1", "trainer.epochs=8", "trainer.checkpoint_every_steps=100"]
    reference = train(make_cfg(*RUN, *slow), str(tmp_path / "reference"))
    run_dir = tmp_path / "run"
    proc = start(run_dir, *slow)
    for delay in (0.05, 0.1, 0.2):
        wait_for_line(proc, "epoch ")
        time.sleep(delay)
        proc.kill()
        proc.wait()
        s = summary(run_dir)
        assert s["status"] == "running"  # killed: nothing got to say otherwise
        state = torch.load(run_dir / "checkpoints/last.pt", weights_only=True)
        torch.load(run_dir / "checkpoints/best.pt", weights_only=True)
        assert state["epoch"] < 8
        proc = subprocess.Popen(
            [sys.executable, "-m", "dlrun", "resume", str(run_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert summary(run_dir)["status"] == "completed"
    assert metrics_without_time(run_dir) == metrics_without_time(tmp_path / "reference")
    assert summary(run_dir)["test"] == reference["test"]


def test_resume_with_a_different_model_names_the_mismatch(tmp_path, reference):
    before = {p: p.read_bytes() for p in (reference / ".hydra").iterdir()}
    before[reference / "summary.json"] = (reference / "summary.json").read_bytes()
    res = run_dlrun("resume", str(reference), "model.hidden=[32]", "trainer.epochs=9")
    assert res.returncode == 2
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith("dlrun: error: ") and "does not match this run's model" in line
    assert "size mismatch" in line and "blocks.0.0.weight" in line
    # a refused resume leaves the run exactly as it was
    assert {p: p.read_bytes() for p in before} == before


def test_resume_refuses_folders_that_are_not_runs(tmp_path, reference):
    res = run_dlrun("resume", str(tmp_path))
    assert res.returncode == 2 and "not a dlrun run folder" in res.stderr
    res = run_dlrun("resume", str(reference))
    assert res.returncode == 2 and "already completed 8 epochs" in res.stderr
    no_ckpt = tmp_path / "run"
    (no_ckpt / ".hydra").mkdir(parents=True)
    (no_ckpt / ".hydra" / "overrides.yaml").write_text("[]\n")
    res = run_dlrun("resume", str(no_ckpt))
    assert res.returncode == 2 and "no checkpoint" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_resume_can_train_longer(tmp_path, reference, make_cfg):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(reference, run_dir)
    res = run_dlrun("resume", str(run_dir), "trainer.epochs=10")
    assert res.returncode == 0, res.stderr
    rows = metrics_without_time(run_dir)
    assert [int(r["epoch"]) for r in rows] == list(range(1, 11))
    assert rows[:8] == metrics_without_time(reference)
    # the run folder records the config it continued with
    assert "trainer.epochs=10" in (run_dir / ".hydra" / "overrides.yaml").read_text()


def test_divergence_stops_at_once_and_keeps_the_finite_best(make_cfg, tmp_path):
    # lr grows 1e6x per epoch: fine at first, then the loss blows up (at the latest when the lr
    # overflows float32, in epoch 8)
    cfg = make_cfg(*RUN[:-1], "optim=sgd", "optim.lr=0.01", "sched=exponential", "sched.gamma=1e6", "trainer.epochs=10")
    s = train(cfg, str(tmp_path))
    assert s["status"] == "diverged"
    assert "step" in s["error"] and "lr" in s["error"]
    assert 1 <= s["best_epoch"] < s["epochs_completed"] + 1 < 10
    best = torch.load(tmp_path / "checkpoints/best.pt", weights_only=True)
    assert all(torch.isfinite(v).all() for v in best["model"].values())
    assert s["test"]["acc"] > 0.5  # the best (finite) checkpoint was evaluated


def test_summary_records_seed_and_versions(reference):
    s = summary(reference)
    assert s["seed"] == 0
    assert s["versions"]["torch"] == torch.__version__ and "python" in s["versions"]


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "summary.json"
    target.write_text('{"status": "running"}')

    def broken(f):
        f.write(b'{"status": "comp')
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(target, broken)
    assert json.loads(target.read_text()) == {"status": "running"}
    assert list(tmp_path.iterdir()) == [target]


def test_checkpoints_are_plain_tensors_and_numbers(reference):
    # weights_only=True refuses pickled objects: everything dlrun saves must load that way
    state = RunFolder(reference).load_checkpoint("last")
    assert {"model", "optimizer", "schedule", "rng", "epoch", "step", "rows"} <= set(state)
