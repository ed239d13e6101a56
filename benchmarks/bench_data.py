"""Training throughput on Fashion-MNIST: dlrun vs the tutorial loop vs the bare loop.

One epoch (batch 100, Adam 1e-3) of the seed_mlp and seed_cnn architectures, four ways, back to
back in this one process, on the same device:

- tutorial: torchvision's FashionMNIST + ToTensor + Normalize + DataLoader(shuffle=True), the
  classic tutorials' loop (per-sample PIL decode and collate in Python);
- bare:     all images preloaded as one normalized float tensor on the device, batches taken by
  index from a random permutation; forward, loss, backward, step, nothing else;
- bare, fused Adam: the same with torch's fused Adam, the implementation dlrun steps (conf/optim):
  what separates it from dlrun is dlrun's loop alone;
- dlrun:    dlrun's Trainer built from `experiment=seed_mlp|seed_cnn`, in process, timing one
  `train_epoch` (the pass whose samples_per_s metrics.csv reports; it trains on 54k samples,
  10% being held out for validation).

Usage: python benchmarks/bench_data.py [--models mlp cnn] [--repeat 3] [--root DIR] [--device cpu]
                                      [--threads N] [--clock wall|cpu]
With --repeat R each loop runs R times (interleaved, in rotating order) and the median is
reported. On a busy machine `--threads 1 --clock cpu` (CPU time of this process instead of wall
time) gives steadier ratios.
This is a script, not a test: the numbers depend on the machine and on what else runs on it."""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from loops import BATCH, dlrun_epoch, index_batches, loader_batches, plain_epoch, rotation
from torch import nn

from dlrun.data.tv import import_torchvision
from dlrun.data.vision import FASHION_MNIST, gather_idx_files, load_fashion_mnist
from dlrun.training.device import select_device

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"


def tutorial_model(kind: str) -> nn.Module:
    if kind == "mlp":
        return nn.Sequential(
            nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)
        )
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(7 * 7 * 64, 1024),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(1024, 10),
    )


clock = time.perf_counter  # or time.process_time (--clock cpu)


def tutorial_loop(kind: str, root: Path, device: torch.device) -> float:
    tv = import_torchvision()
    import torchvision.transforms as T

    ds = tv.datasets.FashionMNIST(
        str(root), train=True, transform=T.Compose([T.ToTensor(), T.Normalize((0.2860,), (0.3530,))])
    )
    loader = torch.utils.data.DataLoader(ds, batch_size=BATCH, shuffle=True)
    return plain_epoch(tutorial_model(kind).to(device), loader_batches(loader, device), len(ds), device, clock)


def bare_loop(kind: str, root: Path, device: torch.device, fused: bool = False) -> float:
    raw = load_fashion_mnist(str(root), search=[DEBIAN_DIR])
    x = raw.x_train.to(device).float().div_(255).sub_(0.2860).div_(0.3530)
    y = raw.y_train.to(device)
    return plain_epoch(tutorial_model(kind).to(device), index_batches(x, y), len(y), device, clock, fused)


def bare_fused_loop(kind: str, root: Path, device: torch.device) -> float:
    return bare_loop(kind, root, device, fused=True)


def dlrun_loop(kind: str, root: Path, device: torch.device) -> float:
    from hydra import compose, initialize_config_module

    from dlrun.training.trainer import Trainer

    with initialize_config_module("dlrun.conf", version_base="1.3"):
        cfg = compose(
            "config",
            overrides=[
                f"experiment=seed_{kind}",
                "trainer.progress=false",
                f"trainer.device={device}",
                f"dataset.root={root}",
            ],
        )
    with tempfile.TemporaryDirectory() as run_dir:
        return dlrun_epoch(Trainer(cfg, run_dir), clock)


LOOPS = {"tutorial": tutorial_loop, "bare": bare_loop, "bare, fused Adam": bare_fused_loop, "dlrun": dlrun_loop}


def warm_up(device: torch.device) -> None:
    """A few steps of each model first, so that no loop pays the one-time start-up costs."""
    for kind in ("mlp", "cnn"):
        batches = [(torch.randn(BATCH, 1, 28, 28, device=device), torch.randint(0, 10, (BATCH,), device=device))] * 3
        plain_epoch(tutorial_model(kind).to(device), batches, 3 * BATCH, device)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["mlp", "cnn"], choices=["mlp", "cnn"])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--root", default=os.environ.get("DLRUN_DATA", "~/.cache/dlrun"))
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    args = p.parse_args()
    global clock
    if args.clock == "cpu":
        clock = time.process_time
    if args.threads:
        torch.set_num_threads(args.threads)
    root, device = Path(args.root).expanduser(), select_device(args.device)

    load_fashion_mnist(str(root), search=[DEBIAN_DIR])  # dlrun's tensor cache
    gather_idx_files(root / FASHION_MNIST.folder, [DEBIAN_DIR])  # the raw files the tutorial reads
    warm_up(device)

    results: dict[tuple[str, str], list[float]] = {}
    names = list(LOOPS)
    for kind in args.models:
        for i in range(args.repeat):
            for name in rotation(names, i):
                results.setdefault((kind, name), []).append(LOOPS[name](kind, root, device))
                print(f"  {kind} {name}: {results[kind, name][-1]:,.0f} samples/s", file=sys.stderr)

    print(
        f"\nFashion-MNIST, 1 epoch, batch {BATCH}, Adam 1e-3, {device} ({torch.get_num_threads()} threads), "
        f"{args.clock} clock, median of {args.repeat}"
    )
    print("| model | loop | samples/s | vs bare | vs tutorial |\n|---|---|---:|---:|---:|")
    for kind in args.models:
        med = {name: statistics.median(results[kind, name]) for name in LOOPS}
        for name in LOOPS:
            print(
                f"| seed_{kind} | {name} | {med[name]:,.0f} | {med[name] / med['bare']:.2f}x "
                f"| {med[name] / med['tutorial']:.2f}x |"
            )
    if "mlp" in args.models:
        med = {name: statistics.median(results["mlp", name]) for name in LOOPS}
        ok = med["dlrun"] >= 0.95 * med["bare"] and med["dlrun"] >= 1.4 * med["tutorial"]
        print(f"\nMLP target (dlrun >= 0.95x bare and >= 1.4x tutorial): {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
