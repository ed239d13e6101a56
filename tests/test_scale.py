"""DDP (2 processes, gloo on CPU), torch.compile on CPU, and per-rank data shards."""

import csv
import json
import subprocess
import sys

import pytest
import torch

from dlrun.data import Split, iterate_batches
from dlrun.training.trainer import train

pytestmark = pytest.mark.slow  # subprocess trainings, sweeps, signals or torchrun

DDP_RUN = ["trainer.strategy=ddp", "dataset=digits", "regularization=[dropout]", "trainer.progress=false"]


def torchrun(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "-m", "dlrun", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def metrics(run_dir):
    with open(run_dir / "metrics.csv", newline="") as f:
        return [{k: v for k, v in r.items() if k not in ("epoch_s", "samples_per_s")} for r in csv.DictReader(f)]


def test_shards_split_each_permutation_evenly_between_ranks():
    split = Split(torch.arange(103).float().unsqueeze(1), torch.arange(103))
    seen = []
    for rank in range(4):
        ys = [y for _, y in iterate_batches(split, 8, torch.Generator().manual_seed(1), shard=(rank, 4))]
        seen.append(torch.cat(ys))
    assert all(len(s) == 25 for s in seen)  # 103 // 4, the remainder dropped for equal step counts
    everything = torch.cat(seen)
    assert len(set(everything.tolist())) == 100
    assert set(everything.tolist()) <= set(
        torch.randperm(103, generator=torch.Generator().manual_seed(1))[:100].tolist()
    )
    # evaluation shards cover every sample exactly once
    ev = torch.cat([torch.cat([y for _, y in iterate_batches(split, 8, shard=(r, 4))]) for r in range(4)])
    assert sorted(ev.tolist()) == list(range(103))


def test_ddp_two_processes_one_run_folder_and_resume(tmp_path):
    res = torchrun(*DDP_RUN, "trainer.epochs=3", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    (run,) = (tmp_path / "outputs").glob("*/*")  # one folder, written by rank 0 alone
    s = json.loads((run / "summary.json").read_text())
    assert s["status"] == "completed" and s["device"] == "2 x cpu (ddp)"
    rows = metrics(run)
    assert list(rows[0]) == ["epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc"]
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    assert res.stdout.count("epoch 1/3") == 1  # only rank 0 reports

    part = tmp_path / "part"
    res = torchrun(*DDP_RUN, "trainer.epochs=1", f"hydra.run.dir={part}", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    res = torchrun("resume", str(part), "trainer.epochs=3", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert metrics(part) == metrics(run)
    assert json.loads((part / "summary.json").read_text())["test"]["acc"] == s["test"]["acc"]


STOPPER = """
from dlrun.errors import RunStopped

class StopAfter:  # a callback that ends the run, as a search's pruner does
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, trainer, row):
        if row["epoch"] == self.epoch:
            raise RunStopped("pruned", f"stopped after epoch {self.epoch}")
"""


def test_ddp_a_callback_that_ends_the_run_ends_it_on_every_rank(tmp_path):
    # callbacks run on rank 0 only; rank 1 must stop at the same epoch instead of waiting forever
    (tmp_path / "my_stopper.py").write_text(STOPPER)
    res = torchrun(
        *DDP_RUN,
        "trainer.epochs=5",
        "+callbacks.stop._target_=my_stopper.StopAfter",
        "+callbacks.stop.epoch=2",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    s = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (s["status"], s["epochs_completed"], s["error"]) == ("pruned", 2, "stopped after epoch 2")
    assert s["test"]["acc"] > 0  # best.pt was tested by both ranks together
    assert len(metrics(tmp_path / "run")) == 2


def test_ddp_without_torchrun_is_a_one_line_error(tmp_path):
    from conftest import run_dlrun

    res = run_dlrun("trainer.strategy=ddp", "trainer.epochs=1", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "dlrun: error: trainer.strategy=ddp runs under torchrun: "
        "torchrun --nproc_per_node=N -m dlrun trainer.strategy=ddp ..."
    ]


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_compile_on_cpu(make_cfg, tmp_path, model):
    # aot_eager runs the whole torch.compile path (dynamo capture, AOT autograd) without the
    # minutes inductor needs to build C++ here; benchmarks/suite.py measures inductor
    cfg = make_cfg(
        f"model={model}",
        "dataset=digits",
        "trainer.epochs=2",
        "trainer.compile=true",
        "trainer.compile_backend=aot_eager",
    )
    s = train(cfg, str(tmp_path))
    assert s["status"] == "completed" and s["test"]["acc"] > 0.5
    state = torch.load(tmp_path / "checkpoints/best.pt", weights_only=True)["model"]
    assert not any(k.startswith("_orig_mod") for k in state)  # plain model weights
