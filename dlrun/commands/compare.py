"""`dlrun compare PATH...`: one row per run found under the paths (single runs and sweeps, mixed,
nested), with the config values that differ between them, best val and test metric, epochs and
wall time; as a rich table, csv, markdown or json, and optionally a plot of the val curves."""

import argparse
import json
import os
import sys
from pathlib import Path

from dlrun.errors import DlrunError, print_error
from dlrun.results.table import FORMATS, build_table, print_rich
from dlrun.results.run_folder import Run, find_runs


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, like every dlrun error
        raise DlrunError(f"compare: {message}")


def parser() -> Parser:
    p = Parser(prog="dlrun compare", description=__doc__.split("\n\n")[0])
    p.add_argument("paths", nargs="+", metavar="PATH", help="run folders, sweep folders, or folders above them")
    p.add_argument("--all", action="store_true", help="show every config key, not only those that differ")
    p.add_argument("--sort", metavar="KEY", help="order by this column (default: the monitored val metric, best first)")
    p.add_argument("--reverse", action="store_true", help="reverse the order")
    p.add_argument("--format", choices=["table", *FORMATS], default="table")
    p.add_argument("--plot", metavar="FILE.png", help="also draw the runs' val curves into this image")
    return p


def same_everywhere(runs: list[Run], key: str) -> bool:
    return len({json.dumps(run.value(key), sort_keys=True, default=str) for run in runs}) == 1


def config_columns(runs: list[Run], show_all: bool = False) -> list[str]:
    """Config-group choices (`model`), then flattened config keys (`optim.lr`), that differ between
    the runs. A key under a group whose choice differs is implied by that choice and left out
    unless some run overrides it (model=mlp vs model=cnn shows `model`, not every model.* key)."""
    groups = list(dict.fromkeys(g for run in runs for g in run.choices))
    keys = list(dict.fromkeys(k for run in runs for k in run.config))
    if show_all:
        return groups + keys
    changed = [g for g in groups if not same_everywhere(runs, g)]
    overridden = {k for run in runs for k in run.override_keys}

    def implied(key: str) -> bool:
        return key not in overridden and any(key.startswith(g + ".") for g in changed)

    return changed + [k for k in keys if not implied(k) and not same_everywhere(runs, k)]


def display_path(path: Path) -> str:
    """Relative to the current folder when under it, else as found."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


def plot_curves(runs: list[Run], labels: list[str], file: str) -> None:
    """Each run's monitored val metric per epoch (one panel per metric), written with Agg."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    panels: dict[str, list] = {}
    for run, label in zip(runs, labels):
        rows = run.metrics_rows()
        metric = run.monitor or next((k for row in rows for k in row if k.startswith("val_")), None)
        points = [(row["epoch"], row[metric]) for row in rows if "epoch" in row and metric in row]
        if points:
            panels.setdefault(metric, []).append((label, points))
    if not panels:
        raise DlrunError("--plot: none of these runs has val metrics in metrics.csv yet")
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 4.5), squeeze=False)
    for ax, (metric, lines) in zip(axes[0], panels.items()):
        for label, points in lines:
            epochs, values = zip(*points)
            ax.plot(epochs, values, marker="." if len(points) < 40 else None, label=label)
        ax.set(xlabel="epoch", ylabel=metric, title=f"{metric} per epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if len(lines) <= 20:
            ax.legend(fontsize="x-small")
    fig.tight_layout()
    fig.savefig(file, dpi=120)
    plt.close(fig)


def main(argv: list[str]) -> int:
    try:
        args = parser().parse_args(argv)
        runs = find_runs(args.paths)
        table = build_table(runs, config_columns(runs, args.all), lambda run: display_path(run.path))
        table.sort(args.sort, args.reverse)
        if args.format == "table":
            print_rich(table, title=f"{len(runs)} run{'s' * (len(runs) != 1)}")
        else:
            sys.stdout.write(FORMATS[args.format](table))
        if args.plot:
            by_path = {display_path(run.path): run for run in runs}
            order = [row["path"] for row in table.rows]
            plot_curves([by_path[p] for p in order], order, args.plot)
            print(f"dlrun: wrote {args.plot}", file=sys.stderr)
    except DlrunError as e:
        print_error(str(e))
        return 2
    return 0
