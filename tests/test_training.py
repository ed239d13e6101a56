"""Short real runs: the run-folder contract, learning, and the training-loop options."""

import csv
import json

import pytest
import torch

from dlrun.training.regularization import weight_penalty
from dlrun.training.trainer import Trainer, train

METRIC_COLUMNS = ["epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "epoch_s", "samples_per_s"]


def read_metrics(run_dir):
    with open(run_dir / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def check_run_folder(run_dir, epochs):
    rows = read_metrics(run_dir)
    assert list(rows[0]) == METRIC_COLUMNS
    assert [int(r["epoch"]) for r in rows] == list(range(1, epochs + 1))
    summary = json.loads((run_dir / "summary.json").read_text())
    for key in ("status", "epochs_completed", "best_epoch", "num_params", "device", "wall_s", "val", "test"):
        assert key in summary, key
    assert summary["status"] == "completed" and summary["epochs_completed"] == epochs
    assert 0 <= summary["val"]["acc"] <= 1 and 0 <= summary["test"]["acc"] <= 1
    best = rows[summary["best_epoch"] - 1]
    assert float(best["val_acc"]) == pytest.approx(summary["val"]["acc"])
    assert float(best["val_acc"]) == max(float(r["val_acc"]) for r in rows)
    for name in ("last", "best"):
        ckpt = torch.load(run_dir / "checkpoints" / f"{name}.pt", weights_only=True)
        assert "model" in ckpt
    return rows, summary


@pytest.mark.parametrize(
    "model,extra",
    [
        ("mlp", []),
        ("cnn", ["model.channels=[8,16]", "model.hidden=[32]"]),
        ("rnn", ["model.cell=gru", "model.hidden_size=32", "optim.lr=0.01"]),
    ],
)
@pytest.mark.slow
def test_each_model_family_learns_and_fills_the_run_folder(make_cfg, tmp_path, model, extra):
    cfg = make_cfg(f"model={model}", "trainer.epochs=4", "trainer.batch_size=64", *extra)
    train(cfg, str(tmp_path))
    rows, summary = check_run_folder(tmp_path, 4)
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    assert summary["num_params"] == sum(
        v.numel()
        for v in torch.load(tmp_path / "checkpoints/best.pt", weights_only=True)["model"].values()
        if v.dtype.is_floating_point
    )


def test_best_checkpoint_reproduces_the_reported_test_accuracy(make_cfg, tmp_path):
    cfg = make_cfg("trainer.epochs=3")
    trainer = Trainer(cfg, str(tmp_path))
    summary = trainer.fit()
    trainer.model.load_state_dict(torch.load(tmp_path / "checkpoints/best.pt", weights_only=True)["model"])
    assert trainer.evaluate(trainer.data.test)["acc"] == pytest.approx(summary["test"]["acc"])


@pytest.mark.slow
def test_same_seed_same_metrics(make_cfg, tmp_path):
    cfg = make_cfg("trainer.epochs=2", "regularization=[dropout]", "trainer.seed=3")
    train(cfg, str(tmp_path / "a"))
    train(cfg, str(tmp_path / "b"))

    def drop_time(rows):
        return [{k: v for k, v in r.items() if k not in ("epoch_s", "samples_per_s")} for r in rows]

    assert drop_time(read_metrics(tmp_path / "a")) == drop_time(read_metrics(tmp_path / "b"))


def test_full_batch_gradient_descent_takes_one_step_per_epoch(make_cfg, tmp_path):
    cfg = make_cfg("trainer.batch_size=full", "trainer.epochs=3", "optim=sgd")
    trainer = Trainer(cfg, str(tmp_path))
    trainer.fit()
    assert trainer.steps_per_epoch == 1 and trainer.step == 3


@pytest.mark.slow
def test_pure_sgd_batch_size_one(make_cfg, tmp_path):
    cfg = make_cfg("dataset=digits", "trainer.batch_size=1", "trainer.epochs=1", "optim=sgd", "optim.lr=0.001")
    trainer = Trainer(cfg, str(tmp_path))
    trainer.fit()
    assert trainer.step == len(trainer.data.train)


def test_l1_penalty_changes_gradients(make_cfg):
    cfg = make_cfg("regularization=[l1]", "regularization.l1.weight=0.01")
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    x = torch.randn(8, 4)
    penalty = weight_penalty(model, cfg.regularization)

    def grads(with_penalty):
        model.zero_grad()
        loss = model(x).pow(2).mean()
        (loss + penalty() if with_penalty else loss).backward()
        return [p.grad.clone() for p in model.parameters()]

    plain, penalized = grads(False), grads(True)
    for p, g0, g1 in zip(model.parameters(), plain, penalized):
        if p.dim() > 1:  # weights: gradient moves by weight * sign(w)
            assert torch.allclose(g1 - g0, 0.01 * p.detach().sign())
        else:  # biases are not penalized
            assert torch.equal(g0, g1)
    assert weight_penalty(model, make_cfg().regularization) is None


def test_l2_penalty_value(make_cfg):
    cfg = make_cfg("regularization=[l2]", "regularization.l2.weight=0.5")
    model = torch.nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, -2.0]]))
    assert weight_penalty(model, cfg.regularization)().item() == pytest.approx(0.5 * 5.0)


def test_early_stopping_stops(make_cfg, tmp_path):
    # lr tiny: val loss barely moves, so min_delta makes every epoch "no improvement"
    cfg = make_cfg(
        "trainer.epochs=30",
        "optim=sgd",
        "optim.lr=1e-6",
        "regularization=[early_stopping]",
        "regularization.early_stopping.patience=2",
        "regularization.early_stopping.min_delta=0.1",
    )
    train(cfg, str(tmp_path))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["epochs_completed"] == 4  # epoch 1 sets the best, then 3 epochs without improvement
    assert len(read_metrics(tmp_path)) == 4


def test_label_smoothing_and_grad_clip_run(make_cfg, tmp_path):
    cfg = make_cfg(
        "trainer.epochs=2", "regularization=[label_smoothing,grad_clip]", "regularization.grad_clip.max_norm=0.5"
    )
    trainer = Trainer(cfg, str(tmp_path))
    assert trainer.criterion.label_smoothing == 0.1 and trainer.max_grad_norm == 0.5
    trainer.fit()
    assert json.loads((tmp_path / "summary.json").read_text())["status"] == "completed"


def test_divergence_is_recorded(make_cfg, tmp_path):
    cfg = make_cfg("trainer.epochs=3", "optim=sgd", "optim.lr=1e6", "optim.momentum=0.9")
    summary = train(cfg, str(tmp_path))
    assert summary["status"] == "diverged"
    assert "step" in summary["error"] and "lr" in summary["error"]


@pytest.mark.slow
def test_bf16_autocast_on_cpu(make_cfg, tmp_path):
    cfg = make_cfg("trainer.epochs=1", "trainer.precision=bf16")
    summary = train(cfg, str(tmp_path))
    assert summary["status"] == "completed" and summary["test"]["acc"] > 0.1
