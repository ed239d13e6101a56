"""Which way a metric improves, and the monitored metric of a finished run. No torch here: `dlrun
compare` and the sweep report use it without paying for the import."""

import math


def better(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def metric_mode(name: str) -> str:
    """Losses and errors are minimized, accuracies maximized."""
    return "min" if any(k in name for k in ("loss", "rmse", "mae")) else "max"


def optuna_direction(monitor: str) -> str:
    """The Optuna study direction that optimizes `monitor` (the `dlrun_direction` resolver)."""
    if monitor == "auto":
        raise ValueError("a search needs to know its metric: set trainer.monitor (val_acc, val_loss, "
                         "val_rmse, ...) instead of auto, or hydra.sweeper.direction")
    return "minimize" if metric_mode(monitor) == "min" else "maximize"


def split_metric(summary: dict, split: str) -> tuple[str, float | None] | None:
    """(name, value) of the run's monitored metric on `split` ("val" or "test"), e.g.
    ("test_acc", 0.91); value None when the run has none. None when the summary names no monitor."""
    monitor = summary.get("monitor")  # train_* for a run without a validation split
    if not isinstance(monitor, str) or not monitor.startswith(("val_", "train_")):
        return None
    short = monitor.split("_", 1)[1]
    values = summary.get(split)
    return f"{split}_{short}", finite_number(values.get(short) if isinstance(values, dict) else None)


def finite_number(value) -> float | None:
    """`value` if it is a finite number (what summary.json holds may be anything), else None."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return value if ok else None


def objective(summary: dict) -> float | None:
    """What a sweep's task returns to the sweeper: the best monitored val metric of a completed
    run; for a diverged run the worst value there is (-inf for a metric to maximize, +inf for one
    to minimize), so a search learns to stay away from where training blows up; None for a run
    that failed or was cut short (Optuna records the trial as failed)."""
    found = split_metric(summary, "val")
    if found is None:
        return None
    if summary.get("status") == "diverged":
        return -math.inf if metric_mode(found[0]) == "max" else math.inf
    return found[1] if summary.get("status") == "completed" else None
