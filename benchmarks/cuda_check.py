"""The CUDA path, checked on a GPU: for each model family and precision, one training epoch of
dlrun's loop under `torch.cuda.set_sync_debug_mode("warn")`, counting the host-device syncs it
makes (dlrun reads the loss back every DEVICE_CHECK_EVERY steps and once per pass, never per
step), then a whole short run (channels_last for 2-D CNNs, bf16/fp16 autocast, fp16 grad scaling,
compile) that must complete with finite metrics.

Usage: python benchmarks/cuda_check.py            (needs CUDA; prints one table)"""

import sys
import tempfile
import warnings

import torch
from suite import compose

RUNS = {
    "mlp fp32": ["model=mlp"],
    "mlp bf16": ["model=mlp", "trainer.precision=bf16"],
    "mlp fp16": ["model=mlp", "trainer.precision=fp16"],
    "cnn1d bf16": ["model=cnn"],
    "cnn2d bf16 (digits, channels_last)": ["dataset=digits", "model=cnn", "trainer.precision=bf16"],
    "rnn fp32": ["model=rnn"],
    "mlp compiled": ["model=mlp", "trainer.compile=true"],
}


def syncs_in_one_epoch(trainer) -> int:
    from dlrun.reporting.console import EpochReporter

    trainer.train_epoch(EpochReporter(1, trainer.steps_per_epoch, enabled=False))  # warm-up
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            trainer.train_epoch(EpochReporter(1, trainer.steps_per_epoch, enabled=False))
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


def main() -> int:
    if not torch.cuda.is_available():
        print("cuda_check: no CUDA device here", file=sys.stderr)
        return 2
    from dlrun.training.trainer import DEVICE_CHECK_EVERY, Trainer

    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}; loss read every {DEVICE_CHECK_EVERY} steps")
    print(f"{'run':38} {'steps/epoch':>11} {'syncs/epoch':>11} {'status':>10} {'test acc':>9}")
    ok = True
    for name, overrides in RUNS.items():
        with tempfile.TemporaryDirectory() as run_dir:
            cfg = compose(["trainer.device=cuda", "trainer.epochs=3", *overrides])
            trainer = Trainer(cfg, run_dir)
            syncs = syncs_in_one_epoch(trainer)
            summary = Trainer(cfg, run_dir + "/full").fit()
        acc = summary["test"].get("acc", float("nan"))
        ok &= summary["status"] == "completed" and syncs < trainer.steps_per_epoch
        print(f"{name:38} {trainer.steps_per_epoch:>11} {syncs:>11} {summary['status']:>10} {acc:>9.4f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
