"""How long `dlrun compare` takes on a folder of many runs (the target: 2,000 runs in under 3 s).

Fabricates N run folders as dlrun writes them (.hydra/config.yaml and hydra.yaml as Hydra composes
them for dlrun, overrides.yaml, summary.json, metrics.csv of 20 epochs): a sweep of model x optim.lr x trainer.seed, so that the
grouped table, the statistics line and --where all run. Then times `dlrun compare` as a user
runs it (a fresh process, output to a file), grouped and not, best of 3.

    python benchmarks/compare_many.py [--runs 2000] [--keep DIR]
"""

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

EPOCHS = 20


def templates() -> dict[str, tuple]:
    """(config, hydra config) per model as Hydra composes them for dlrun: the real files' size and
    interpolations (config.yaml ~50 lines, hydra.yaml ~160)."""
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf, open_dict

    found = {}
    with initialize_config_module("dlrun.conf", version_base="1.3"):
        for name, overrides in MODELS.items():
            cfg = compose("config", overrides=overrides, return_hydra_config=True)
            hydra_cfg = OmegaConf.create({"hydra": OmegaConf.to_container(cfg.hydra)})
            with open_dict(cfg):
                del cfg["hydra"]
            found[name] = (cfg, hydra_cfg)
    return found


MODELS = {
    "mlp": ["model=mlp"],
    "cnn": ["model=cnn"],
    "rnn": ["model=rnn"],
    "mlp_wide": ["model=mlp", "model.hidden=[512,256]"],
}


def make_runs(root: Path, n: int) -> None:
    from omegaconf import OmegaConf

    rng = random.Random(0)
    models, lrs = list(MODELS), (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
    seeds = max(1, n // (len(models) * len(lrs)))
    found = templates()
    for i in range(n):
        model, lr, seed = models[i % 4], lrs[(i // 4) % 5], i // 20 % seeds
        run = root / f"{i}_model={model},optim.lr={lr},trainer.seed={seed}"
        (run / ".hydra").mkdir(parents=True)
        cfg, hydra_cfg = found[model]
        cfg.optim.lr, cfg.trainer.seed = lr, seed
        overrides = [*MODELS[model], f"optim.lr={lr}", f"trainer.seed={seed}"]
        hydra_cfg.hydra.overrides.task = overrides
        (run / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
        (run / ".hydra" / "hydra.yaml").write_text(OmegaConf.to_yaml(hydra_cfg))
        (run / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
        acc = 0.6 + 0.3 * rng.random()
        status = "completed" if i % 50 else rng.choice(["running", "diverged", "failed", "interrupted"])
        (run / "summary.json").write_text(
            json.dumps(
                {
                    "status": status,
                    "epochs_completed": EPOCHS,
                    "best_epoch": EPOCHS,
                    "monitor": "val_acc",
                    "num_params": 50000,
                    "device": "cpu",
                    "wall_s": 10 + rng.random(),
                    "val": {"loss": 1 - acc, "acc": acc},
                    "test": {"loss": 1 - acc, "acc": acc - 0.01, "macro_f1": acc - 0.02},
                }
            )
        )
        lines = ["epoch,lr,train_loss,train_acc,val_loss,val_acc,epoch_s,samples_per_s"] + [
            f"{e},{lr},{1 / e},{acc * e / EPOCHS},{1 / e},{acc * e / EPOCHS},0.5,8000" for e in range(1, EPOCHS + 1)
        ]
        (run / "metrics.csv").write_text("\n".join(lines) + "\n")


def timed(argv: list[str], repeats: int = 3) -> tuple[float, float]:
    """Best of `repeats`: wall seconds, and CPU seconds (user + sys) of the command, which other
    jobs on a shared machine disturb less."""
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        best = min(best, time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best_cpu = min(best_cpu, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed: {done.stderr}")
    return best, best_cpu


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
        cases = {
            "compare (grouped, default)": [*dlrun, "compare", str(root)],
            "compare --no-group": [*dlrun, "compare", str(root), "--no-group"],
            "compare --format csv --where optim.lr<0.005": [
                *dlrun,
                "compare",
                str(root),
                "--format",
                "csv",
                "--where",
                "optim.lr<0.005",
            ],
        }
        print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores; best of 3")
        print(f"{'':48s} {'wall':>7s} {'cpu':>7s}  wall / 3 s target")
        print(f"{'import dlrun.commands.compare':48s} {base[0]:6.2f}s {base[1]:6.2f}s")
        for name, argv in cases.items():
            seconds, cpu = timed(argv)
            print(f"{name:48s} {seconds:6.2f}s {cpu:6.2f}s  {seconds / 3.0:.2f}x")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
