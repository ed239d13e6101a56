"""One row per run, shared by `dlrun compare` and the end-of-sweep report: build the rows, mark the
best run, sort, and write them as a rich table, csv, markdown or json.

Columns: path, status, the chosen config keys, the monitored metric's best val value and its test
value (named after the metric: `val_acc`, `test_acc`; runs monitoring different metrics get a pair
each), test_macro_f1 where runs have it, epochs, wall_s, error, best."""

import csv
import io
import json
import math
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from dlrun.errors import DlrunError
from dlrun.metrics import TEST_ONLY, column, is_metric, metric_mode, split_column
from dlrun.results.run_folder import Run

MAX_WIDTH = {"path": 64, "error": 60}  # in the rich table; csv, markdown and json keep it all
STATUS_STYLE = {
    "completed": "green",
    "running": "cyan",
    "interrupted": "yellow",
    "pruned": "magenta",
    "diverged": "red",
    "failed": "red",
    "unknown": "dim",
}


@dataclass
class RunTable:
    columns: list[str]
    keys: list[str]  # the columns that are config values
    rows: list[dict[str, Any]]  # every column (None where a run has no value) plus "best"
    primary: str | None  # the metric column that picks the best run and the default order

    def sort(self, column: str | None = None, reverse: bool = False) -> None:
        """Order by `column` (default: the primary metric), best first for a metric (val_/test_
        columns, by which way the metric improves), ascending otherwise; runs without a value last."""
        column = column or self.primary or "path"
        if column not in self.columns:
            raise DlrunError(f"cannot sort by '{column}' (choose from: {', '.join(self.columns)})")
        descending = is_metric(column) and metric_mode(column) == "max"
        present = [r for r in self.rows if r[column] is not None]
        missing = [r for r in self.rows if r[column] is None]
        present.sort(key=lambda r: comparable(r[column]), reverse=descending != reverse)
        self.rows = present + missing


def comparable(value: Any) -> tuple:
    if isinstance(value, (int, float)):
        return (0, float(value))
    return (1, str(value))


def build_table(runs: list[Run], keys: list[str], path_of: Callable[[Run], str]) -> RunTable:
    monitors = Counter(run.monitor for run in runs if run.monitor)
    metric_columns = [column(split, split_column(m)[1]) for m, _ in monitors.most_common() for split in ("val", "test")]
    extra_columns = [f"test_{name}" for name in TEST_ONLY if any(run.test_value(name) is not None for run in runs)]
    columns = ["path", "status", *keys, *metric_columns, *extra_columns, "epochs", "wall_s", "error"]
    rows = []
    for run in runs:
        row = dict.fromkeys(columns)
        row.update(
            path=path_of(run),
            status=run.status,
            error=run.error,
            epochs=run.summary.get("epochs_completed"),
            wall_s=run.summary.get("wall_s"),
        )
        row.update({key: run.value(key) for key in keys})
        for split in ("val", "test"):
            found = run.metric(split)
            if found:
                row[found[0]] = found[1]
        row.update({c: run.test_value(c[len("test_") :]) for c in extra_columns})
        rows.append(row)
    # the val metric; the test one when no run has a val value (trained with trainer.val_fraction=0)
    primary = next(
        (c for c in metric_columns if any(r[c] is not None for r in rows)),
        metric_columns[0] if metric_columns else None,
    )
    mark_best(rows, primary)
    table = RunTable(columns, keys, rows, primary)
    table.sort()
    return table


def mark_best(rows: list[dict], metric: str | None) -> None:
    """The best run by `metric` (the most common monitored val metric) gets best=True."""
    scored = [r for r in rows if metric and r[metric] is not None]
    best = None
    if scored:
        pick = max if metric_mode(metric) == "max" else min
        best = pick(scored, key=lambda r: r[metric])
    for row in rows:
        row["best"] = row is best


# -- cell text ----------------------------------------------------------------------------------
def plain(value: Any) -> str:
    """Full precision, for csv: lists and booleans as JSON, None as empty."""
    if value is None:
        return ""
    if isinstance(value, (bool, list, dict)):
        return json.dumps(value)
    return str(value)


def shown(column: str, value: Any) -> str:
    """Rounded for reading: metrics to 4 places, wall time to 0.1 s, other numbers to 4 digits."""
    if isinstance(value, float):
        if column == "wall_s":
            return f"{value:.1f}"
        return f"{value:.4f}" if is_metric(column) else f"{value:.4g}"
    return plain(value)


def finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


# -- formats ------------------------------------------------------------------------------------
def to_json(table: RunTable) -> str:
    """A list of runs, one object each, keys as the columns plus "best"."""
    return json.dumps([{k: finite(v) for k, v in row.items()} for row in table.rows], indent=2, default=str) + "\n"


def to_csv(table: RunTable) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*table.columns, "best"])
    for row in table.rows:
        writer.writerow([plain(row[c]) for c in table.columns] + [plain(row["best"])])
    return buf.getvalue()


def to_markdown(table: RunTable) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join([*table.columns, "best"]) + " |", "|" + "---|" * (len(table.columns) + 1)]
    for row in table.rows:
        cells = [cell(shown(c, row[c])) for c in table.columns] + ["*" if row["best"] else ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def print_rich(table: RunTable, title: str | None = None) -> None:
    """The table on the terminal: best run in bold with a star, statuses coloured. Config columns
    with the same value in every run go to a caption below, columns no run has a value in (error,
    when all went well) are left out. Off a terminal, lines are as long as the table needs."""
    rows = table.rows
    constant = [k for k in table.keys if len(rows) > 1 and len({plain(r[k]) for r in rows}) == 1]
    columns = [
        c
        for c in table.columns
        if c not in constant and (c in ("path", "status") or any(r[c] is not None for r in rows))
    ]
    caption = "same in every run: " + ", ".join(f"{k}={plain(rows[0][k])}" for k in constant) if constant else None
    out = Table(title=title, caption=caption, title_justify="left", caption_justify="left", header_style="bold")
    out.add_column("", width=1)
    for c in columns:
        numeric = any(isinstance(r[c], (int, float)) and not isinstance(r[c], bool) for r in rows)
        out.add_column(
            c,
            justify="right" if numeric else "left",
            no_wrap=c == "path",
            overflow="ellipsis",
            max_width=MAX_WIDTH.get(c),
        )
    for row in rows:
        cells = [Text(shown(c, row[c]), style=STATUS_STYLE.get(row[c], "") if c == "status" else "") for c in columns]
        out.add_row("★" if row["best"] else "", *cells, style="bold" if row["best"] else None)
    terminal = sys.stdout.isatty()
    Console(highlight=False, width=None if terminal else 100_000).print(out)


FORMATS = {"csv": to_csv, "markdown": to_markdown, "json": to_json}
