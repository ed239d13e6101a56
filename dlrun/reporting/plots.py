"""Training curves. `draw_curves` draws one run's metrics rows (metrics.csv rows, as dicts of
numbers or strings) on three axes: loss, accuracy (or rmse for regression) and learning rate, per
epoch. `save_curves` makes the figure every run leaves as curves.png. matplotlib is imported only
when a plot is drawn, and only its object API is used (no pyplot, no global backend)."""

import logging
from pathlib import Path

from dlrun.metrics import CLASSIFICATION, REGRESSION, column
from dlrun.results.run_folder import atomic_write

log = logging.getLogger("dlrun")

CURVES = "curves.png"
TITLES = {"loss": "loss", "acc": "accuracy", "rmse": "RMSE", "mae": "MAE"}
STYLE = {"train": "--", "val": "-"}


def _column(rows: list[dict], key: str) -> tuple[list[float], list[float]]:
    pairs = [(float(r["epoch"]), float(r[key])) for r in rows if r.get(key) not in (None, "")]
    return [e for e, _ in pairs], [v for _, v in pairs]


def metric_of(rows: list[dict]) -> str | None:
    """The second panel's metric: acc for classification, rmse (or mae) for regression."""
    return next(
        (m for m in (*CLASSIFICATION, *REGRESSION) if m != "loss" and rows and column("val", m) in rows[0]), None
    )


def draw_curves(
    axes, rows: list[dict], *, label: str = "", splits=("train", "val"), color=None, best_epoch: int | None = None
) -> None:
    """Draw one run on `axes` (three matplotlib Axes: loss, metric, lr). Call again on the same axes
    to overlay more runs (give each a `label` and a `color`)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax_loss, ax_metric, ax_lr = axes
    metric = metric_of(rows)
    marker = "." if len(rows) <= 30 else None
    for ax, name in ((ax_loss, "loss"), (ax_metric, metric)):
        if name is None:
            continue
        for i, split in enumerate(splits):
            epochs, values = _column(rows, f"{split}_{name}")
            if epochs:
                ax.plot(
                    epochs,
                    values,
                    STYLE.get(split, "-"),
                    marker=marker,
                    color=color or f"C{i}",
                    label=f"{label} {split}".strip(),
                )
        ax.set_title(TITLES.get(name, name))
    epochs, lrs = _column(rows, "lr")
    if epochs:
        ax_lr.plot(epochs, lrs, marker=marker, color=color or "C2", label=label or None)
        if min(lrs) > 0 and max(lrs) / min(lrs) > 20:
            ax_lr.set_yscale("log")
        else:
            ax_lr.set_ylim(0, max(ax_lr.get_ylim()[1], 1.1 * max(lrs)))
            ax_lr.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    ax_lr.set_title("learning rate")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if best_epoch is not None:
            ax.axvline(best_epoch, color="grey", linestyle=":", linewidth=1)
    for ax in (ax_loss, ax_metric):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small")


def curves_figure(rows: list[dict], title: str = "", best_epoch: int | None = None):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 3.8), layout="constrained")
    axes = fig.subplots(1, 3)
    draw_curves(axes, rows, best_epoch=best_epoch)
    if title:
        fig.suptitle(title)
    return fig


def save_curves(rows: list[dict], path, title: str = "", best_epoch: int | None = None, dpi: int = 100) -> Path:
    """Write the curves of one run as a PNG (atomically, like every file of the run folder)."""
    path = Path(path)
    fig = curves_figure(rows, title, best_epoch)
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi))
    return path


def curves_title(name: str, summary: dict) -> str:
    parts = [name]
    if summary.get("best_epoch"):
        parts.append(f"best epoch {summary['best_epoch']} (dotted)")
    parts += [f"test {k} {v:.4f}" for k, v in (summary.get("test") or {}).items() if k in ("acc", "macro_f1", "rmse")]
    return "   ".join(parts)


class CurvesPlot:
    """Trainer callback: curves.png in the run folder at the end of every run that ran an epoch."""

    def on_fit_end(self, trainer, summary: dict) -> None:
        if not trainer.rows:
            return
        best = summary.get("best_epoch")
        try:
            save_curves(
                trainer.rows, trainer.folder.path / CURVES, curves_title(trainer.folder.path.name, summary), best
            )
        except Exception as e:  # a plot is not worth failing a finished run for
            log.warning("could not write %s: %s", CURVES, e)
