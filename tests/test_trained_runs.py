"""Using a trained run: dlrun eval, predict, export, fine-tuning (model.init_from/freeze), your
own loader from --config-dir, and the rule that a run folder is data, not code."""

import csv
import importlib
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import run_dlrun
from omegaconf import OmegaConf

pytestmark = pytest.mark.slow
TINY = ["model.hidden=[32]", "trainer.epochs=2", "dataset.train_subset=1000", "trainer.progress=false"]


def train_run(cwd, name, *overrides):
    res = run_dlrun(*TINY, *overrides, f"hydra.run.dir={name}", cwd=cwd)
    assert res.returncode == 0, res.stderr
    return cwd / name


@pytest.fixture(scope="module")
def mnist1d_run(tmp_path_factory):
    """A tiny MLP trained on MNIST-1D, and that data as an .npz."""
    cwd = tmp_path_factory.mktemp("runs")
    run = train_run(cwd, "mlp")
    import os

    from dlrun.data.mnist1d import load_mnist1d

    raw = load_mnist1d(os.environ["DLRUN_DATA"])
    np.savez(cwd / "m1d.npz", x_train=raw.x_train, y_train=raw.y_train, x_test=raw.x_test, y_test=raw.y_test)
    return cwd, run


@pytest.fixture
def dl(capsys, monkeypatch):
    """`dlrun eval|predict|export ...` in this process (no start-up cost), seen as a subprocess's
    exit code, stdout and stderr; one call per command also runs the real command line."""

    def call(cwd, command, *args):
        monkeypatch.chdir(cwd)
        code = importlib.import_module(f"dlrun.commands.{command}").main(list(args))
        out = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)

    return call


def one_line_error(res, expected):
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dlrun: error: ") and expected in lines[0], res.stderr


def test_eval_matches_training_and_other_data(mnist1d_run, dl):
    cwd, run = mnist1d_run
    summary = json.loads((run / "summary.json").read_text())
    res = run_dlrun("eval", str(run), cwd=cwd)
    assert res.returncode == 0, res.stderr
    assert "test, per class" in res.stdout and "macro-F1" in res.stdout
    result = json.loads((run / "eval" / "mnist1d-best.json").read_text())
    assert result["n"] == 1000 and result["checkpoint"] == "best.pt"
    assert result["test"]["acc"] == pytest.approx(summary["test"]["acc"], abs=1e-6)
    assert result["test"]["confusion_matrix"] == summary["test"]["confusion_matrix"]

    # the same test set through dataset=npz: the same numbers
    res = dl(cwd, "eval", str(run), "dataset=npz", "dataset.path=m1d.npz", "--name", "npz")
    assert res.returncode == 0, res.stderr
    assert json.loads((run / "eval" / "npz.json").read_text())["test"]["acc"] == pytest.approx(
        summary["test"]["acc"], abs=1e-6
    )

    one_line_error(dl(cwd, "eval", str(run), "dataset=digits"), "the data's inputs are (1, 8, 8)")
    np.savez(
        cwd / "three.npz",
        x_train=np.zeros((6, 1, 40)),
        y_train=np.arange(6) % 3,
        x_test=np.zeros((3, 1, 40)),
        y_test=np.arange(3),
    )
    one_line_error(
        dl(cwd, "eval", str(run), "dataset=npz", "dataset.path=three.npz"), "the data has 3 classes, the model of"
    )
    one_line_error(dl(cwd, "eval", str(cwd / "nowhere")), "is not a dlrun run folder")


def test_predict_npz_and_csv_output(mnist1d_run, dl):
    cwd, run = mnist1d_run
    res = run_dlrun("predict", str(run), "m1d.npz", "--out", "preds.csv", cwd=cwd)
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(open(cwd / "preds.csv")))
    assert len(rows) == 1000 and list(rows[0]) == ["row", "pred", *(f"p_{k}" for k in range(10))]
    assert all(abs(sum(float(r[f"p_{k}"]) for k in range(10)) - 1) < 1e-3 for r in rows)
    y = np.load(cwd / "m1d.npz")["y_test"]
    acc = np.mean([int(r["pred"]) == t for r, t in zip(rows, y)])
    summary = json.loads((run / "summary.json").read_text())
    assert acc == pytest.approx(summary["test"]["acc"], abs=1e-6)  # x_test, normalized as in training
    np.savez(cwd / "wrong.npz", x=np.zeros((2, 5)))
    one_line_error(dl(cwd, "predict", str(run), "wrong.npz"), "inputs are (5,), the model of")


def test_predict_and_eval_a_csv_run(tmp_path, dl):
    from test_own_data import people

    people(tmp_path / "train.csv", n=240)
    people(tmp_path / "test.csv", n=60, seed=1)
    run = train_run(
        tmp_path,
        "csvrun",
        "dataset=csv",
        "dataset.path=train.csv",
        "dataset.target=label",
        "dataset.test_path=test.csv",
        "trainer.epochs=5",
    )
    new = tmp_path / "new.csv"
    with open(tmp_path / "test.csv") as src, open(new, "w") as dst:  # the target column left out
        for line in src:
            dst.write(",".join(line.rstrip("\n").split(",")[:2]) + "\n")
    res = dl(tmp_path, "predict", str(run), "new.csv")
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(res.stdout.splitlines()))
    assert len(rows) == 60 and {r["pred"] for r in rows} <= {"no", "yes"} and "p_yes" in rows[0]
    res = dl(tmp_path, "eval", str(run), "dataset.test_path=train.csv", "--name", "on-train")
    assert res.returncode == 0, res.stderr
    assert json.loads((run / "eval" / "on-train.json").read_text())["n"] == 240
    # a bad test file is named by its own key, not dataset.path's
    res = dl(tmp_path, "eval", str(run), "dataset.test_path=nope.csv")
    assert (res.returncode, res.stderr) == (2, "dlrun: error: dataset.test_path: nope.csv: no such file\n")


def test_predict_out_that_cannot_be_written_is_one_line_before_predicting(mnist1d_run, dl, tmp_path):
    cwd, run = mnist1d_run
    (tmp_path / "afolder").mkdir()
    (tmp_path / "afile").write_text("mine")
    for out, message in [
        (tmp_path / "nowhere" / "p.csv", f"no such folder {tmp_path / 'nowhere'}"),
        (
            tmp_path / "afolder",
            f"is a folder, not a file (give a file name, e.g. {tmp_path / 'afolder' / 'preds.csv'})",
        ),
        (tmp_path / "afile" / "p.csv", f"{tmp_path / 'afile'} is a file, not a folder"),
    ]:
        res = dl(cwd, "predict", str(run), "m1d.npz", "--out", str(out))
        assert (res.returncode, res.stdout) == (2, "")
        assert res.stderr == f"dlrun: error: predict: --out {out}: {message}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "afolder"]
    assert (tmp_path / "afile").read_text() == "mine" and list((tmp_path / "afolder").iterdir()) == []
    res = run_dlrun("predict", str(run), "m1d.npz", "--out", "/nonexistent/dir/p.csv", cwd=cwd)
    assert (res.returncode, res.stdout) == (2, "")
    assert res.stderr == "dlrun: error: predict: --out /nonexistent/dir/p.csv: no such folder /nonexistent/dir\n"


def test_eval_without_a_run_names_only_run_dir(dl, tmp_path):
    res = dl(tmp_path, "eval")
    assert (res.returncode, res.stderr) == (2, "dlrun: error: eval: the following arguments are required: RUN_DIR\n")


def test_readme_fine_tuning_recipe_reads_dlrun_data(mnist1d_run, tmp_path):
    """The README's low_high.npz line reads MNIST-1D from $DLRUN_DATA (where dlrun keeps it), not
    from a hard-coded ~/.cache/dlrun."""
    import os
    import re
    import shlex
    import subprocess
    import sys
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    line = next(m for m in re.findall(r"^\$ (python -c .*low_high\.npz.*)$", readme, re.M))
    home = tmp_path / "home"
    home.mkdir()
    argv = shlex.split(line)
    env = {**os.environ, "HOME": str(home)}  # DLRUN_DATA: the session's data, MNIST-1D generated there
    done = subprocess.run([sys.executable, *argv[1:]], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not (home / ".cache").exists()  # nothing generated at the default place
    d = np.load(tmp_path / "low_high.npz")
    source = np.load(mnist1d_run[0] / "m1d.npz")
    assert np.array_equal(d["x_test"], source["x_test"]) and set(np.unique(d["y_test"])) == {0, 1}


def test_export_onnx_pt2_prune_quantize(mnist1d_run, dl, tmp_path):
    cwd, run = mnist1d_run
    (run / "export").mkdir(exist_ok=True)
    (run / "export" / "model.onnx.data").write_bytes(b"an earlier export's external weights")
    res = run_dlrun("export", str(run), "--format", "onnx", "--prune", "0.5", "--quantize", "int8", cwd=cwd)
    assert res.returncode == 0, res.stderr
    assert "one file, weights inside" in res.stdout
    report = json.loads((run / "export" / "report-onnx.json").read_text())
    assert report["format"] == "onnx"
    assert report["check"]["max_abs_diff"] <= 1e-4
    original, pruned, int8 = report["models"]
    weights = 40 * 32 + 32 * 10  # pruning takes half of the weights (not the biases)
    assert original["nonzero_params"] - pruned["nonzero_params"] == weights // 2
    assert pruned["gzip_bytes"] < original["gzip_bytes"] and int8["size_bytes"] < original["size_bytes"]
    assert abs(int8["test_acc"] - original["test_acc"]) < 0.1
    assert (run / "export" / "model.onnx").is_file() and (run / "export" / "model-int8.pt").is_file()
    for r in report["models"]:
        assert r["model"] in res.stdout

    # the ONNX model takes raw inputs: it agrees with the run's own test metrics
    import onnxruntime

    x = np.load(cwd / "m1d.npz")["x_test"].astype(np.float32)
    y = np.load(cwd / "m1d.npz")["y_test"]
    out = onnxruntime.InferenceSession(str(run / "export" / "model.onnx")).run(None, {"x": x})[0]
    assert np.mean(out.argmax(1) == y) == pytest.approx(pruned["test_acc"], abs=1e-6)

    # model.onnx is one file, its weights inside: copied alone elsewhere it loads and gives
    # PyTorch's outputs; no (stale) model.onnx.data sidecar is left
    import shutil

    from dlrun.inference.export import Deployable, load_int8, prune_model
    from dlrun.inference.run import load_run

    assert not list((run / "export").glob("*.data"))
    (tmp_path / "elsewhere").mkdir()
    alone = shutil.copy(run / "export" / "model.onnx", tmp_path / "elsewhere")
    out = onnxruntime.InferenceSession(alone, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    trained = load_run(str(run))
    model = Deployable(trained.build_model(), trained.stats).eval()
    prune_model(model, 0.5)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-4, rtol=1e-4)

    # the int8 file loads back (tensors only) and scores what the report says
    q = load_int8(trained.build_model(), trained.stats, run / "export" / "model-int8.pt")
    assert np.mean(q(torch.from_numpy(x)).argmax(1).numpy() == y) == pytest.approx(int8["test_acc"], abs=1e-6)

    res = dl(cwd, "export", str(run), "--format", "pt2")
    assert res.returncode == 0, res.stderr
    ep = torch.export.load(str(run / "export" / "model.pt2"))
    assert ep.module()(torch.from_numpy(x[:3])).shape == (3, 10)
    # one report per format: the pt2 export leaves the ONNX export's report as it was
    assert json.loads((run / "export" / "report-onnx.json").read_text()) == report
    pt2 = json.loads((run / "export" / "report-pt2.json").read_text())
    assert pt2["format"] == "pt2" and pt2["exporter"] == "torch.export" and pt2["prune"] is None
    assert str(run / "export" / "report-pt2.json") in res.stdout
    one_line_error(dl(cwd, "export", str(run), "--prune", "2"), "must be a fraction in (0, 1)")


def test_fine_tune_from_mnist1d_to_another_task(mnist1d_run):
    """The MNIST-1D MLP initializes a 2-class task on the same signals (digit < 5); its hidden
    layer is loaded and frozen, the head is new."""
    cwd, source = mnist1d_run
    d = np.load(cwd / "m1d.npz")
    np.savez(
        cwd / "low.npz",
        x_train=d["x_train"],
        y_train=(d["y_train"] < 5).astype(np.int64),
        x_test=d["x_test"],
        y_test=(d["y_test"] < 5).astype(np.int64),
    )
    res = run_dlrun(
        *TINY,
        "dataset=npz",
        "dataset.path=low.npz",
        f"model.init_from={source}",
        "model.freeze=[blocks]",
        "hydra.run.dir=tuned",
        cwd=cwd,
    )
    assert res.returncode == 0, res.stderr
    assert "re-initialized: out.weight (10x32 -> 2x32), out.bias (10 -> 2)" in res.stdout
    assert "frozen: blocks (1,312 of 1,378 parameters)" in res.stdout
    before = torch.load(source / "checkpoints" / "best.pt", weights_only=True)["model"]
    after = torch.load(cwd / "tuned" / "checkpoints" / "best.pt", weights_only=True)["model"]
    assert torch.equal(before["blocks.0.0.weight"], after["blocks.0.0.weight"])  # loaded, then frozen
    assert after["out.weight"].shape == (2, 32)

    one_line_error(run_dlrun("model.init_from=nowhere", cwd=cwd), "model.init_from: nowhere: no such run folder")
    (cwd / "table.csv").write_text("a,b\n1,2\n")  # a file, but not a checkpoint
    one_line_error(
        run_dlrun(*TINY, "model.init_from=table.csv", cwd=cwd),
        "model.init_from: table.csv: not a PyTorch checkpoint (give a dlrun run folder or a .pt checkpoint)",
    )
    one_line_error(
        run_dlrun(*TINY, f"model.init_from={source}", "model.freeze=[nope]", "hydra.run.dir=x", cwd=cwd),
        "model.freeze: no parameter starts with 'nope'",
    )


def test_a_run_folder_is_data_not_code(mnist1d_run, tmp_path, dl):
    import shutil

    cwd, source = mnist1d_run
    run = tmp_path / "evil"
    shutil.copytree(source, run)
    cfg = OmegaConf.load(run / ".hydra" / "config.yaml")
    cfg.model._target_ = "os.system"
    OmegaConf.save(cfg, run / ".hydra" / "config.yaml")
    for command in ("eval", "predict", "export"):
        args = [command, str(run)] + (["m1d.npz"] if command == "predict" else [])
        one_line_error(dl(cwd, *args), "model._target_ is os.system: a run folder is data, not code")


USER_LOADER = '''
import numpy as np
from dlrun.data import RawData


def load_blobs(n: int = 300, seed: int = 0) -> RawData:
    """Two Gaussian blobs in 4-D."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = (rng.normal(size=(n, 4)) + 2 * y[:, None]).astype(np.float32)
    return RawData(x[:240], y[:240], x[240:], y[240:], num_classes=2)
'''

USER_MODEL = """
import math
from torch import nn


class Linear(nn.Module):
    def __init__(self, input_shape, num_outputs, scale: float = 1.0):
        super().__init__()
        self.fc = nn.Linear(math.prod(input_shape), num_outputs)

    def forward(self, x):
        return self.fc(x.flatten(1))
"""


def test_your_own_loader_and_model_from_a_config_dir(tmp_path):
    (tmp_path / "mycode.py").write_text(USER_LOADER + USER_MODEL)
    (tmp_path / "myconf" / "dataset").mkdir(parents=True)
    (tmp_path / "myconf" / "model").mkdir(parents=True)
    (tmp_path / "myconf" / "dataset" / "blobs.yaml").write_text("_target_: mycode.load_blobs\nn: 300\nseed: 0\n")
    (tmp_path / "myconf" / "model" / "linear.yaml").write_text("_target_: mycode.Linear\nscale: 1.0\n")
    env = {"PYTHONPATH": str(tmp_path)}
    res = run_dlrun(
        "--config-dir",
        "myconf",
        "dataset=blobs",
        "model=linear",
        "trainer.epochs=5",
        "trainer.progress=false",
        "hydra.run.dir=run",
        cwd=tmp_path,
        env=env,
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["num_params"] == 4 * 2 + 2 and summary["test"]["acc"] > 0.8
    # the run's own model is not dlrun's: eval builds it only when told to trust it
    one_line_error(run_dlrun("eval", "run", cwd=tmp_path, env=env), "pass --trust-code")
    res = run_dlrun("eval", "run", "--trust-code", cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    assert json.loads((tmp_path / "run" / "eval" / "blobs-best.json").read_text())["test"]["acc"] == pytest.approx(
        summary["test"]["acc"], abs=1e-6
    )


def test_regression_table_predicts_values_in_target_units(tmp_path, dl):
    from test_own_data import people

    people(tmp_path / "prices.csv", n=300, regression=True)
    run = train_run(
        tmp_path,
        "reg",
        "dataset=csv",
        "dataset.path=prices.csv",
        "dataset.target=price",
        "trainer.epochs=30",
        "optim.lr=0.01",
    )
    summary = json.loads((run / "summary.json").read_text())
    assert json.loads((run / "data.json").read_text())["num_classes"] == 0
    res = dl(tmp_path, "predict", str(run), "prices.csv")
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(res.stdout.splitlines()))
    truth = [float(r["price"]) for r in csv.DictReader(open(tmp_path / "prices.csv"))]
    values = [float(r["value"]) for r in rows]
    assert list(rows[0]) == ["row", "value"] and len(values) == 300
    rmse = float(np.sqrt(np.mean((np.array(values) - truth) ** 2)))
    assert rmse < np.std(truth) / 2  # in the target's units, far better than predicting the mean
    assert abs(np.mean(values) - np.mean(truth)) < np.std(truth) / 10
    res = dl(tmp_path, "eval", str(run))
    assert res.returncode == 0, res.stderr
    result = json.loads((run / "eval" / "csv-best.json").read_text())["test"]
    assert result["rmse"] == pytest.approx(summary["test"]["rmse"], rel=1e-4)
