"""A tiny real run with logger=[csv,tensorboard]: the TensorBoard events read back, curves.png,
the per-class test metrics in summary.json, the model table in dlrun.log."""

import csv
import json
import subprocess
import sys

import pytest
from conftest import run_dlrun
from matplotlib.image import imread

from dlrun.metrics import classification_report

TINY = ["dataset=digits", "model.hidden=[32]", "trainer.epochs=2", "trainer.progress=false"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("tb") / "run"
    p = run_dlrun(*TINY, "logger=[csv,tensorboard]", f"hydra.run.dir={run_dir}", cwd=run_dir.parent)
    assert p.returncode == 0, p.stderr
    return run_dir, p.stdout


@pytest.mark.slow
def test_tensorboard_scalars_read_back(run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir, _ = run
    events = EventAccumulator(str(run_dir))
    events.Reload()
    with open(run_dir / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    tags = set(events.Tags()["scalars"])
    for column, tag in [
        ("train_loss", "loss/train"),
        ("val_loss", "loss/val"),
        ("train_acc", "acc/train"),
        ("val_acc", "acc/val"),
        ("lr", "lr"),
        ("samples_per_s", "time/samples_per_s"),
    ]:
        assert tag in tags
        scalars = events.Scalars(tag)
        assert [s.step for s in scalars] == [1, 2]
        assert [s.value for s in scalars] == pytest.approx([float(r[column]) for r in rows], rel=1e-5)
    assert "custom_scalars__config__" in events.Tags()["tensors"]  # train and val on one chart


def test_tensorboard_hparams(run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    run_dir, _ = run
    events = EventAccumulator(str(run_dir))
    events.Reload()
    content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    hparams = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
    assert hparams["model"].string_value == "mlp"
    assert hparams["dataset"].string_value == "digits"
    assert hparams["optim.lr"].number_value == pytest.approx(1e-3)
    assert hparams["model.hidden"].string_value == "[32]"
    assert hparams["regularization"].string_value == "none"
    summary = json.loads((run_dir / "summary.json").read_text())
    for key in ("acc", "macro_f1", "loss"):
        [final] = events.Scalars(f"hparam/test_{key}")
        assert final.value == pytest.approx(summary["test"][key], rel=1e-5)
    assert events.Scalars("hparam/val_acc")[0].value == pytest.approx(summary["val"]["acc"], rel=1e-5)


def test_curves_png(run):
    run_dir, _ = run
    image = imread(run_dir / "curves.png")
    assert image.ndim == 3 and image.shape[0] >= 300 and image.shape[1] >= 900
    assert (run_dir / "curves.png").stat().st_size < 200_000


def test_per_class_test_metrics_in_summary(run):
    run_dir, stdout = run
    test = json.loads((run_dir / "summary.json").read_text())["test"]
    cm = test["confusion_matrix"]
    assert len(cm) == 10 and all(len(row) == 10 for row in cm)
    assert sum(map(sum, cm)) == 360  # the digits test split: 20% of 1797
    assert sum(cm[k][k] for k in range(10)) / 360 == pytest.approx(test["acc"])
    assert [c["support"] for c in test["per_class"]] == [sum(row) for row in cm]
    report = classification_report(cm)
    assert test["macro_f1"] == pytest.approx(report["macro_f1"])
    assert set(test["per_class"][0]) == {"class", "precision", "recall", "f1", "support"}
    assert "test, per class" in stdout and "macro-F1" in stdout


def test_model_table_in_terminal_and_log(run):
    run_dir, stdout = run
    num_params = json.loads((run_dir / "summary.json").read_text())["num_params"]
    log = (run_dir / "dlrun.log").read_text()
    for text in (stdout, log):
        assert "model: MLP" in text
        assert "blocks.0.0" in text and "Linear" in text and "[128, 32]" in text
        assert f"{num_params:,}" in text
    assert log.index("model: MLP") < log.index("epoch 1/2")  # at the start of the run


@pytest.mark.slow
def test_plain_run_writes_curves_without_importing_tensorboard(tmp_path):
    run_dir = tmp_path / "run"
    code = (
        "import sys; from dlrun.cli import main; sys.argv = ['dlrun', *sys.argv[1:]]; main(); "
        "print('tensorboard imported:', any(m.split('.')[0] == 'tensorboard' for m in sys.modules))"
    )
    p = subprocess.run(
        [sys.executable, "-c", code, *TINY, f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    assert "tensorboard imported: False" in p.stdout
    assert (run_dir / "curves.png").exists() and (run_dir / "metrics.csv").exists()
    assert not list(run_dir.glob("events.out.tfevents.*"))


@pytest.mark.parametrize("status", ["interrupted", "completed"])
def test_hparams_only_when_the_run_ends(tmp_path, status):
    from types import SimpleNamespace

    from omegaconf import OmegaConf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from dlrun.reporting.tensorboard import TensorBoardLogger

    trainer = SimpleNamespace(
        folder=SimpleNamespace(path=tmp_path),
        epoch=1,
        cfg=OmegaConf.create({"optim": {"lr": 0.1}, "regularization": {"l2": {"weight": 1e-4}}}),
    )
    logger = TensorBoardLogger()
    logger.on_fit_start(trainer)
    logger.on_epoch_end(trainer, {"epoch": 1, "lr": 0.1, "train_loss": 1.0, "val_loss": 1.2, "epoch_s": 0.5})
    logger.on_fit_end(trainer, {"status": status, "val": {"loss": 1.2}, "test": {}})
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert set(events.Tags()["scalars"]) >= {"lr", "loss/train", "loss/val", "time/epoch_s"}
    assert ("hparam/val_loss" in events.Tags()["scalars"]) == (status == "completed")
    if status == "completed":
        from tensorboard.plugins.hparams import plugin_data_pb2

        content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
        hparams = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
        assert hparams["regularization"].string_value == "l2"
        assert hparams["regularization.l2.weight"].number_value == pytest.approx(1e-4)
