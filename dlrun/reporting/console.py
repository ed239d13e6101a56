"""What the user sees in the terminal: a rich progress bar on a terminal, plain per-epoch lines
otherwise (also written to dlrun.log), and a compact summary at the end."""

import io
import logging
import sys
from contextlib import contextmanager

from rich.console import Console, Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

log = logging.getLogger("dlrun")
console = Console(highlight=False)
LOG_WIDTH = 100  # tables written to dlrun.log are rendered as plain text this wide


def as_text(renderable, width: int = LOG_WIDTH) -> str:
    """A rich renderable as plain text (no colours), e.g. for dlrun.log."""
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, highlight=False).print(renderable)
    return buf.getvalue().rstrip()


def show(renderable) -> None:
    """Print to the terminal and write the same as plain text to dlrun.log."""
    console.print(renderable)
    log.info("\n%s", as_text(renderable))


def scalars(metrics: dict) -> dict[str, float]:
    """The single-number entries of a metrics dict (test metrics also hold per-class lists)."""
    return {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def format_metrics(row: dict) -> str:
    parts = []
    for key, value in row.items():
        if key in ("epoch",) or value is None:  # None: an epoch without validation (trainer.val_every)
            continue
        if key == "lr":
            parts.append(f"lr {value:.3g}")
        elif key == "samples_per_s":
            parts.append(f"{value:,.0f} samples/s")
        elif key == "epoch_s":
            parts.append(f"{value:.2f}s")
        else:
            parts.append(f"{key} {value:.4f}")
    return "  ".join(parts)


class EpochReporter:
    """Progress bar over batches and epochs on a terminal; one line per epoch otherwise."""

    def __init__(self, epochs: int, steps_per_epoch: int, enabled: bool, quiet: bool = False):
        """`quiet`: report nothing (DDP ranks other than 0)."""
        self.epochs, self.steps = epochs, steps_per_epoch
        self.live = enabled and sys.stdout.isatty() and not quiet
        self.quiet = quiet
        self.progress = None

    @contextmanager
    def running(self, start_epoch: int):
        if not self.live:
            yield self
            return
        self.progress = Progress(
            TextColumn(f"[bold]epoch {{task.fields[epoch]}}/{self.epochs}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("steps"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task(
            "train", total=self.epochs * self.steps, completed=start_epoch * self.steps, epoch=start_epoch + 1, info=""
        )
        with self.progress:
            yield self

    def batch(self) -> None:
        if self.progress is not None:
            self.progress.advance(self.task)

    def epoch(self, row: dict) -> None:
        if self.quiet:
            return
        line = f"epoch {row['epoch']}/{self.epochs}  {format_metrics(row)}"
        log.info(line)
        if self.progress is not None:
            self.progress.update(
                self.task,
                epoch=min(row["epoch"] + 1, self.epochs),
                info=format_metrics({k: row[k] for k in row if k.startswith("val_")}),
            )
            self.progress.console.print(line)
        else:
            print(line, flush=True)


def print_summary(summary: dict, run_dir: str) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")  # long error messages wrap; nothing is cut
    status = summary["status"]
    colour = "green" if status == "completed" else "red"
    table.add_row("status", f"[{colour}]{status}[/]")
    table.add_row("parameters", f"{summary['num_params']:,}")
    if summary.get("best_epoch") is not None:
        val = ", ".join(f"{k} {v:.4f}" for k, v in summary["val"].items())
        table.add_row(
            "best val",
            f"{val} (epoch {summary['best_epoch']})"
            if val
            else f"no validation split: best = the last epoch ({summary['best_epoch']})",
        )
    if summary.get("test"):
        table.add_row("test", ", ".join(f"{k} {v:.4f}" for k, v in scalars(summary["test"]).items()))
    wall = summary["wall_s"]  # set-up to the end, all sessions of a resumed run
    table.add_row("time", f"{wall:.2f}s on {summary['device']}" if wall < 1 else f"{wall:.1f}s on {summary['device']}")
    if summary.get("error"):  # why it stopped: an error only when it failed or diverged
        why = "error" if summary["status"] in ("failed", "diverged") else "reason"
        table.add_row(why, summary["error"])
    if summary.get("test", {}).get("per_class"):
        show(per_class_table(summary["test"], console.width))
    console.print(table)
    # never wrapped or cut, even when stdout is a pipe: users copy this path
    console.print(f"[bold]run folder[/]  {run_dir}", soft_wrap=True)
    log.info(
        "summary: %s",
        {
            k: scalars(summary[k]) if isinstance(summary[k], dict) else summary[k]
            for k in ("status", "val", "test", "wall_s")
            if k in summary
        },
    )


MATRIX_UP_TO = 12  # classes: up to this many, the table also shows the confusion matrix (if it fits)
ROWS_UP_TO = 20  # classes: beyond this many, only the lowest-F1 classes are listed


def per_class_table(test: dict, width: int | None = None) -> Group:
    """Test precision/recall/F1/support per class and the macro-F1; with few classes, also the
    confusion matrix (rows: true class, columns: predicted class), if it fits in `width`."""
    per_class, n = test["per_class"], len(test["per_class"])
    shown = list(enumerate(per_class))
    if n > ROWS_UP_TO:
        shown = sorted(shown, key=lambda kc: kc[1]["f1"])[: ROWS_UP_TO // 2]
    cm = test.get("confusion_matrix") if n <= MATRIX_UP_TO else None
    table = _per_class(shown, cm)
    if cm and width and console.measure(table, options=console.options.update_width(10_000)).maximum > width:
        cm, table = None, _per_class(shown, None)
    note = f"macro-F1 {test['macro_f1']:.4f}"
    if len(shown) < n:
        note += f"; the {len(shown)} classes of {n} with the lowest F1"
    elif cm:
        note += "; matrix rows: true class, columns: predicted class"
    return Group(table, Text(note))


def _per_class(shown: list, cm: list | None) -> Table:
    table = Table(title="test, per class", title_justify="left", box=None, pad_edge=False)
    for name in ("class", "precision", "recall", "f1", "n"):
        table.add_column(name, justify="right")
    for j in range(len(cm) if cm else 0):
        table.add_column(str(j), justify="right", style="dim")
    for k, c in shown:
        row = [str(c["class"]), f"{c['precision']:.3f}", f"{c['recall']:.3f}", f"{c['f1']:.3f}", str(c["support"])]
        if cm:
            row += [f"[bold]{v}[/]" if j == k else str(v) for j, v in enumerate(cm[k])]
        table.add_row(*row)
    return table
