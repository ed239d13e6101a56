"""Metric names, defined once: the splits a metric is measured on, the metrics a task reports and
which way each improves. A metrics.csv column is `<split>_<metric>` (`val_acc`, `train_loss`);
summary.json holds `val`/`test` dicts keyed by the metric alone. The console, metrics.csv,
TensorBoard, the plots, the monitor and early stopping, compare and the sweeper all name metrics
through this module. No torch here: `dlrun compare` uses it without paying for the import."""

import math

SPLITS = ("train", "val", "test")

# metric -> True when higher is better
HIGHER_IS_BETTER = {"loss": False, "acc": True, "rmse": False, "mae": False, "macro_f1": True}

# what each task reports per split per epoch (metrics.csv), in column order
CLASSIFICATION = ("loss", "acc")
REGRESSION = ("loss", "rmse", "mae")
TEST_ONLY = ("macro_f1",)  # classification: computed on the test split from the confusion matrix

# the metric `trainer.monitor=auto` watches
DEFAULT_MONITOR = {True: "val_acc", False: "val_rmse"}  # keyed by "is classification"

# metrics.csv columns that are not split metrics
EPOCH, LR, EPOCH_S, SAMPLES_PER_S = "epoch", "lr", "epoch_s", "samples_per_s"


def task_metrics(classification: bool) -> tuple[str, ...]:
    return CLASSIFICATION if classification else REGRESSION


def column(split: str, metric: str) -> str:
    return f"{split}_{metric}"


def split_column(name: str) -> tuple[str | None, str]:
    """`val_acc` -> ("val", "acc"); a column that is not a split metric -> (None, name)."""
    split, _, metric = name.partition("_")
    return (split, metric) if split in SPLITS and metric else (None, name)


def is_metric(name: str) -> bool:
    return split_column(name)[0] is not None


def metric_mode(name: str) -> str:
    """ "max" for a metric that improves upwards (accuracies, F1), "min" for losses and errors;
    `name` is a metric (`acc`) or a column (`val_acc`)."""
    metric = split_column(name)[1]
    higher = HIGHER_IS_BETTER.get(metric)
    if higher is None:  # a metric of a user's own: losses and errors go down, anything else up
        higher = not any(k in metric for k in ("loss", "err", "rmse", "mae", "mse"))
    return "max" if higher else "min"


def better(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def worst(mode: str) -> float:
    return -math.inf if mode == "max" else math.inf


def optuna_direction(monitor: str) -> str:
    """The Optuna study direction that optimizes `monitor` (the `dlrun_direction` resolver)."""
    if monitor == "auto":
        raise ValueError(
            "a search needs to know its metric: set trainer.monitor (val_acc, val_loss, "
            "val_rmse, ...) instead of auto, or hydra.sweeper.direction"
        )
    return "minimize" if metric_mode(monitor) == "min" else "maximize"


def split_metric(summary: dict, split: str) -> tuple[str, float | None] | None:
    """(column, value) of the run's monitored metric on `split` ("val" or "test"), e.g.
    ("test_acc", 0.91); value None when the run has none. None when the summary names no monitor."""
    monitor = summary.get("monitor")  # train_* for a run without a validation split
    split_of, metric = split_column(monitor) if isinstance(monitor, str) else (None, "")
    if split_of not in ("val", "train"):
        return None
    values = summary.get(split)
    return column(split, metric), finite_number(values.get(metric) if isinstance(values, dict) else None)


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
        return worst(metric_mode(found[0]))
    return found[1] if summary.get("status") == "completed" else None


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def classification_report(counts) -> dict:
    """{"macro_f1", "per_class": [{class, precision, recall, f1, support}], "confusion_matrix"} from
    a confusion matrix (rows: true class, columns: predicted class; a list of lists or a tensor).

    A class never predicted has precision 0, one never present has recall 0. macro-F1 averages the
    classes that occur in the truth or the predictions (as scikit-learn does)."""
    cm = [[int(c) for c in row] for row in (counts.tolist() if hasattr(counts, "tolist") else counts)]
    per_class, f1s = [], []
    for k, row in enumerate(cm):
        tp, support, predicted = row[k], sum(row), sum(r[k] for r in cm)
        precision, recall = _ratio(tp, predicted), _ratio(tp, support)
        f1 = _ratio(2 * precision * recall, precision + recall)
        per_class.append({"class": k, "precision": precision, "recall": recall, "f1": f1, "support": support})
        if support or predicted:
            f1s.append(f1)
    return {"macro_f1": _ratio(sum(f1s), len(f1s)), "per_class": per_class, "confusion_matrix": cm}
