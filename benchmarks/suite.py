"""dlrun's benchmark suite: one command, one table.

- start-up: seconds from launching `dlrun` to its first training step, against `import torch`
  alone and against a bare script's first step (import torch, build the model, Adam, one step);
- throughput: training samples/s of dlrun's loop (Trainer.train_epoch, what metrics.csv reports)
  against the bare loop of NOTES (the same model object, the same normalized tensors on the same
  device, batches by index from a permutation, forward/loss/backward/Adam step and nothing else),
  for MLP, CNN and RNN on MNIST-1D and Fashion-MNIST; each measurement spans whole epochs of about
  0.5 s together (or one longer epoch), repeated in rotating order, median reported.
  dlrun steps torch's fused Adam, the bare loop torch's default Adam as a tutorial writes it; the
  bare loop with fused Adam isolates what dlrun's loop itself costs. For contrast, the bare loop
  fed by a DataLoader over host tensors (pinned, non-blocking on a GPU);
- compile: the MNIST-1D MLP with trainer.compile=true (inductor) vs eager, after the compile, at
  batch 100 and at batch 900 (where a fixed cost per step weighs 9x less).

Usage: python benchmarks/suite.py [--device auto] [--repeat 9] [--fashion-subset 10000]
                                  [--skip-compile] [--skip-startup]
A script, not a test: numbers depend on the machine and on what else is running."""

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from loops import BATCH, dlrun_epoch, index_batches, loader_batches, plain_epoch, rotation

FAMILIES = {"mlp": ["model=mlp"], "cnn": ["model=cnn"], "rnn": ["model=rnn"]}
DATASETS = {"mnist1d": ["dataset=mnist1d"], "fashion_mnist": ["dataset=fashion_mnist"]}
MIN_MEASURE_S = 0.5
COMPILE_BIG_BATCH = 900  # 4 equal steps per MNIST-1D epoch: one compiled shape


def compose(overrides, batch: int = BATCH):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_module("dlrun.conf", version_base="1.3"):
        return hydra_compose(
            "config",
            overrides=[
                "trainer.progress=false",
                f"trainer.batch_size={batch}",
                "optim=adam",
                "optim.lr=0.001",
                *overrides,
            ],
        )


def measure(loops: list, repeat: int) -> list[float]:
    """The median samples/s of each loop (a callable that runs one epoch and returns its samples/s),
    measured `repeat` times in rotating order so that each loop takes each position. A measurement
    spans whole epochs of about MIN_MEASURE_S together: a lone short epoch (MNIST-1D: 36 steps) is
    at the mercy of the scheduler."""
    t0 = time.perf_counter()
    for loop in loops:  # warm-up: first-call costs out of the way
        loop()
    epochs = max(1, round(MIN_MEASURE_S / ((time.perf_counter() - t0) / len(loops))))
    rates: list[list[float]] = [[] for _ in loops]
    for i in range(repeat):
        for j in rotation(list(range(len(loops))), i):
            rates[j].append(epochs / sum(1 / loops[j]() for _ in range(epochs)))
    return [statistics.median(r) for r in rates]


def bare_epoch(trainer, fused: bool = False) -> float:
    """The loop a user would hand-write, on dlrun's own model and tensors."""
    train = trainer.data.train
    return plain_epoch(trainer.model, index_batches(train.x, train.y), len(train), trainer.device, fused=fused)


def bare_fused_epoch(trainer) -> float:
    """The bare loop with dlrun's optimizer: what is left of a gap is dlrun's loop itself."""
    return bare_epoch(trainer, fused=True)


def dataloader_epoch(trainer) -> float:
    """The same loop fed the tutorial way: a DataLoader over host tensors (pinned memory and
    non-blocking copies when the model is on a GPU). For contrast, not a target."""
    train, device = trainer.data.train, trainer.device
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(train.x.cpu(), train.y.cpu()),
        batch_size=BATCH,
        shuffle=True,
        pin_memory=device.type == "cuda",
    )
    return plain_epoch(trainer.model, loader_batches(loader, device), len(train), device)


def throughput(device: str, repeat: int, fashion_subset: int) -> list[tuple]:
    from dlrun.training.trainer import Trainer

    rows = []
    for dname, dover in DATASETS.items():
        extra = [f"dataset.train_subset={fashion_subset}"] if dname == "fashion_mnist" and fashion_subset else []
        for fname, fover in FAMILIES.items():
            with tempfile.TemporaryDirectory() as run_dir:
                trainer = Trainer(compose([*dover, *fover, *extra, f"trainer.device={device}"]), run_dir)
                loops = (dlrun_epoch, bare_epoch, bare_fused_epoch, dataloader_epoch)
                medians = measure([functools.partial(loop, trainer) for loop in loops], repeat)
                rows.append((dname, fname, str(trainer.device), *medians))
                print(
                    f"  {dname} {fname}: "
                    + "  ".join(f"{loop.__name__} {m:,.0f}" for loop, m in zip(loops, medians))
                    + " samples/s",
                    file=sys.stderr,
                )
    return rows


def compile_speedup(device: str, repeat: int, batch: int) -> tuple[float, float, float]:
    """dlrun's loop on the MNIST-1D MLP with and without trainer.compile, after the compile: eager
    and compiled samples/s, and the seconds of the first compiled epoch (the compile)."""
    from dlrun.training.trainer import Trainer

    with tempfile.TemporaryDirectory() as tmp:
        eager, compiled = (
            Trainer(
                compose(["dataset=mnist1d", "model=mlp", f"trainer.device={device}", f"trainer.compile={c}"], batch),
                f"{tmp}/{c}",
            )
            for c in (False, True)
        )
        t0 = time.perf_counter()
        dlrun_epoch(compiled)
        first = time.perf_counter() - t0
        return (
            *measure([functools.partial(dlrun_epoch, eager), functools.partial(dlrun_epoch, compiled)], repeat),
            first,
        )


def timed(cmd: list[str], until: str | None = None) -> float:
    """Seconds from launch until a stdout line starts with `until` (or the process ends)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in p.stdout:
        if until and line.startswith(until):
            break
    elapsed = time.perf_counter() - t0
    p.kill()
    p.wait()
    return elapsed


BARE_FIRST_STEP = """
import torch
from torch import nn
model = nn.Sequential(nn.Flatten(), nn.Linear(40, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss = nn.functional.cross_entropy(model(torch.randn(128, 1, 40)), torch.randint(0, 10, (128,)))
loss.backward(); opt.step()
print("step", flush=True)
"""


def startup(repeat: int) -> dict[str, list[float]]:
    """Seconds to the first step of dlrun, of a bare script, and of `import torch` alone, `repeat`
    times each in rotating order."""
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        # one full-batch step per epoch: the first epoch line comes right after the first step.
        # The `dlrun` command users type (the installed entry point beside this python); `python -m
        # dlrun` starts about 0.15 s slower here, in imports spread everywhere, and is the fallback.
        script = Path(py).parent / "dlrun"
        dl = [
            *([str(script)] if script.is_file() else [py, "-m", "dlrun"]),
            "trainer.epochs=1",
            "trainer.batch_size=full",
            "trainer.device=cpu",
            f"hydra.run.dir={tmp}/run",
        ]
        timed(dl, "epoch 1/1")  # fills the data cache and the OS file cache
        commands = {
            "dlrun": (dl, "epoch 1/1"),
            "import torch": ([py, "-c", "import torch"], None),
            "bare": ([py, "-c", BARE_FIRST_STEP], "step"),
        }
        names = list(commands)
        times: dict[str, list[float]] = {name: [] for name in names}
        for i in range(repeat):
            for name in rotation(names, i):
                times[name].append(timed(*commands[name]))
    return times


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--repeat", type=int, default=9)
    p.add_argument("--fashion-subset", type=int, default=10000, help="training samples (0: all 54k)")
    p.add_argument("--skip-compile", action="store_true")
    p.add_argument("--skip-startup", action="store_true")
    args = p.parse_args()

    print(
        f"machine: {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads"
        + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else "")
    )
    if not args.skip_startup:
        times = startup(args.repeat)
        d, t, b = (statistics.median(times[name]) for name in ("dlrun", "import torch", "bare"))
        print(f"\nstart-up to the first training step, median of {args.repeat}:")
        print(
            "| dlrun | import torch | bare script's first step | dlrun - import torch (target <= 1.5 s) "
            "| bare - import torch | dlrun - bare (dlrun's own) |\n|---:|---:|---:|---:|---:|---:|"
        )
        print(f"| {d:.2f} s | {t:.2f} s | {b:.2f} s | {d - t:.2f} s | {b - t:.2f} s | {d - b:.2f} s |")
        print(
            "(the bare script's share above `import torch` is torch's own: in torch 2.13 building the first "
            "torch.optim optimizer imports torch._dynamo, because add_param_group is wrapped in "
            "torch._disable_dynamo)"
        )

    rows = throughput(args.device, args.repeat, args.fashion_subset)
    print(
        f"\ntraining throughput, batch {BATCH}, Adam, median of {args.repeat} measurements of whole epochs "
        f"(about {MIN_MEASURE_S} s, or one epoch if longer; samples/s):"
    )
    print(
        "| dataset | model | device | dlrun | bare loop | dlrun / bare | bare loop, fused Adam "
        "| dlrun / bare fused | DataLoader-fed loop |\n|---|---|---|---:|---:|---:|---:|---:|---:|"
    )
    for dname, fname, dev, d, b, bf, dl in rows:
        print(
            f"| {dname} | {fname} | {dev} | {d:,.0f} | {b:,.0f} | {d / b:.2f}x | {bf:,.0f} | {d / bf:.2f}x "
            f"| {dl:,.0f} |"
        )
    print(
        f"\nworst dlrun / bare: {min(d / b for *_, d, b, _, _ in rows):.2f}x (target >= 0.95x); "
        f"worst dlrun / bare fused (dlrun's loop alone): {min(d / bf for *_, d, _, bf, _ in rows):.2f}x"
    )

    if not args.skip_compile:
        print(
            f"\ncompile (MNIST-1D MLP, dlrun's loop, median of {args.repeat}; target >= 1.2x at batch {BATCH}; "
            "the larger batch shows what is fixed cost per step):"
        )
        print("| batch | eager | compiled | compiled / eager | first compiled epoch |\n|---:|---:|---:|---:|---:|")
        for batch in (BATCH, COMPILE_BIG_BATCH):
            eager, compiled, first = compile_speedup(args.device, args.repeat, batch)
            print(f"| {batch} | {eager:,.0f} | {compiled:,.0f} | {compiled / eager:.2f}x | {first:.1f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
