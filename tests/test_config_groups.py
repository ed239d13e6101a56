"""Every choice of every config group composes, validates and builds its object."""

import math
from pathlib import Path

import pytest
import torch

from dlrun.config.instantiate import instantiate_without
from dlrun.config.schema import dataset_keys, validate
from dlrun.data import prepare
from dlrun.training.init import build_model
from dlrun.training.optim import Schedule, build_optimizer

CONF = Path(__file__).parents[1] / "conf"


def choices(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def test_groups_have_their_choices():
    assert choices("model") == ["cnn", "mlp", "rnn"]
    assert set(choices("optim")) == {"sgd", "adam", "adamw", "rmsprop", "adagrad"}
    assert set(choices("sched")) >= {"constant", "step", "multistep", "exponential", "cosine", "plateau", "onecycle"}
    assert set(choices("regularization")) >= {
        "none",
        "l1",
        "l2",
        "dropout",
        "batchnorm",
        "label_smoothing",
        "early_stopping",
        "grad_clip",
    }
    assert set(choices("dataset")) >= {"mnist1d", "digits"}


@pytest.mark.parametrize("dataset", ["mnist1d", "digits"])
@pytest.mark.parametrize("model", ["mlp", "cnn", "rnn"])
def test_dataset_and_model_build(make_cfg, dataset, model):
    cfg = make_cfg(f"dataset={dataset}", f"model={model}")
    validate(cfg)
    data = prepare(instantiate_without(cfg.dataset, dataset_keys()), 0.1, 0, torch.device("cpu"))
    net = build_model(cfg.model, data.input_shape, data.num_outputs)
    out = net(data.train.x[:5])
    assert out.shape == (5, 10)
    assert data.train.x.dtype == torch.float32 and data.train.y.dtype == torch.long
    # standardized with training statistics
    assert abs(data.train.x.mean().item()) < 1e-3 and abs(data.train.x.std().item() - 1) < 0.05


@pytest.mark.parametrize("optim", choices("optim"))
def test_optimizers_build(make_cfg, optim):
    cfg = make_cfg(f"optim={optim}", "optim.lr=0.05")
    validate(cfg)
    opt = build_optimizer(cfg.optim, torch.nn.Linear(3, 2), torch.device("cpu"))
    assert type(opt).__name__.lower() == optim
    assert opt.param_groups[0]["lr"] == 0.05
    # torch's fused kernels wherever torch has them (all but RMSprop)
    assert opt.param_groups[0].get("fused") is (None if optim == "rmsprop" else True)
    # ... and torch's own default on a device without them
    assert build_optimizer(cfg.optim, torch.nn.Linear(3, 2), torch.device("meta")).param_groups[0].get("fused") is None


@pytest.mark.parametrize("sched", choices("sched"))
def test_schedules_build(make_cfg, sched):
    cfg = make_cfg(f"sched={sched}")
    validate(cfg)
    opt = torch.optim.SGD(torch.nn.Linear(3, 2).parameters(), lr=0.1)
    schedule = Schedule(cfg.sched, opt, steps_per_epoch=10, epochs=5)
    schedule.after_batch()
    schedule.after_epoch(val_loss=1.0)
    assert schedule.lr > 0
    assert schedule.state_dict().keys() == {"main", "warmup"}


@pytest.mark.parametrize("reg", [c for c in choices("regularization") if c != "none"])
def test_regularization_choices_show_in_config(make_cfg, reg):
    cfg = make_cfg(f"regularization=[{reg}]")
    validate(cfg)
    assert reg in cfg.regularization


def test_regularization_knobs_override_and_feed_the_model(make_cfg):
    cfg = make_cfg(
        "regularization=[l1,dropout,batchnorm,early_stopping]",
        "regularization.l1.weight=0.001",
        "regularization.dropout.p=0.3",
        "regularization.early_stopping.patience=2",
    )
    assert cfg.regularization.l1.weight == 0.001
    assert cfg.regularization.early_stopping.patience == 2
    assert cfg.model.dropout == 0.3 and cfg.model.batch_norm is True
    net = build_model(cfg.model, (1, 40), 10)
    kinds = {type(m).__name__ for m in net.modules()}
    assert {"Dropout", "BatchNorm1d"} <= kinds


def test_cnn_picks_conv1d_for_signals_and_conv2d_for_images(make_cfg):
    cfg = make_cfg("model=cnn")
    sig = build_model(cfg.model, (1, 40), 10)
    img = build_model(cfg.model, (3, 32, 32), 10)
    assert any(isinstance(m, torch.nn.Conv1d) for m in sig.modules())
    assert any(isinstance(m, torch.nn.Conv2d) for m in img.modules())
    assert img(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_rnn_cells_read_signals_and_image_rows(make_cfg, cell, bidirectional):
    cfg = make_cfg(
        "model=rnn",
        f"model.cell={cell}",
        f"model.bidirectional={bidirectional}",
        "model.num_layers=2",
        "model.hidden_size=8",
    )
    net = build_model(cfg.model, (1, 8, 8), 10)
    assert type(net.rnn).__name__ == cell.upper()
    assert net.rnn.input_size == 8  # one image row per step
    assert net(torch.zeros(3, 1, 8, 8)).shape == (3, 10)


def test_mnist1d_paper_presets_have_the_paper_architectures(make_cfg):
    def params(preset):
        cfg = make_cfg(f"experiment={preset}")
        validate(cfg)
        net = build_model(cfg.model, (1, 40), 10)
        return cfg, net, sum(p.numel() for p in net.parameters())

    cfg, mlp, n = params("mnist1d_mlp")
    assert n == 40 * 100 + 100 + 100 * 100 + 100 + 100 * 10 + 10
    assert cfg.optim.lr == 0.01 and cfg.trainer.batch_size == 100
    cfg, cnn, n = params("mnist1d_cnn")
    convs = [m for m in cnn.modules() if isinstance(m, torch.nn.Conv1d)]
    assert [(c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [(25, 5, 2), (25, 3, 2), (25, 3, 2)]
    assert cnn.head[-1].in_features == 125
    cfg, gru, n = params("mnist1d_gru")
    assert gru.rnn.bidirectional and gru.rnn.hidden_size == 6
    assert gru.out.in_features == 40 * 2 * 6
    # ~6000 optimizer steps as in the paper: 3600 training samples / batch 100 = 36 steps per epoch
    assert abs(cfg.trainer.epochs * math.ceil(3600 / 100) - 6000) < 40
