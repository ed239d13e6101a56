"""The pictures of `dlrun compare`: val curves (a line per run, or per group its mean with a ±std
band) and a parallel-coordinates plot of the runs' differing settings against the monitored
metric. matplotlib (Agg) is imported only here, only when a picture is asked for."""

import math
from typing import Any

from dlrun.errors import DlrunError
from dlrun.metrics import metric_mode
from dlrun.results.run_folder import Run
from dlrun.results.stats import describe


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def curve_metric(run: Run, rows: list[dict]) -> str | None:
    """The run's monitored val metric, else its first val_ column (train_ without a val split)."""
    metric = run.monitor
    if metric and any(metric in row for row in rows):
        return metric
    for prefix in ("val_", "train_"):
        found = next((k for row in rows for k in row if k.startswith(prefix)), None)
        if found:
            return found
    return None


def plot_curves(series: list[tuple[str, list[Run]]], file: str) -> None:
    """One panel per metric; a series of one run is its line, a series of several runs (a group)
    is the mean over the runs that reached each epoch, with a band of ± one std."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    panels: dict[str, list] = {}
    for label, runs in series:
        by_epoch: dict[str, dict[float, list[float]]] = {}
        for run in runs:
            rows = run.metrics_rows()
            metric = curve_metric(run, rows)
            for row in rows:
                if metric and "epoch" in row and metric in row and math.isfinite(row[metric]):
                    by_epoch.setdefault(metric, {}).setdefault(row["epoch"], []).append(row[metric])
        for metric, points in by_epoch.items():
            panels.setdefault(metric, []).append((label, len(runs), sorted(points.items())))
    if not panels:
        raise DlrunError("--plot: none of these runs has val metrics in metrics.csv yet")
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 4.5), squeeze=False)
    for ax, (metric, lines) in zip(axes[0], panels.items()):
        for label, n, points in lines:
            epochs = [e for e, _ in points]
            stats = [describe(v) for _, v in points]
            mean = [s["mean"] for s in stats]
            text = label if n == 1 else f"{label} (n={n}, mean ± std)"
            (line,) = ax.plot(epochs, mean, marker="." if len(points) < 40 else None, label=text)
            if n > 1:
                std = [s["std"] or 0.0 for s in stats]
                ax.fill_between(
                    epochs,
                    [m - s for m, s in zip(mean, std)],
                    [m + s for m, s in zip(mean, std)],
                    color=line.get_color(),
                    alpha=0.2,
                    linewidth=0,
                )
        ax.set(xlabel="epoch", ylabel=metric, title=f"{metric} per epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if len(lines) <= 20:
            ax.legend(fontsize="x-small")
    fig.tight_layout()
    fig.savefig(file, dpi=120)
    plt.close(fig)


def _axis(values: list[Any]) -> tuple[list[float | None], list[float], list[str]]:
    """Positions in [0, 1] for one axis, with its tick positions and labels: numbers linearly (on a
    log scale when positive and spanning more than 100x), anything else as evenly spaced categories."""
    nums = [v if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None for v in values]
    if any(n is not None for n in nums) and all(n is not None for v, n in zip(values, nums) if v is not None):
        present = [v for v in nums if v is not None]
        lo, hi = min(present), max(present)
        log = lo > 0 and hi / lo > 100
        f = (lambda v: math.log10(v)) if log else (lambda v: v)
        span = (f(hi) - f(lo)) or 1.0
        pos = [None if v is None else (f(v) - f(lo)) / span for v in nums]
        ticks = sorted(set(present))
        if len(ticks) > 5:  # many distinct values (a metric, a sampled lr): 5 even steps
            g = (lambda y: 10**y) if log else (lambda y: y)
            ticks = [g(f(lo) + i * (f(hi) - f(lo)) / 4) for i in range(5)]
        return pos, [(f(t) - f(lo)) / span for t in ticks], [f"{t:.3g}" for t in ticks]
    cats = sorted({str(v) for v in values if v is not None})
    where = {c: (i / (len(cats) - 1) if len(cats) > 1 else 0.5) for i, c in enumerate(cats)}
    return [None if v is None else where[str(v)] for v in values], list(where.values()), cats


def plot_parallel(runs: list[Run], keys: list[str], metric_of, metric: str, file: str) -> None:
    """A line per run through one vertical axis per setting in `keys` and a last axis for `metric`
    (`metric_of(run)`), coloured by the metric. Runs without the metric are left out."""
    runs = sorted((r for r in runs if metric_of(r) is not None), key=metric_of)
    if metric_mode(metric) == "min":
        runs.reverse()  # the best runs are drawn last, on top
    if not runs:
        raise DlrunError(f"--parallel: no run has {metric}")
    if not keys:
        raise DlrunError("--parallel: these runs have no setting that differs between them")
    plt = _pyplot()
    axes_data = [_axis([r.value(k) for r in runs]) for k in keys] + [_axis([metric_of(r) for r in runs])]
    names = [*keys, metric]
    scores = [metric_of(r) for r in runs]
    lo, hi = min(scores), max(scores)
    cmap = plt.get_cmap("viridis")
    fig, ax = plt.subplots(figsize=(max(6, 1.8 * len(names)), 5))
    xs = list(range(len(names)))
    for i in range(len(runs)):
        ys = [axis[0][i] for axis in axes_data]
        shade = (scores[i] - lo) / ((hi - lo) or 1.0)
        ax.plot(
            [x for x, y in zip(xs, ys) if y is not None],
            [y for y in ys if y is not None],
            color=cmap(shade),
            alpha=0.7,
            linewidth=1.2,
        )
    for x, (_, ticks, labels) in zip(xs, axes_data):
        ax.axvline(x, color="black", linewidth=0.8)
        for t, text in zip(ticks, labels):
            ax.text(x + 0.03, t, text, fontsize="x-small", va="center")
    ax.set_xticks(xs, names, rotation=20, ha="right")
    ax.set_yticks([])
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlim(-0.2, len(names) - 0.6)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(lo, hi))
    fig.colorbar(sm, ax=ax, label=metric)
    ax.set_title(f"{len(runs)} runs: settings against {metric}")
    fig.tight_layout()
    fig.savefig(file, dpi=120)
    plt.close(fig)
