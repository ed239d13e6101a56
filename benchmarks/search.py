"""Search benchmark: how good a search dlrun's samplers find, and what pruning saves.

A fixed problem: the MNIST-1D CNN of experiment=mnist1d_cnn, searched over the learning rate (log
1e-4..1e-1), the width (channels per conv block: 8, 16, 25 or 50) and the weight decay (log
1e-6..1e-2), each trial trained for --epochs epochs. Every sampler in --samplers runs with no
pruning and with each pruner in --pruners, from --seeds search seeds each; each search is one
`dlrun -m hparams_search=optuna ...` in its own sweep folder under --out. Printed per configuration:
the best val acc found (mean and spread over the seeds), the epochs trained in total and the
trials' training time (sums of their summary.json wall_s; means over seeds), then the targets:
pruning within 0.5 points of the unpruned best with at most half the epochs, and gp or tpe above
random at equal trials.

A search already complete in --out returns at once (the same command continues a study), so a
second run with more pruners or samplers on the same --out only runs what is new.

Usage: python benchmarks/search.py [--trials 30] [--epochs 20] [--seeds 3]
                                   [--samplers random,tpe,gp] [--pruners median,successive_halving,hyperband]
                                   [--jobs 1] [--out DIR] [--sampler-startup N] [--pruner-startup N]
The full default takes about 25 minutes on 2 idle cores; the flags make a small version. A script,
not a test."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

SPACE = [
    "experiment=mnist1d_cnn",
    "optim.lr=tag(log, interval(1e-4, 1e-1))",
    "optim.weight_decay=tag(log, interval(1e-6, 1e-2))",
    "model.channels=choice([8,8,8], [16,16,16], [25,25,25], [50,50,50])",
    "trainer.batch_size=100",
    "trainer.progress=false",
]


def search(out: Path, sampler: str, pruner: str, seed: int, args) -> dict:
    sweep_dir = out / f"{sampler}-{pruner}-seed{seed}"
    jobs = args.jobs
    args, flags = (
        [
            "-m",
            "hparams_search=optuna",
            *SPACE,
            f"trainer.epochs={args.epochs}",
            f"hydra/sweeper/sampler={sampler}",
            f"hydra.sweeper.sampler.seed={seed}",
            f"hydra/sweeper/pruner={pruner}",
            f"hydra.sweeper.n_trials={args.trials}",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        args,
    )
    if flags.sampler_startup is not None and sampler in ("tpe", "gp", "cmaes"):
        args.append(f"hydra.sweeper.sampler.n_startup_trials={flags.sampler_startup}")
    if flags.pruner_startup is not None and pruner == "median":
        args.append(f"hydra.sweeper.pruner.n_startup_trials={flags.pruner_startup}")
    if jobs > 1:
        args += ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={jobs}"]
    with open(out / f"{sweep_dir.name}.log", "a") as log:
        done = subprocess.run(
            [sys.executable, "-m", "dlrun", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=out,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    summaries = [json.loads(p.read_text()) for p in sweep_dir.glob("*/summary.json")]
    statuses = [s["status"] for s in summaries]
    return {
        "best": results["best_value"],
        "epochs": sum(s["epochs_completed"] for s in summaries),
        "pruned": statuses.count("pruned"),
        "train_s": sum(s["wall_s"] for s in summaries),
        "rc": done.returncode,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=30)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--samplers", default="random,tpe,gp")
    p.add_argument("--pruners", default="median,successive_halving,hyperband", help="the pruners compared with none")
    p.add_argument("--jobs", type=int, default=1, help="trials at once (joblib launcher) when > 1")
    p.add_argument("--sampler-startup", type=int, help="random trials before tpe/gp/cmaes model (default: theirs, 10)")
    p.add_argument("--pruner-startup", type=int, help="trials the median pruner never prunes (default: its own, 5)")
    p.add_argument("--out", help="where the sweep folders go (default: a new temporary folder)")
    args = p.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="dlrun-search-bench-")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(f"{args.trials} trials x {args.epochs} epochs, seeds 0..{args.seeds - 1}, sweeps in {out}", flush=True)

    rows, pruners = {}, args.pruners.split(",")
    for sampler in args.samplers.split(","):
        for pruner in ("none", *pruners):
            runs = [search(out, sampler, pruner, seed, args) for seed in range(args.seeds)]
            best = [100 * r["best"] for r in runs]
            rows[sampler, pruner] = row = {
                "best": statistics.mean(best),
                "spread": (min(best), max(best)),
                "epochs": statistics.mean(r["epochs"] for r in runs),
                "pruned": statistics.mean(r["pruned"] for r in runs),
                "train_s": statistics.mean(r["train_s"] for r in runs),
                "rc": [r["rc"] for r in runs],
            }
            print(
                f"{sampler:>7} {pruner:>18}: best val acc {row['best']:6.2f}% "
                f"(seeds {row['spread'][0]:.2f}..{row['spread'][1]:.2f}), epochs {row['epochs']:6.1f} "
                f"of {args.trials * args.epochs}, pruned trials {row['pruned']:4.1f}, "
                f"trials trained {row['train_s']:5.1f}s, exit {row['rc']}",
                flush=True,
            )

    print("\ntargets")
    for sampler in args.samplers.split(","):
        for pruner in pruners:
            base, pruned = rows[sampler, "none"], rows[sampler, pruner]
            gap, ratio = base["best"] - pruned["best"], pruned["epochs"] / base["epochs"]
            met = "met" if gap <= 0.5 and ratio <= 0.5 else "NOT met"
            print(
                f"  {sampler} + {pruner}: {gap:+.2f} points below unpruned, {ratio:.2f}x the epochs "
                f"(target: <= 0.5 points, <= 0.5x): {met}"
            )
    if ("random", "none") in rows:
        for sampler in ("tpe", "gp"):
            if (sampler, "none") in rows:
                diff = rows[sampler, "none"]["best"] - rows["random", "none"]["best"]
                print(
                    f"  {sampler} vs random (no pruning): {diff:+.2f} points "
                    f"(target: above random): {'met' if diff > 0 else 'NOT met'}"
                )


if __name__ == "__main__":
    main()
