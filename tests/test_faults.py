"""Fault injection (issue 13): hostile run folders, damaged files, concurrent writers, killed
processes, signals at every phase, odd paths, and values that can never train. Tests that start
`dlrun` processes are marked slow."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_dlrun
from omegaconf import OmegaConf

from dlrun.commands.resume import hydra_quote
from dlrun.config.schema import REGULARIZATION, SCHEMAS, Trainer, check_finite, validate
from dlrun.config.trust import check_targets, trusted_targets
from dlrun.errors import DlrunError

HERE = Path(__file__).parent
USER = {"PYTHONPATH": str(HERE)}  # tests/fault_targets.py: the user's own components
RUN = ["dataset=digits", "model.hidden=[16]", "trainer.progress=false"]
SIGNAL_NET = "model._target_=fault_targets.SignalNet"


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def folder_bytes(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_error_line(res) -> str:
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dlrun: error: "), res.stderr
    assert res.returncode == 2
    return lines[0]


@pytest.fixture(scope="module")
def done_run(tmp_path_factory):
    """A completed 1-epoch run (copied by the tests that damage or resume it)."""
    run_dir = tmp_path_factory.mktemp("done") / "run"
    res = run_dlrun(*RUN, "trainer.epochs=1", f"hydra.run.dir={run_dir}")
    assert res.returncode == 0, res.stderr
    return run_dir


def copy_run(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


# -- 1. a run folder is data, not code ----------------------------------------------------------
def test_only_trusted_targets_pass_nested_ones_included():
    trusted = trusted_targets()
    assert "dlrun.models.MLP" in trusted and "torch.optim.AdamW" in trusted
    assert "torch.optim.lr_scheduler.OneCycleLR" in trusted and "dlrun.cli.main" not in trusted
    good = OmegaConf.create({"model": {"_target_": "dlrun.models.MLP", "hidden": [8]}})
    check_targets(good, trusted, "here")
    nested = OmegaConf.create(
        {"model": {"_target_": "dlrun.models.MLP", "act": [{"_target_": "os.system", "command": "true"}]}}
    )
    with pytest.raises(DlrunError, match=r"model\.act\[0\]\._target_=os\.system in here"):
        check_targets(nested, trusted, "here")
    through = OmegaConf.create({"x": "posix.system", "model": {"_target_": "${x}"}})
    with pytest.raises(DlrunError, match="posix.system"):
        check_targets(through, trusted, "here")
    # the user's own: named on this command line (also inside a dict value) or in --config-dir
    mine = OmegaConf.create({"model": {"_target_": "mypkg.Net", "sub": {"_target_": "mypkg.Act"}}})
    check_targets(
        mine, trusted_targets(overrides=["model._target_=mypkg.Net", "+model.sub={_target_: mypkg.Act}"]), "here"
    )


def test_a_folder_s_own_config_is_checked_before_use(tmp_path):
    from dlrun.config.trust import check_folder_config

    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "config.yaml").write_text(
        "model: {_target_: dlrun.models.MLP, hidden: [8]}\noptim: {_target_: torch.optim.Adam, lr: 0.1}\n"
    )
    assert check_folder_config(tmp_path).model.hidden == [8]
    (tmp_path / ".hydra" / "config.yaml").write_text("model: {_target_: subprocess.run, args: [touch, x]}\n")
    with pytest.raises(DlrunError, match="model._target_=subprocess.run in .*config.yaml"):
        check_folder_config(tmp_path)
    assert check_folder_config(tmp_path, overrides=["model._target_=subprocess.run"]).model.args == ["touch", "x"]


def test_targets_in_a_config_dir_are_trusted(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "tiny.yaml").write_text("_target_: mypkg.Tiny\nwidth: 3\n")
    assert "mypkg.Tiny" in trusted_targets(config_dirs=[str(tmp_path)])
    assert "mypkg.Tiny" not in trusted_targets()


@pytest.mark.slow
@pytest.mark.parametrize(
    "planted",
    [
        ["dataset._target_=posix.system", "+dataset.command='touch {marker}'"],  # a target
        ["hydra.callbacks.x._target_=posix.system", "+hydra.callbacks.x.command='touch {marker}'"],
        ["--config-dir={evil}"],  # a flag
    ],
)
def test_resume_never_calls_what_a_run_folder_names(tmp_path, done_run, planted):
    run_dir = copy_run(done_run, tmp_path / "run")
    marker, evil = tmp_path / "called", tmp_path / "evil"
    overrides = list(OmegaConf.load(run_dir / ".hydra/overrides.yaml"))
    OmegaConf.save(
        OmegaConf.create(overrides + [p.format(marker=marker, evil=evil) for p in planted]),
        run_dir / ".hydra/overrides.yaml",
    )
    before = folder_bytes(run_dir)
    res = run_dlrun("resume", str(run_dir), "trainer.epochs=2")
    line = one_error_line(res)
    assert "overrides.yaml" in line and "run folder cannot" in line
    assert not marker.exists()
    assert folder_bytes(run_dir) == before


@pytest.mark.slow
def test_resume_of_a_config_dir_run_needs_that_dir_named_again(tmp_path):
    conf = tmp_path / "conf" / "model"
    conf.mkdir(parents=True)
    (conf / "mine.yaml").write_text("_target_: fault_targets.SignalNet\nwhen: never\n")
    run_dir = tmp_path / "run"
    res = run_dlrun(
        "--config-dir",
        str(tmp_path / "conf"),
        "dataset=digits",
        "model=mine",
        "trainer.epochs=1",
        f"hydra.run.dir={run_dir}",
        env=USER,
    )
    assert res.returncode == 0, res.stderr
    line = one_error_line(run_dlrun("resume", str(run_dir), "trainer.epochs=2", env=USER))
    assert f"--config-dir={tmp_path / 'conf'}" in line
    res = run_dlrun("resume", str(run_dir), "trainer.epochs=2", f"--config-dir={tmp_path / 'conf'}", env=USER)
    assert res.returncode == 0, res.stderr
    assert summary(run_dir)["epochs_completed"] == 2


# -- 2. a refused or failed resume changes nothing ------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    "damage,extra,expected",
    [
        ("truncate", [], "last.pt cannot be read: truncated or damaged"),
        ("garbage", [], "last.pt cannot be read"),
        (None, ["model.hidden=[32]"], "does not match this run's model"),
        (None, ["optim.lr=-1"], "optim.lr: must be > 0"),
        (None, ["optim.lr=nan"], "optim.lr: must be a finite number"),
    ],
)
def test_refused_resume_leaves_the_folder_byte_for_byte(tmp_path, done_run, damage, extra, expected):
    run_dir = copy_run(done_run, tmp_path / "run")
    last = run_dir / "checkpoints/last.pt"
    if damage == "truncate":
        last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    elif damage == "garbage":
        last.write_bytes(b"not a checkpoint")
    before = folder_bytes(run_dir)
    res = run_dlrun("resume", str(run_dir), "trainer.epochs=3", *extra)
    assert expected in one_error_line(res)
    assert folder_bytes(run_dir) == before  # summary.json still "completed", dlrun.log not appended


# -- 3. one writer per run folder ---------------------------------------------------------------
def lock_holder(run_dir: Path, timeout: float = 120) -> int:
    lock = run_dir / ".dlrun.lock"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if lock.exists() and lock.read_text().strip():
            return int(lock.read_text())
        time.sleep(0.1)
    raise AssertionError(f"nobody took {lock}")


@pytest.mark.slow
def test_second_writer_is_refused_and_a_killed_holder_s_lock_is_taken_over(tmp_path):
    run_dir = tmp_path / "run"
    slow = [*RUN, "trainer.batch_size=1", "trainer.epochs=50", "trainer.checkpoint_every_steps=50"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "dlrun", *slow, f"hydra.run.dir={run_dir}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        pid = lock_holder(run_dir)
        assert pid == proc.pid
        while not (run_dir / "checkpoints/last.pt").exists():  # resumable from here on
            time.sleep(0.1)
        hydra_before = folder_bytes(run_dir / ".hydra")
        line = one_error_line(run_dlrun("resume", str(run_dir)))
        assert f"in use by process {pid}" in line
        line = one_error_line(run_dlrun(*RUN, f"hydra.run.dir={run_dir}"))  # a new run into it
        assert f"in use by process {pid}" in line
        assert folder_bytes(run_dir / ".hydra") == hydra_before
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert int((run_dir / ".dlrun.lock").read_text()) == pid  # left behind, but the kernel freed it
    res = run_dlrun("resume", str(run_dir), "trainer.epochs=1", "trainer.checkpoint_every_steps=0")
    assert res.returncode == 0, res.stderr
    assert f"left by process {pid}" in res.stderr and "taking it over" in res.stderr
    assert summary(run_dir)["status"] == "completed"
    assert not (run_dir / ".dlrun.lock").exists()  # released at the end


def test_lock_is_exclusive_between_processes_and_freed_by_death(tmp_path):
    from dlrun.results import lock

    code = (
        "import sys, time; from dlrun.results import lock; lock.acquire(sys.argv[1]); "
        "print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DlrunError, match=f"in use by process {holder.pid}"):
            lock.acquire(tmp_path)
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    lock.acquire(tmp_path, warn=False)  # the kernel released the dead holder's flock
    try:
        assert (tmp_path / ".dlrun.lock").read_text().strip() == str(os.getpid())
    finally:
        lock.release(tmp_path)
    assert not (tmp_path / ".dlrun.lock").exists()


# -- 4. a killed worker does not end the sweep ----------------------------------------------------
def sweep_runs(sweep_dir: Path) -> dict[str, dict]:
    return {p.name: summary(p) for p in sorted(sweep_dir.iterdir()) if (p / ".hydra").is_dir()}


def check_sweep_survived(done, sweep_dir: Path, killed_prefix: str, signame: str, n: int):
    runs = sweep_runs(sweep_dir)
    assert len(runs) == n
    for name, s in runs.items():
        if name.startswith(killed_prefix):
            assert s["status"] == "failed" and s["error"].startswith("killed by signal") and signame in s["error"]
        else:
            assert s["status"] == "completed", (name, s)
    assert (sweep_dir / "summary.csv").read_text().count("\n") == n + 1
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "TerminatedWorkerError" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"dlrun: error: 1 of {n} runs did not complete (1 failed); see the table above"
    )
    assert "killed by signal" in done.stdout  # the end-of-sweep table


@pytest.mark.slow
def test_joblib_job_killed_by_pid_is_recorded_and_the_sweep_goes_on(tmp_path):
    sweep_dir = tmp_path / "sweep"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dlrun",
            "-m",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=1",
            *RUN,
            "trainer.epochs=1",
            "optim.lr=0.001,0.002,0.003",
            "trainer.batch_size=1",
            "trainer.checkpoint_every_steps=0",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    deadline = time.time() + 120
    while not list(sweep_dir.glob("0_*/.dlrun.lock")) and time.time() < deadline:
        time.sleep(0.1)
    (first,) = sweep_dir.glob("0_*")
    os.kill(lock_holder(first), signal.SIGKILL)  # the job's process, as the OOM killer would
    out, err = proc.communicate(timeout=300)
    check_sweep_survived(
        subprocess.CompletedProcess(proc.args, proc.returncode, out, err), sweep_dir, "0_", "SIGKILL", 3
    )


@pytest.mark.slow
def test_submitit_job_that_segfaults_is_recorded_and_the_sweep_goes_on(tmp_path):
    conf = tmp_path / "conf" / "dataset"
    conf.mkdir(parents=True)
    (conf / "crash.yaml").write_text(f"_target_: fault_targets.killing_loader\nsig: {int(signal.SIGSEGV)}\n")
    sweep_dir = tmp_path / "sweep"
    done = run_dlrun(
        "-m",
        "--config-dir",
        str(tmp_path / "conf"),
        "hydra/launcher=submitit_local",
        "hydra.launcher.timeout_min=5",
        *RUN,
        "trainer.epochs=1",
        "dataset=crash,digits",
        f"hydra.sweep.dir={sweep_dir}",
        cwd=tmp_path,
        env=USER,
    )
    check_sweep_survived(done, sweep_dir, "0_", "SIGSEGV", 2)


# -- 5. signals at every phase ------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    "when,sig", [("setup", signal.SIGTERM), ("val", signal.SIGINT), ("test", signal.SIGTERM), ("test", signal.SIGINT)]
)
def test_signal_at_each_phase_leaves_a_truthful_status(tmp_path, when, sig):
    run_dir, once = tmp_path / "run", tmp_path / "fired"
    net = [SIGNAL_NET, f"+model.sig={int(sig)}", f"+model.when={when}", "+model.epochs=2", f"+model.once={once}"]
    res = run_dlrun(*RUN, "trainer.epochs=2", *net, f"hydra.run.dir={run_dir}", env=USER)
    assert once.exists()
    assert res.returncode == 128 + sig, res.stderr
    assert "Traceback" not in res.stderr
    s = summary(run_dir)
    assert s["status"] == "interrupted" and signal.Signals(sig).name in s["error"]
    if when == "setup":
        assert s["epochs_completed"] == 0 and not (run_dir / "checkpoints/last.pt").exists()
        assert "before its first checkpoint" in res.stderr
        return
    assert torch.load(run_dir / "checkpoints/last.pt", weights_only=True)["epoch"] == s["epochs_completed"]
    assert s["epochs_completed"] == (1 if when == "val" else 2)
    assert f"dlrun resume {run_dir}" in res.stderr
    # the user's own model must be named on the resume command line (the folder cannot choose it)
    res = run_dlrun("resume", str(run_dir), SIGNAL_NET, env=USER)
    assert res.returncode == 0, res.stderr
    s = summary(run_dir)
    assert s["status"] == "completed" and s["epochs_completed"] == 2 and s["test"]["acc"] > 0


@pytest.mark.slow
def test_sigterm_around_the_last_writes_never_leaves_running(tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dlrun", *RUN, "trainer.epochs=1", f"hydra.run.dir={run_dir}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in proc.stdout:
        if line.startswith("test, per class"):  # the final test is done: plots and files follow
            proc.send_signal(signal.SIGTERM)
            break
    proc.communicate(timeout=60)
    assert proc.returncode in (0, 143)
    assert summary(run_dir)["status"] in ("completed", "interrupted")  # never "running"


@pytest.mark.slow
def test_ctrl_c_with_output_piped_to_a_reader_that_died_still_ends_interrupted(tmp_path):
    # `dlrun ... 2>&1 | tee log`, Ctrl-C: tee exits at once, dlrun goes on printing epoch lines into
    # the closed pipe until it stops; that must not turn the run into a failed one
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dlrun",
            *RUN,
            "trainer.epochs=5000",
            f"hydra.run.dir={run_dir}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    for line in proc.stdout:
        if line.startswith(b"epoch 2/"):
            break
    proc.stdout.close()  # the reader is gone
    time.sleep(1.0)  # epochs print into the closed pipe
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 130
    s = summary(run_dir)
    assert s["status"] == "interrupted" and s["error"] == "interrupted by SIGINT", s
    assert s["epochs_completed"] > 2  # it trained on after the pipe closed
    assert torch.load(run_dir / "checkpoints/last.pt", weights_only=True)["epoch"] == s["epochs_completed"]


# -- 6. damaged or odd files ----------------------------------------------------------------------
def test_damaged_mnist1d_cache_is_rebuilt_with_a_warning(tmp_path, capsys):
    from dlrun.data.mnist1d import load_mnist1d

    good = load_mnist1d(str(tmp_path))
    cache = tmp_path / "mnist1d" / "mnist1d_seed42.npz"
    for damage in (lambda b: b[: len(b) // 3], lambda b: b"junk"):
        cache.write_bytes(damage(cache.read_bytes()))
        again = load_mnist1d(str(tmp_path))
        assert f"rebuilding the damaged cache {cache}" in capsys.readouterr().err
        assert np.array_equal(again.x_train, good.x_train) and np.array_equal(again.y_test, good.y_test)
        np.load(cache)["x"]  # whole again


def test_damaged_tensor_cache_is_rebuilt_with_a_warning(tmp_path, capsys):
    from dlrun.data.cache import cached_tensors

    path = tmp_path / "c.pt"
    cached_tensors(path, lambda: {"x": torch.arange(5)})
    path.write_bytes(path.read_bytes()[:40])
    out = cached_tensors(path, lambda: {"x": torch.arange(5)})
    assert torch.equal(out["x"], torch.arange(5))
    assert f"rebuilding the damaged cache {path}" in capsys.readouterr().err


@pytest.mark.slow
def test_a_loader_path_that_cannot_be_used_is_one_line_naming_the_key(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    line = one_error_line(run_dlrun("dataset=mnist1d", f"dataset.root={not_a_folder}", cwd=tmp_path))
    assert f"dataset.root={not_a_folder}" in line and "Not a directory" in line
    assert "Error in call to target" not in line
    assert not (tmp_path / "outputs").exists()  # no run folder


@pytest.mark.slow
def test_odd_run_folder_paths_work_for_run_resume_and_compare(tmp_path):
    # (a folder name with "${" cannot be a Hydra run folder at all: Hydra reads its output_dir as an
    # interpolation when it sets up the log file)
    run_dir = tmp_path / 'it\'s a "run" =1,[2] {x} $y é'
    res = run_dlrun(*RUN, "trainer.epochs=1", f"hydra.run.dir={hydra_quote(str(run_dir))}")
    assert res.returncode == 0, res.stderr
    assert summary(run_dir)["status"] == "completed"
    res = run_dlrun("resume", str(run_dir), "trainer.epochs=2")
    assert res.returncode == 0, res.stderr
    assert summary(run_dir)["epochs_completed"] == 2
    assert len((run_dir / "metrics.csv").read_text().splitlines()) == 3
    res = run_dlrun("compare", str(run_dir))
    assert res.returncode == 0, res.stderr
    assert "completed" in res.stdout


@pytest.mark.parametrize("value", ['it\'s a "run" =1,[2] {x} ${y} é', "a\\", "b\\'c", "d\\\\"])
def test_hydra_quote_round_trips(value):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_override("hydra.run.dir=" + hydra_quote(value)).value()
    assert OmegaConf.create({"d": parsed}).d == value


# -- 7. values that can never train -------------------------------------------------------------
def numeric_fields(schema) -> list[str]:
    from dataclasses import fields

    return [f.name for f in fields(schema) if f.type in (int, float) or f.type in ("int", "float")]


def every_numeric_key(make_cfg) -> list[tuple[list[str], str]]:
    """(choice overrides, key) for every int/float field of every schema a shipped choice uses."""
    import dlrun.conf

    cases = []
    for group, schemas in SCHEMAS.items():
        for choice in sorted(p.stem for p in (Path(dlrun.conf.__file__).parent / group).glob("*.yaml")):
            target = make_cfg(f"{group}={choice}")[group].get("_target_")
            cases += [([f"{group}={choice}"], f"{group}.{name}") for name in numeric_fields(schemas[target])]
    for name, schema in REGULARIZATION.items():
        cases += [([f"regularization=[{name}]"], f"regularization.{name}.{f}") for f in numeric_fields(schema)]
    cases += [([], f"trainer.{name}") for name in numeric_fields(Trainer)]
    return cases


def test_every_numeric_key_refuses_nan_and_inf(make_cfg):
    import copy

    from omegaconf import open_dict

    cases = every_numeric_key(make_cfg)
    assert len(cases) > 40 and ([], "trainer.val_fraction") in cases
    composed = {}
    for choice, key in cases:
        base = composed.setdefault(tuple(choice), make_cfg(*choice))
        for bad in (float("nan"), float("inf"), float("-inf")):
            cfg = copy.deepcopy(base)
            with open_dict(cfg):
                OmegaConf.update(cfg, key, bad, force_add=True)
            with pytest.raises(DlrunError, match="must be a finite number") as err:
                validate(cfg)
            named = str(err.value).split(":")[0]
            # the key itself, or a key that reads it (model.dropout: ${regularization.dropout.p})
            assert named == key or key in str(OmegaConf.to_container(cfg)[named.split(".")[0]]), (key, named)


def test_non_finite_numbers_in_lists_and_strings_are_refused(make_cfg):
    with pytest.raises(DlrunError, match=r"optim.betas\[1\]: must be a finite number"):
        validate(make_cfg("optim.betas=[0.9,inf]"))
    with pytest.raises(DlrunError, match="optim.lr: must be a finite number"):
        validate(make_cfg("optim.lr='nan'"))  # a string the schema turns into a float
    with pytest.raises(DlrunError, match=r"model.mine\[0\].w: must be a finite number"):
        check_finite({"mine": [{"w": float("nan")}]}, "model")


def test_keys_added_with_plus_that_nothing_reads_are_refused(make_cfg):
    with pytest.raises(DlrunError, match="unknown key foo: nothing reads it"):
        validate(make_cfg("+foo=1"))
    with pytest.raises(DlrunError, match="unknown key trainer.foo"):
        validate(make_cfg("+trainer.foo=1"))
    with pytest.raises(DlrunError, match="unknown key regularization.l2.foo"):
        validate(make_cfg("regularization=[l2]", "+regularization.l2.foo=1"))
    validate(make_cfg("+base_lr=0.01", "optim.lr=${base_lr}"))  # read through an interpolation


def test_splits_that_leave_a_set_empty_are_refused():
    from dlrun.data.core import RawData, prepare

    x, y = np.zeros((10, 3), np.float32), np.arange(10) % 2
    cpu = torch.device("cpu")
    with pytest.raises(DlrunError, match="trainer.val_fraction=0.95 leaves no training sample"):
        prepare(RawData(x, y, x, y, 2), 0.95, 0, cpu)
    with pytest.raises(DlrunError, match="test split is empty"):
        prepare(RawData(x, y, x[:0], y[:0], 2), 0.1, 0, cpu)
    with pytest.raises(DlrunError, match=r"trainer.val_fraction=0.5 leaves no training sample \(of 1\)"):
        prepare(RawData(x[:1], y[:1], x, y, 2), 0.5, 0, cpu)
    with pytest.raises(DlrunError, match="no training sample"):
        prepare(RawData(x[:0], y[:0], x, y, 2), 0.0, 0, cpu)
    assert len(prepare(RawData(x, y, x, y, 2), 0.01, 0, cpu).val) == 1  # asked for: at least one


@pytest.mark.slow
@pytest.mark.parametrize(
    "overrides,expected",
    [
        (["trainer.val_fraction=0.9999"], "trainer.val_fraction=0.9999 leaves no training sample"),
        (["dataset.test_fraction=0.001"], "dataset.test_fraction=0.001"),
        (["optim.lr=inf"], "optim.lr: must be a finite number"),
        (["+foo=1"], "unknown key foo"),
    ],
)
def test_values_that_can_never_train_leave_no_run_folder(tmp_path, overrides, expected):
    line = one_error_line(run_dlrun(*RUN, *overrides, cwd=tmp_path))
    assert expected in line
    assert not (tmp_path / "outputs").exists()
