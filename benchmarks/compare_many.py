"""How long `dlrun compare` takes on a folder of many runs (the target: 2,000 runs in under 3 s).

Fabricates N run folders as dlrun writes them (.hydra/config.yaml, hydra.yaml, overrides.yaml,
summary.json, metrics.csv of 20 epochs): a sweep of model x optim.lr x trainer.seed, so that the
grouped table, the statistics line and --where all run. Then times `dlrun compare` as a user
runs it (a fresh process, output to a file), grouped and not, best of 3.

    python benchmarks/compare_many.py [--runs 2000] [--keep DIR]
"""

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

EPOCHS = 20


def make_runs(root: Path, n: int) -> None:
    rng = random.Random(0)
    models, lrs = ("mlp", "cnn", "rnn", "mlp_wide"), (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
    seeds = max(1, n // (len(models) * len(lrs)))
    for i in range(n):
        model, lr, seed = models[i % 4], lrs[(i // 4) % 5], i // 20 % seeds
        run = root / f"{i}_model={model},optim.lr={lr},trainer.seed={seed}"
        (run / ".hydra").mkdir(parents=True)
        config = {"dataset": {"_target_": "dlrun.data.mnist1d.load_mnist1d", "root": "~/.cache/dlrun", "seed": 42,
                              "train_subset": None, "class_weights": None, "max_memory_gb": 4},
                  "model": {"_target_": f"dlrun.models.{model.split('_')[0].upper()}", "hidden": [256, 128],
                            "dropout": 0.0, "activation": "relu", "batchnorm": False},
                  "optim": {"_target_": "torch.optim.Adam", "lr": lr, "betas": [0.9, 0.999], "weight_decay": 0.0},
                  "sched": {"name": "constant"}, "regularization": {},
                  "trainer": {"epochs": EPOCHS, "batch_size": 128, "val_fraction": 0.1, "device": "auto",
                              "precision": "fp32", "seed": seed, "progress": True, "monitor": "auto"},
                  "logger": {"csv": {}}}
        (run / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
        choices = {"dataset": "mnist1d", "model": model, "optim": "adam", "sched": "constant",
                   "trainer": "default", "hydra/launcher": "basic"}
        (run / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"runtime": {"choices": choices}}}))
        (run / ".hydra" / "overrides.yaml").write_text(
            yaml.safe_dump([f"model={model}", f"optim.lr={lr}", f"trainer.seed={seed}"]))
        acc = 0.6 + 0.3 * rng.random()
        status = "completed" if i % 50 else rng.choice(["running", "diverged", "failed", "interrupted"])
        (run / "summary.json").write_text(json.dumps({
            "status": status, "epochs_completed": EPOCHS, "best_epoch": EPOCHS, "monitor": "val_acc",
            "num_params": 50000, "device": "cpu", "wall_s": 10 + rng.random(),
            "val": {"loss": 1 - acc, "acc": acc}, "test": {"loss": 1 - acc, "acc": acc - 0.01, "macro_f1": acc - 0.02}}))
        lines = ["epoch,lr,train_loss,train_acc,val_loss,val_acc,epoch_s,samples_per_s"] + [
            f"{e},{lr},{1 / e},{acc * e / EPOCHS},{1 / e},{acc * e / EPOCHS},0.5,8000" for e in range(1, EPOCHS + 1)]
        (run / "metrics.csv").write_text("\n".join(lines) + "\n")


def timed(argv: list[str], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        best = min(best, time.perf_counter() - t0)
        if done.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed: {done.stderr}")
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=2000)
    p.add_argument("--keep", metavar="DIR", help="make the runs here and leave them")
    args = p.parse_args()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="dlrun-compare-"))
    try:
        if not any(root.glob("*")):
            t0 = time.perf_counter()
            make_runs(root, args.runs)
            print(f"made {args.runs} run folders in {time.perf_counter() - t0:.1f} s under {root}")
        dlrun = [sys.executable, "-m", "dlrun"]
        base = timed([sys.executable, "-c", "import dlrun.commands.compare"])
        cases = {"compare (grouped, default)": [*dlrun, "compare", str(root)],
                 "compare --no-group": [*dlrun, "compare", str(root), "--no-group"],
                 "compare --format csv --where optim.lr<0.005": [*dlrun, "compare", str(root), "--format", "csv",
                                                                 "--where", "optim.lr<0.005"]}
        print(f"{'import dlrun.commands.compare':48s} {base:6.2f} s")
        for name, argv in cases.items():
            seconds = timed(argv)
            print(f"{name:48s} {seconds:6.2f} s   ({seconds / 3.0:.2f} x the 3 s target)")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
