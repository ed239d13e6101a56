"""Issue 17: trainer features from Lightning, Keras and timm: gradient accumulation, short and
overfitting runs, fast_dev_run, the profiler, top-k checkpoints, a time limit, sparse validation,
EMA/SWA weight averaging, balanced sampling, mixup/cutmix. Every one resumes bit-exact."""

import csv
import json
import logging
import shutil
import signal

import numpy as np
import pytest
import torch
from conftest import run_dlrun

from dlrun.data.core import RawData
from dlrun.data.mix import BatchMix, cutmix
from dlrun.errors import DlrunError
from dlrun.training.trainer import Interrupted, Trainer, train

BASE = ["dataset=digits", "model.hidden=[32]", "trainer.batch_size=64", "trainer.epochs=3"]


def rows(run_dir):
    with open(run_dir / "metrics.csv", newline="") as f:
        return [{k: v for k, v in r.items() if k not in ("epoch_s", "samples_per_s")} for r in csv.DictReader(f)]


def summary(run_dir):
    return json.loads((run_dir / "summary.json").read_text())


def stop_after(trainer: Trainer, steps: int) -> None:
    """Deliver a SIGTERM to the trainer (as its signal handler would) after `steps` optimizer steps."""
    after_batch = trainer.schedule.after_batch

    def counting():
        after_batch()
        if trainer.step + 1 >= steps:
            trainer.stop_signal = signal.SIGTERM

    trainer.schedule.after_batch = counting


def interrupted_then_resumed(make_cfg, run_dir, overrides):
    """Stopped by a signal half-way through its second epoch (not on an accumulation boundary),
    then resumed to the end."""
    trainer = Trainer(make_cfg(*overrides), str(run_dir))
    stop_after(trainer, trainer.steps_per_epoch + trainer.steps_per_epoch // 2)
    with pytest.raises(Interrupted):
        trainer.fit()
    state = torch.load(run_dir / "checkpoints/last.pt", weights_only=True)
    resumed = Trainer(make_cfg(*overrides), str(run_dir))
    resumed.resume()
    return state, resumed.fit()


FEATURES = {
    "accumulate": ["trainer.accumulate=3"],
    "accumulate+warmup+step-schedule": [
        "trainer.accumulate=2",
        "sched=cosine",
        "sched.interval=step",
        "sched.warmup_steps=5",
    ],
    "limit_batches": ["trainer.limit_batches=7"],
    "overfit_batches": ["trainer.overfit_batches=3"],
    "save_top_k": ["trainer.save_top_k=2", "trainer.epochs=4"],
    "val_every": ["trainer.val_every=2", "trainer.epochs=4"],
    "ema": ["regularization=[ema,dropout]", "regularization.ema.decay=0.9", "regularization.ema.warmup=true"],
    "swa": ["regularization=[swa,batchnorm]", "regularization.swa.start=0.25", "regularization.swa.lr=0.01"],
    "balanced": ["dataset.sampler=balanced"],
    "mixup": ["regularization=[mixup]"],
    "cutmix+mixup": ["regularization=[cutmix,mixup]"],
}


@pytest.mark.parametrize("feature", FEATURES)
def test_killed_and_resumed_run_equals_the_uninterrupted_one(make_cfg, tmp_path, feature):
    overrides = [*BASE, *FEATURES[feature]]
    reference = train(make_cfg(*overrides), str(tmp_path / "reference"))
    state, resumed = interrupted_then_resumed(make_cfg, tmp_path / "run", overrides)
    assert 0 < state["batch_in_epoch"] and state["epoch"] >= 1  # it stopped inside an epoch
    if "trainer.accumulate=3" in overrides:  # at an optimizer-step boundary (21 batches: 7 steps an epoch)
        assert state["batch_in_epoch"] % 3 == 0 and state["step"] == 7 * state["epoch"] + state["batch_in_epoch"] // 3
    assert rows(tmp_path / "run") == rows(tmp_path / "reference")
    assert resumed["test"] == reference["test"] and resumed["best_epoch"] == reference["best_epoch"]
    for key in ("averaged_weights", "top_k"):
        assert resumed.get(key) == reference.get(key)
    ref_best = torch.load(tmp_path / "reference/checkpoints/best.pt", weights_only=True)["model"]
    best = torch.load(tmp_path / "run/checkpoints/best.pt", weights_only=True)["model"]
    assert all(torch.equal(best[k], ref_best[k]) for k in ref_best)


# -- gradient accumulation -----------------------------------------------------------------------
def test_accumulating_two_batches_of_16_is_one_batch_of_32(make_cfg, tmp_path):
    common = ["dataset=digits", "dataset.train_subset=1280", "model.hidden=[32]", "trainer.epochs=2"]
    big = train(make_cfg(*common, "trainer.batch_size=32"), str(tmp_path / "big"))
    acc = train(make_cfg(*common, "trainer.batch_size=16", "trainer.accumulate=2"), str(tmp_path / "acc"))
    w_big = torch.load(tmp_path / "big/checkpoints/last.pt", weights_only=True)
    w_acc = torch.load(tmp_path / "acc/checkpoints/last.pt", weights_only=True)
    assert w_big["step"] == w_acc["step"] == 2 * 1280 // 32  # the schedule counts optimizer steps
    for k, v in w_big["model"].items():
        torch.testing.assert_close(w_acc["model"][k], v, rtol=1e-4, atol=1e-5)
    assert acc["test"]["loss"] == pytest.approx(big["test"]["loss"], rel=1e-4)


def test_accumulation_steps_on_a_short_last_group(make_cfg, tmp_path):
    # 1216 samples / 64 = 19 batches; groups of 3: 6 full + 1 of one batch = 7 steps an epoch
    train(
        make_cfg(
            "dataset=digits",
            "dataset.train_subset=1216",
            "model.hidden=[16]",
            "trainer.batch_size=64",
            "trainer.epochs=2",
            "trainer.accumulate=3",
        ),
        str(tmp_path),
    )
    assert torch.load(tmp_path / "checkpoints/last.pt", weights_only=True)["step"] == 14


# -- debugging a config --------------------------------------------------------------------------
def test_limit_batches_shortens_every_pass(make_cfg, tmp_path):
    trainer = Trainer(make_cfg(*BASE, "trainer.limit_batches=2", "trainer.batch_size=16"), str(tmp_path))
    assert len(trainer.data.val) == len(trainer.data.test) == 32
    trainer.fit()
    assert torch.load(tmp_path / "checkpoints/last.pt", weights_only=True)["step"] == 3 * 2
    assert sum(c["support"] for c in summary(tmp_path)["test"]["per_class"]) == 32


def test_overfit_batches_trains_and_validates_on_the_same_batches(make_cfg, tmp_path):
    cfg = make_cfg(
        "dataset=digits",
        "model.hidden=[64]",
        "trainer.batch_size=16",
        "trainer.overfit_batches=2",
        "optim.lr=0.01",
        "trainer.epochs=60",
    )
    trainer = Trainer(cfg, str(tmp_path))
    assert torch.equal(trainer.data.train.x, trainer.data.val.x) and len(trainer.data.val) == 32
    trainer.fit()
    last = rows(tmp_path)[-1]
    assert float(last["train_acc"]) == float(last["val_acc"]) == 1.0 and float(last["val_loss"]) < 0.01


@pytest.mark.slow
def test_fast_dev_run_checks_the_pipeline_in_a_temporary_folder(tmp_path):
    res = run_dlrun(
        "dataset=digits", "model.hidden=[16]", "trainer.fast_dev_run=true", "trainer.progress=false", cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    assert "fast_dev_run: the pipeline works" in res.stdout
    run_dir = next(
        line.split("run folder: ")[1].strip() for line in res.stdout.splitlines() if line.startswith("fast_dev_run:")
    )
    from pathlib import Path

    run_dir = Path(run_dir)
    try:
        assert "dlrun-fast-dev-run-" in str(run_dir) and not (tmp_path / "outputs").exists()
        s = summary(run_dir)
        assert s["status"] == "completed" and s["epochs_completed"] == 1 and s["test"]
        assert len(rows(run_dir)) == 1
        assert not list((run_dir / "checkpoints").glob("**/*.pt"))
        assert (run_dir / "dlrun.log").exists()
    finally:
        shutil.rmtree(run_dir.parents[2], ignore_errors=True)  # <tmp>/outputs/<date>/<run>


def test_profile_writes_a_trace_and_logs_the_top_ops(make_cfg, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="dlrun"):
        train(make_cfg(*BASE, "trainer.epochs=1", "trainer.profile=true"), str(tmp_path))
    trace = json.loads((tmp_path / "profile/trace.json").read_text())
    assert any(e.get("name", "").startswith("aten::") for e in trace["traceEvents"])
    (message,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("profile of")]
    assert "Self CPU" in message and "aten::" in message


# -- checkpoints and time ------------------------------------------------------------------------
def test_save_top_k_keeps_the_k_best_epochs(make_cfg, tmp_path):
    s = train(make_cfg(*BASE, "trainer.epochs=5", "trainer.save_top_k=2", "optim.lr=0.003"), str(tmp_path))
    accs = sorted(((float(r["val_acc"]), -int(r["epoch"])) for r in rows(tmp_path)), reverse=True)[:2]
    expected = [-e for _, e in accs]
    assert [t["epoch"] for t in s["top_k"]] == expected
    files = sorted(p.name for p in (tmp_path / "checkpoints/top").iterdir())
    assert files == sorted(f"epoch-{e:03d}.pt" for e in expected)
    best = torch.load(tmp_path / "checkpoints/best.pt", weights_only=True)
    top = torch.load(tmp_path / s["top_k"][0]["path"], weights_only=True)
    assert best["epoch"] == top["epoch"] == s["best_epoch"]
    assert all(torch.equal(best["model"][k], top["model"][k]) for k in best["model"])


def test_max_time_stops_cleanly_and_the_run_resumes(make_cfg, tmp_path):
    reference = train(make_cfg(*BASE), str(tmp_path / "reference"))
    s = train(make_cfg(*BASE, "trainer.max_time=00:00:00"), str(tmp_path / "run"))
    assert s["status"] == "interrupted" and "trainer.max_time=00:00:00 reached" in s["error"]
    assert "dlrun resume" in s["error"]
    assert torch.load(tmp_path / "run/checkpoints/last.pt", weights_only=True)["step"] == 1  # one batch, then stop
    resumed = Trainer(make_cfg(*BASE, "trainer.max_time=null"), str(tmp_path / "run"))
    resumed.resume()
    assert resumed.fit()["test"] == reference["test"]
    assert rows(tmp_path / "run") == rows(tmp_path / "reference")


def test_val_every_validates_every_nth_and_the_last_epoch(make_cfg, tmp_path):
    s = train(
        make_cfg(*BASE, "trainer.epochs=5", "trainer.val_every=2", "regularization=[early_stopping]", "sched=plateau"),
        str(tmp_path),
    )
    validated = [r["epoch"] for r in rows(tmp_path) if r["val_acc"] != ""]
    assert validated == ["2", "4", "5"] and s["best_epoch"] in (2, 4, 5)


# -- weight averaging ----------------------------------------------------------------------------
def test_ema_weights_are_what_best_pt_holds(make_cfg, tmp_path):
    s = train(make_cfg(*BASE, "regularization=[ema]", "regularization.ema.decay=0.99"), str(tmp_path))
    assert s["averaged_weights"].startswith("ema (decay 0.99)")
    last = torch.load(tmp_path / "checkpoints/last.pt", weights_only=True)
    best = torch.load(tmp_path / "checkpoints/best.pt", weights_only=True)
    averaged = {k.removeprefix("module."): v for k, v in last["averaging"]["averaged"].items() if k != "n_averaged"}
    assert int(last["averaging"]["averaged"]["n_averaged"]) == last["step"]
    if best["epoch"] == 3:
        assert all(torch.equal(best["model"][k], averaged[k]) for k in averaged)
    assert not all(torch.equal(last["model"][k], averaged[k]) for k in averaged)


def test_ema_update_is_the_exponential_average(make_cfg, tmp_path):
    trainer = Trainer(
        make_cfg(
            *BASE, "trainer.epochs=1", "trainer.limit_batches=2", "regularization=[ema]", "regularization.ema.decay=0.5"
        ),
        str(tmp_path),
    )
    w0 = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    snapshots = []
    after_step = trainer.averaging.after_step
    trainer.averaging.after_step = lambda step: (
        after_step(step),
        snapshots.append({k: v.clone() for k, v in trainer.model.state_dict().items()}),
    )
    trainer.fit()
    ema = trainer.averaging.weights()
    for k in w0:  # the first update copies the weights, the second averages with decay 0.5
        torch.testing.assert_close(ema[k], 0.5 * snapshots[0][k] + 0.5 * snapshots[1][k])


def test_swa_averages_epochs_recomputes_batch_norm_and_takes_over_the_lr(make_cfg, tmp_path):
    s = train(
        make_cfg(
            *BASE,
            "trainer.epochs=4",
            "regularization=[swa,batchnorm]",
            "regularization.swa.start=0.5",
            "regularization.swa.lr=0.0002",
        ),
        str(tmp_path),
    )
    assert "swa (from epoch 3" in s["averaged_weights"]
    last = torch.load(tmp_path / "checkpoints/last.pt", weights_only=True)
    assert int(last["averaging"]["averaged"]["n_averaged"]) == 2  # epochs 3 and 4
    bn = [k for k in last["model"] if k.endswith("running_mean")]
    assert bn and not torch.equal(last["averaging"]["averaged"]["module." + bn[0]], last["model"][bn[0]])
    lrs = [float(r["lr"]) for r in rows(tmp_path)]
    assert lrs[:3] == [0.001] * 3 and lrs[3] == pytest.approx(0.0002)  # SWALR, anneal_epochs 1


# -- balanced sampling ---------------------------------------------------------------------------
def load_imbalanced_digits(root: str, test_fraction: float = 0.2, seed: int = 0, keep: float = 0.04) -> RawData:
    """Digits with classes 5-9 cut to `keep` of their training samples; the test split stays balanced."""
    from dlrun.data.sklearn_sets import load_digits

    raw = load_digits(test_fraction, seed, root)
    rng = np.random.default_rng(seed)
    y = np.asarray(raw.y_train)
    mask = (y < 5) | (rng.random(len(y)) < keep)
    return RawData(raw.x_train[mask], y[mask], raw.x_test, raw.y_test, num_classes=10)


def balanced_accuracy(s):
    return np.mean([c["recall"] for c in s["test"]["per_class"]])


def test_balanced_sampler_raises_balanced_accuracy_on_imbalanced_data(make_cfg, tmp_path):
    common = [
        "dataset=digits",
        f"dataset._target_={__name__}.load_imbalanced_digits",
        "model.hidden=[32]",
        "trainer.batch_size=32",
        "trainer.epochs=8",
        "trainer.val_fraction=0.05",
    ]
    plain = train(make_cfg(*common), str(tmp_path / "random"))
    balanced = train(make_cfg(*common, "dataset.sampler=balanced"), str(tmp_path / "balanced"))
    assert balanced_accuracy(balanced) > balanced_accuracy(plain) + 0.05


def test_balanced_sampler_draws_classes_evenly():
    from dlrun.data.batches import iterate_batches
    from dlrun.data.core import Split
    from dlrun.data.sampling import sample_weights

    y = torch.tensor([0] * 900 + [1] * 100)
    data = type("D", (), {"is_classification": True, "num_classes": 2, "train": Split(torch.zeros(1000, 1), y)})
    w = sample_weights("balanced", data)
    drawn = torch.cat([b for _, b in iterate_batches(data.train, 100, torch.Generator().manual_seed(0), weights=w)])
    assert len(drawn) == 1000 and 0.4 < drawn.float().mean() < 0.6


# -- mixup / cutmix ------------------------------------------------------------------------------
def test_mixup_blends_inputs_and_targets_with_one_lam():
    x, y = torch.randn(6, 1, 8, 8), torch.tensor([0, 1, 2, 3, 4, 5])
    mixed, target, major = BatchMix(0.4, None, 10, torch.Generator().manual_seed(0))(x, y)
    lam = target[0, 0].item()
    torch.testing.assert_close(mixed, lam * x + (1 - lam) * x.flip(0))
    torch.testing.assert_close(target.sum(1), torch.ones(6))
    assert target[0, 5].item() == pytest.approx(1 - lam, rel=1e-5)
    assert torch.equal(major, y if lam >= 0.5 else y.flip(0))


def test_cutmix_pastes_a_box_and_reports_the_share_kept():
    x = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 16, 16).contiguous()
    out, lam = cutmix(x, 0.6, torch.Generator().manual_seed(3))
    kept = (out == x).float().mean().item()
    assert 0 < lam < 1 and kept == pytest.approx(lam)


# -- bad values ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "override,message",
    [
        ("trainer.accumulate=0", "trainer.accumulate: must be >= 1"),
        ("trainer.save_top_k=0", "trainer.save_top_k: must be >= 1"),
        ("trainer.max_time=90min", "trainer.max_time: must be HH:MM:SS"),
        ("trainer.max_time=00:61:00", "trainer.max_time: must be HH:MM:SS"),
        ("trainer.limit_batches=0", "trainer.limit_batches: must be >= 1"),
        ("trainer.val_every=0", "trainer.val_every: must be > 0"),
        ("+regularization=[ema] regularization.ema.decay=1.0", "regularization.ema.decay: must be in (0, 1)"),
        ("dataset=diabetes dataset.sampler=balanced", "dataset.sampler=balanced needs a classification dataset"),
        ("dataset.sampler=uniform", "dataset.sampler: must be one of random, balanced"),
        ("dataset=diabetes regularization=[mixup]", "regularization=[mixup] needs a classification dataset"),
    ],
)
def test_bad_values_are_one_line_errors(override, message):
    from dlrun.cli import composing

    with composing(None) as check:
        with pytest.raises(DlrunError) as e:
            check(override.replace("+regularization", "regularization").split(), "config")
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


@pytest.mark.slow
def test_a_bad_value_creates_no_folder(tmp_path):
    res = run_dlrun("trainer.max_time=1h", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "dlrun: error: trainer.max_time: must be HH:MM:SS, e.g. 01:30:00 (got '1h')"
    ]
    assert not (tmp_path / "outputs").exists()


# -- MLflow --------------------------------------------------------------------------------------
def mlflow_client(store):
    import os

    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=store.as_uri())


def test_mlflow_run_holds_the_metrics_csv_params_and_artifacts(make_cfg, tmp_path):
    store = tmp_path / "mlruns"
    overrides = [
        *BASE,
        "trainer.val_every=2",
        "logger=[csv,mlflow]",
        f"logger.mlflow.tracking_uri={store}",
        "callbacks=default",
    ]
    s = train(make_cfg(*overrides), str(tmp_path / "run"))
    client = mlflow_client(store)
    (run,) = client.search_runs([client.get_experiment_by_name("dlrun").experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    with open(tmp_path / "run/metrics.csv", newline="") as f:
        csv_rows = list(csv.DictReader(f))
    for column in csv_rows[0]:
        if column == "epoch":
            continue
        history = {m.step: m.value for m in client.get_metric_history(run.info.run_id, column)}
        expected = {int(r["epoch"]): float(r[column]) for r in csv_rows if r[column] != ""}
        assert history == pytest.approx(expected, rel=1e-6), column
    assert run.data.metrics["test_acc"] == pytest.approx(s["test"]["acc"])
    assert run.data.params["trainer.batch_size"] == "64" and run.data.params["model.hidden"] == "[32]"
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == {"summary.json", "curves.png"}


def test_mlflow_resumed_run_continues_its_mlflow_run(make_cfg, tmp_path):
    store = tmp_path / "mlruns"
    overrides = [*BASE, "logger=[csv,mlflow]", f"logger.mlflow.tracking_uri={store}"]
    interrupted_then_resumed(make_cfg, tmp_path / "run", overrides)
    client = mlflow_client(store)
    (run,) = client.search_runs([client.get_experiment_by_name("dlrun").experiment_id])
    assert run.info.status == "FINISHED"
    history = client.get_metric_history(run.info.run_id, "val_acc")
    assert [m.step for m in history] == [1, 2, 3]
    assert [m.value for m in history] == [float(r["val_acc"]) for r in rows(tmp_path / "run")]


@pytest.mark.slow
def test_mlflow_groups_a_sweep_in_one_experiment(tmp_path):
    store = tmp_path / "mlruns"
    res = run_dlrun(
        "-m",
        "dataset=digits",
        "model.hidden=[16]",
        "trainer.epochs=1",
        "trainer.seed=0,1",
        "trainer.progress=false",
        "logger=[csv,mlflow]",
        f"logger.mlflow.tracking_uri={store}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    client = mlflow_client(store)
    experiment = client.get_experiment_by_name(f"dlrun sweep {tmp_path / 'sweep'}")
    runs = client.search_runs([experiment.experiment_id])
    names = sorted(r.info.run_name for r in runs)  # the run folders inside the sweep folder
    assert len(names) == 2 and names[0].startswith("0_") and names[1].startswith("1_")
    assert names[1].endswith("trainer.seed=1")
    assert all(r.info.status == "FINISHED" and "val_acc" in r.data.metrics for r in runs)


@pytest.mark.slow
def test_ddp_accumulation_averaging_and_time_limit_resume_exactly(tmp_path):
    """Two processes (gloo): every rank stops at the same optimizer step when max_time passes (the
    flag is agreed), and the resumed run equals the uninterrupted one, metrics.csv row for row."""
    import subprocess
    import sys

    run = [
        "trainer.strategy=ddp",
        "dataset=digits",
        "model.hidden=[16]",
        "trainer.epochs=2",
        "trainer.progress=false",
        "trainer.accumulate=2",
        "regularization=[ema]",
        "trainer.save_top_k=2",
    ]

    def torchrun(*args):
        res = subprocess.run(
            [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "-m", "dlrun", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert res.returncode == 0, res.stderr[-2000:]

    torchrun(*run, f"hydra.run.dir={tmp_path / 'reference'}")
    torchrun(*run, "trainer.max_time=00:00:00", f"hydra.run.dir={tmp_path / 'run'}")
    s = summary(tmp_path / "run")
    assert s["status"] == "interrupted" and "max_time" in s["error"]
    assert torch.load(tmp_path / "run/checkpoints/last.pt", weights_only=True)["step"] == 1
    torchrun("resume", str(tmp_path / "run"), "trainer.max_time=null")

    # the interrupted epoch's train_* columns too: last.pt held each rank's running sums
    assert rows(tmp_path / "run") == rows(tmp_path / "reference")
    assert summary(tmp_path / "run")["test"] == summary(tmp_path / "reference")["test"]
    assert summary(tmp_path / "run")["top_k"] == summary(tmp_path / "reference")["top_k"]


def test_limits_take_the_first_rows_of_a_host_split_and_of_its_index():
    from dlrun.data.core import HostSplit
    from dlrun.training.debugging import head

    raw = torch.arange(10.0).unsqueeze(1)
    plain = HostSplit(raw, torch.arange(10), torch.zeros(1), torch.ones(1), torch.device("cpu"))
    indexed = HostSplit(
        raw, torch.arange(4), torch.zeros(1), torch.ones(1), torch.device("cpu"), index=torch.tensor([7, 2, 9, 4])
    )
    assert head(plain, 3).rows(torch.arange(3)).flatten().tolist() == [0.0, 1.0, 2.0]
    assert head(indexed, 2).rows(torch.arange(2)).flatten().tolist() == [7.0, 2.0] and len(head(indexed, 2)) == 2


def test_val_every_without_a_validation_split(make_cfg, tmp_path):
    s = train(
        make_cfg(*BASE, "trainer.val_fraction=0", "trainer.val_every=2", "trainer.monitor=train_loss"), str(tmp_path)
    )
    assert s["status"] == "completed" and s["best_epoch"] == 3  # best = the last epoch without val
    assert "val_loss" not in rows(tmp_path)[0]
