"""The data path from RawData to batches, and its options end to end through the trainer:
fast path vs DataLoader fallback, train_subset, class weights, augmentation, regression."""

import csv
import json
import signal

import numpy as np
import pytest
import torch
from data_helpers import write_tiny_idx_set

from dlrun.config.schema import validate
from dlrun.data import RawData, iterate_batches, prepare
from dlrun.data.augment import BatchAugment, random_shift
from dlrun.data.core import HostSplit, Split
from dlrun.errors import DlrunError
from dlrun.models import CNN, MLP, RNN
from dlrun.models.rnn import as_sequence
from dlrun.training.init import build_model
from dlrun.training.trainer import Interrupted, Trainer, train

CPU = torch.device("cpu")


def _raw(n=50, shape=(3, 6, 6), seed=0, dtype=torch.uint8):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8).to(dtype)
    return RawData(x, torch.arange(n) % 5, x[:7], torch.arange(7) % 5, num_classes=5)


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """DLRUN_DATA with MNIST-layout IDX files: 120 train (class 0 common, 3 rare) / 20 test, 12x12."""
    labels = np.array([0] * 60 + [1] * 30 + [2] * 20 + [3] * 10)
    write_tiny_idx_set(tmp_path / "MNIST" / "raw", n_train=120, train_labels=labels)
    monkeypatch.setenv("DLRUN_DATA", str(tmp_path))
    return tmp_path


@pytest.fixture
def mnist_cfg(make_cfg):
    """The tiny MNIST run's config, composed and validated as `dlrun` does."""

    def _cfg(*overrides):
        cfg = make_cfg("dataset=mnist", "dataset.download=false", "trainer.epochs=2", *overrides)
        validate(cfg)
        return cfg

    return _cfg


# -- prepare / batches -------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float64])
def test_prepare_normalizes_to_float32_with_train_statistics(dtype):
    raw = _raw(dtype=dtype)
    data = prepare(raw, 0.2, seed=0, device=CPU)
    assert isinstance(data.train, Split)
    assert all(s.x.dtype == torch.float32 for s in (data.train, data.val, data.test))
    assert raw.x_test.dtype == dtype and raw.x_test.max() > 1  # the loader's arrays are left as they were
    assert (len(data.train), len(data.val), len(data.test)) == (40, 10, 7)
    x = data.train.x
    assert torch.allclose(x.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(x.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-4)


def test_train_subset_is_seeded_and_disjoint_from_val():
    a = prepare(_raw(), 0.2, seed=3, device=CPU, train_subset=12)
    b = prepare(_raw(), 0.2, seed=3, device=CPU, train_subset=12)
    c = prepare(_raw(), 0.2, seed=4, device=CPU, train_subset=12)
    assert len(a.train) == 12 and len(a.val) == 10
    assert torch.equal(a.train.x, b.train.x) and not torch.equal(a.train.x, c.train.x)
    rows = lambda s: {tuple(r.flatten().tolist()) for r in s.x}  # noqa: E731
    assert not rows(a.train) & rows(a.val)


def test_dataloader_fallback_gives_the_fast_paths_batches():
    fast = prepare(_raw(), 0.2, seed=0, device=CPU)
    slow = prepare(_raw(), 0.2, seed=0, device=CPU, max_memory_gb=1e-9)
    assert isinstance(slow.train, HostSplit) and slow.train.raw_x.dtype == torch.uint8
    assert next(iterate_batches(slow.test, 4))[0].dtype == torch.float32
    for split in ("train", "val", "test"):
        gens = [torch.Generator().manual_seed(1) if split == "train" else None for _ in range(2)]
        pairs = zip(
            iterate_batches(getattr(fast, split), 8, gens[0]),
            iterate_batches(getattr(slow, split), 8, gens[1]),
            strict=True,
        )
        for (xf, yf), (xs, ys) in pairs:
            assert torch.allclose(xf, xs) and torch.equal(yf, ys)


# -- augmentation ------------------------------------------------------------------------------
def test_random_shift_keeps_shape_and_each_sample_its_own_content():
    n = 16
    x = torch.arange(1.0, n + 1).view(n, 1, 1, 1).expand(n, 3, 9, 7).clone()  # sample i is all i+1
    fill = torch.zeros(1, 3, 1, 1)
    out = random_shift(x, 2, fill, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    for i in range(n):
        values = set(out[i].unique().tolist())
        assert values <= {0.0, float(i + 1)} and float(i + 1) in values
    assert (out == 0).any()  # some sample was shifted: padding shows
    again = random_shift(x, 2, fill, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)


def test_augment_flip_and_shift_move_pixels_not_labels():
    x = torch.zeros(64, 1, 5, 5)
    x[:, :, 2, 0] = 1.0  # one lit pixel at the left edge of the middle row
    aug = BatchAugment(shift=0, hflip=True, fill=torch.zeros(1, 1, 1, 1), generator=torch.Generator().manual_seed(0))
    out = aug(x)
    flipped = out[:, 0, 2, 4] == 1
    assert out.shape == x.shape and 0 < flipped.sum() < 64
    assert torch.equal(out[~flipped], x[~flipped])
    assert (out.sum(dim=(1, 2, 3)) == 1).all()


def test_augment_runs_in_training_only(tiny_mnist, mnist_cfg):
    trainer = Trainer(
        mnist_cfg("regularization=[augment]", "model=cnn", "model.channels=[4]", "model.hidden=[]"),
        str(tiny_mnist / "run"),
    )
    assert (trainer.augment.shift, trainer.augment.hflip) == (2, False)  # the MNIST recipe
    calls = []
    inner = trainer.augment
    trainer.augment = lambda x: calls.append(x.shape) or inner(x)
    summary = trainer.fit()
    assert summary["status"] == "completed"
    assert sum(s[0] for s in calls) == 2 * len(trainer.data.train)  # each training sample, each epoch
    assert all(s[1:] == (1, 12, 12) for s in calls)


def test_augmented_run_resumed_mid_epoch_reproduces_the_run(tiny_mnist, mnist_cfg):
    run = ["regularization=[augment]", "trainer.batch_size=16", "trainer.epochs=2"]
    reference = train(mnist_cfg(*run), str(tiny_mnist / "reference"))

    first = Trainer(mnist_cfg(*run), str(tiny_mnist / "run"))
    inner = first.augment

    def stop_at_step_9(x):  # a signal arriving during step 9 of 14 (the 2nd epoch): stop after it
        if first.step == 8:
            first.stop_signal = signal.SIGTERM
        return inner(x)

    first.augment = stop_at_step_9
    with pytest.raises(Interrupted):
        first.fit()
    assert torch.load(tiny_mnist / "run/checkpoints/last.pt", weights_only=True)["batch_in_epoch"] == 2

    again = Trainer(mnist_cfg(*run), str(tiny_mnist / "run"))
    again.resume()
    summary = again.fit()
    drop = ("epoch_s", "samples_per_s")
    assert [{k: v for k, v in r.items() if k not in drop} for r in _metrics(tiny_mnist / "run")] == [
        {k: v for k, v in r.items() if k not in drop} for r in _metrics(tiny_mnist / "reference")
    ]
    assert summary["test"] == reference["test"]


def test_augment_on_non_image_data_is_an_error(tmp_path, make_cfg):
    cfg = make_cfg("dataset=diabetes", "regularization=[augment]", "regularization.augment.shift=2")
    with pytest.raises(DlrunError, match="needs image data"):
        Trainer(cfg, str(tmp_path / "run"))


# -- class weights -----------------------------------------------------------------------------
def test_balanced_class_weights_are_inverse_frequency(tiny_mnist, mnist_cfg):
    trainer = Trainer(mnist_cfg("dataset.class_weights=balanced"), str(tiny_mnist / "run"))
    counts = torch.bincount(trainer.data.train.y, minlength=10).clamp_min(1).float()
    expected = len(trainer.data.train) / (10 * counts)
    assert torch.allclose(trainer.criterion.weight, expected)
    assert trainer.criterion.weight[3] > trainer.criterion.weight[0]  # the rare class weighs more
    assert Trainer(mnist_cfg(), str(tiny_mnist / "run2")).criterion.weight is None


def test_explicit_class_weights_need_one_per_class(tiny_mnist, mnist_cfg):
    with pytest.raises(DlrunError, match="needs 10 non-negative weights"):
        Trainer(mnist_cfg("dataset.class_weights=[1,2]"), str(tiny_mnist / "run"))


# -- end to end --------------------------------------------------------------------------------
def _metrics(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_image_run_end_to_end_same_on_both_data_paths(tiny_mnist, mnist_cfg):
    runs = {}
    for name, extra in (("fast", []), ("loader", ["dataset.max_memory_gb=1e-9"])):
        trainer = Trainer(mnist_cfg("dataset.train_subset=80", *extra), str(tiny_mnist / name))
        assert trainer.data.in_memory == (name == "fast") and len(trainer.data.train) == 80
        summary = trainer.fit()
        runs[name] = _metrics(tiny_mnist / name)
        assert summary["status"] == "completed" and summary["monitor"] == "val_acc"
        assert 0 <= summary["test"]["acc"] <= 1
    for a, b in zip(runs["fast"], runs["loader"], strict=True):
        assert float(a["train_loss"]) == pytest.approx(float(b["train_loss"]), rel=1e-5)
        assert float(a["val_acc"]) == pytest.approx(float(b["val_acc"]))


def test_regression_end_to_end(tmp_path, make_cfg):
    cfg = make_cfg("dataset=diabetes", "trainer.epochs=4", "model.hidden=[32]", "optim.lr=0.01")
    validate(cfg)
    summary = train(cfg, str(tmp_path))
    rows = _metrics(tmp_path)
    assert summary["monitor"] == "val_rmse"
    assert {"train_rmse", "train_mae", "val_rmse", "val_mae"} <= set(rows[0])
    assert not any("acc" in k for k in rows[0])
    rmse = [float(r["val_rmse"]) for r in rows]
    assert summary["best_epoch"] == 1 + int(np.argmin(rmse))  # lower is better
    # reported in the target's own units (disease progression, std ~77), not standardized ones
    assert 30 < summary["test"]["rmse"] < 150 and summary["test"]["mae"] <= summary["test"]["rmse"]
    assert set(json.loads((tmp_path / "summary.json").read_text())["test"]) == {"loss", "rmse", "mae"}


# -- models on image shapes --------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32), (3, 7, 5)])
def test_models_adapt_to_channels_and_size(shape):
    x = torch.randn(2, *shape)
    for model in (MLP(shape, 10), CNN(shape, 10, channels=[4, 4, 4, 4], hidden=[8]), RNN(shape, 10)):
        assert model(x).shape == (2, 10)
    assert as_sequence(x).shape == (2, shape[1], shape[0] * shape[2])  # rows are the time steps


@pytest.mark.parametrize(
    "preset,shape,params",
    [
        ("seed_mlp", (1, 28, 28), 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10),
        ("seed_cnn", (1, 28, 28), 832 + 51_264 + 7 * 7 * 64 * 1024 + 1024 + 10_250),  # the TF tutorial's
        ("seed_cnn", (3, 32, 32), 2_432 + 51_264 + 8 * 8 * 64 * 1024 + 1024 + 10_250),
    ],
)
def test_presets_build_on_image_shapes(preset, shape, params, make_cfg):
    cfg = make_cfg(f"experiment={preset}")
    validate(cfg)
    assert cfg.trainer.batch_size == 100 and cfg.optim.lr == 1e-3
    model = build_model(cfg.model, shape, 10)
    assert sum(p.numel() for p in model.parameters()) == params
    assert model(torch.zeros(2, *shape)).shape == (2, 10)


@pytest.mark.parametrize("name, classes", [("digits", 10), ("diabetes", 0)])
def test_a_scikit_learn_split_is_cached_and_read_back_without_scikit_learn(tmp_path, monkeypatch, name, classes):
    from dlrun.data import sklearn_sets

    load = getattr(sklearn_sets, f"load_{name}")
    first = load(0.2, 3, str(tmp_path))
    assert list((tmp_path / "dlrun-cache").iterdir()) == [tmp_path / "dlrun-cache" / f"{name}-test0.2-seed3.pt"]
    monkeypatch.setitem(__import__("sys").modules, "sklearn", None)  # importing scikit-learn now fails
    again = load(0.2, 3, str(tmp_path))
    for key in ("x_train", "y_train", "x_test", "y_test"):
        a, b = getattr(first, key), getattr(again, key)
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert again.num_classes == first.num_classes == classes
    monkeypatch.undo()
    uncached = load(0.2, 3)  # no root: nothing cached, the same split
    assert np.array_equal(uncached.x_test, first.x_test) and np.array_equal(uncached.y_train, first.y_train)
    assert len(first.y_test) == {"digits": 360, "diabetes": 89}[name]  # 20% of 1797 and of 442, rounded up


def test_a_damaged_cache_is_rebuilt_with_a_reason_a_user_understands(tmp_path, capsys):
    """Garbage where a cached split was: the warning says what the file is not, not the unpickler's
    own words (a bare number, a pickle-protocol warning)."""
    from dlrun.data.cache import cached_tensors
    from dlrun.data.mnist1d import load_mnist1d

    path = tmp_path / "dlrun-cache" / "digits-test0.2-seed0.pt"
    cached_tensors(path, lambda: {"x": torch.arange(5)})
    for garbage in (np.random.default_rng(0).bytes(3000), b"", path.read_bytes()[:40]):
        path.write_bytes(garbage)
        assert torch.equal(cached_tensors(path, lambda: {"x": torch.arange(5)})["x"], torch.arange(5))
        assert capsys.readouterr().err == (
            f"dlrun: warning: rebuilding the damaged cache {path} (not a readable torch file: truncated or overwritten)\n"
        )
    load_mnist1d(str(tmp_path))
    npz = tmp_path / "mnist1d" / "mnist1d_seed42.npz"
    npz.write_bytes(b"garbage")
    load_mnist1d(str(tmp_path))
    assert capsys.readouterr().err == (
        f"dlrun: warning: rebuilding the damaged cache {npz} (not a readable .npz archive: truncated or overwritten)\n"
    )
