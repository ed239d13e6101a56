"""`dlrun compare PATH...`: one row per run found under the paths (single runs and sweeps, mixed,
nested), with the config values that differ between them, best val and test metric, epochs and
wall time; as a rich table, csv, markdown or json, and optionally a plot of the val curves.

Repeats of one configuration (runs that differ only in trainer.seed or dataset.fold) are grouped
into one row with mean ± std, and the best group is tested against the runner-up (--group, the
default when there are repeats; --no-group shows every run). --where filters the runs, --parallel
draws their settings against the monitored metric."""

import argparse
import os
import sys
from pathlib import Path

from dlrun.commands import Parser, check_out_file, command, new_parser
from dlrun.results.filters import keep, parse_where
from dlrun.results.groups import (
    REPEAT_KEYS,
    build_group_table,
    grouped_display,
    has_repeats,
    label,
    lead_report,
    setting_keys,
    varying,
)
from dlrun.results.run_folder import Run, find_runs
from dlrun.results.table import FORMATS, build_table, print_rich


def parser() -> Parser:
    p = new_parser("compare", __doc__)
    p.add_argument("paths", nargs="+", metavar="PATH", help="run folders, sweep folders, or folders above them")
    p.add_argument("--all", action="store_true", help="show every config key, not only those that differ")
    p.add_argument("--sort", metavar="KEY", help="order by this column (default: the monitored val metric, best first)")
    p.add_argument("--reverse", action="store_true", help="reverse the order")
    p.add_argument("--format", choices=["table", *FORMATS], default="table")
    p.add_argument(
        "--plot",
        metavar="FILE.png",
        help="also draw the runs' val curves into this image (grouped: each group's mean curve with a ±std band)",
    )
    p.add_argument(
        "--group",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"one row per configuration, mean ± std over its repeats ({', '.join(REPEAT_KEYS)}); "
        "default: on when some runs are repeats",
    )
    p.add_argument(
        "--where",
        metavar="KEY OP VALUE",
        action="append",
        default=[],
        type=parse_where,
        help="keep runs where e.g. 'optim.lr<0.01', 'status=completed', 'model=cnn' (repeatable)",
    )
    p.add_argument(
        "--parallel",
        metavar="FILE.png",
        help="also draw a parallel-coordinates plot of the runs' differing settings and the metric",
    )
    return p


# what matplotlib's Agg backend writes, known without importing it
IMAGE_SUFFIXES = (".png", ".pdf", ".svg", ".svgz", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".eps", ".ps")


def same_everywhere(runs: list[Run], key: str) -> bool:
    """Equal values of one type in every run (1 and 1.0, or 1 and true, differ); stops at the first
    difference."""
    first = runs[0].value(key)
    return all(type(v) is type(first) and v == first for v in (run.value(key) for run in runs[1:]))


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


def differing_keys(runs: list[Run]) -> list[str]:
    """Every choice and config key whose value is not the same in all runs (implied ones included)."""
    return [k for k in config_columns(runs, show_all=True) if not same_everywhere(runs, k)]


def lookup(run: Run, key: str) -> tuple[bool, object]:
    """(known, value) of `key` for --where: status, a choice or config key, or a per-run column."""
    if key == "status":
        return True, run.status
    if key in run.choices or key in run.config:
        return True, run.value(key)
    for split in ("val", "test"):
        found = run.metric(split)
        if found and found[0] == key:
            return True, found[1]
    if key.startswith("test_") and run.test_value(key[len("test_") :]) is not None:
        return True, run.test_value(key[len("test_") :])
    if key in ("epochs", "wall_s"):
        return True, run.summary.get("epochs_completed" if key == "epochs" else "wall_s")
    return False, None


def display_path(path: Path) -> str:
    """Relative to the current folder when under it, else as found."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


# what the runs were trained and scored on: runs that differ here are not ranked against each other
DATA_KEYS = ("dataset", "dataset.path", "dataset.test_path", "dataset.target", "dataset.task")


@command
def main(argv: list[str]) -> int | None:
    args = parser().parse_args(argv)
    for option, file in (("--plot", args.plot), ("--parallel", args.parallel)):
        if file:  # before the table is printed: a bad path is the only output
            check_out_file(file, f"compare: {option}", f"{option[2:]}.png", IMAGE_SUFFIXES)
    runs = find_runs(args.paths)
    if args.where:
        runs = keep(runs, args.where, lookup)
    columns = config_columns(runs, args.all)
    differing = differing_keys(runs)
    grouped = has_repeats(runs, differing) if args.group is None else args.group
    if grouped:
        keys = setting_keys(columns)
        table = build_group_table(runs, keys, setting_keys(differing), lambda run: display_path(run.path))
        sort = args.sort
        if sort and sort not in table.columns and f"{sort}_mean" in table.columns:
            sort = f"{sort}_mean"
        table.sort(sort, args.reverse)
        title = (
            f"{len(runs)} run{'s' * (len(runs) != 1)} in {len(table.rows)} group"
            f"{'s' * (len(table.rows) != 1)}: mean ± std over completed runs "
            f"(repeat keys: {', '.join(REPEAT_KEYS)})"
        )
    else:
        table = build_table(runs, columns, lambda run: display_path(run.path))
        table.sort(args.sort, args.reverse)
        title = f"{len(runs)} run{'s' * (len(runs) != 1)}"
    if args.format == "table":
        print_rich(grouped_display(table) if grouped else table, title=title)
        if grouped:
            print(lead_report(table))
    else:
        sys.stdout.write(FORMATS[args.format](table))
        if grouped:
            print(lead_report(table), file=sys.stderr)
    data = [k for k in differing if k in DATA_KEYS]
    if data:  # the best of one dataset against the best of another says nothing
        print(
            f"dlrun: note: these runs differ in {', '.join(data)}: scores on different data are not "
            "comparable, so the best marked is only the highest number (compare each dataset's runs "
            "apart, e.g. --where dataset=NAME)",
            file=sys.stderr,
        )
    by_path = {display_path(run.path): run for run in runs}
    if args.plot:
        from dlrun.reporting.compare_plots import plot_curves

        if grouped:
            series = [(label(row, varying(table)), [by_path[p] for p in row["runs"]]) for row in table.rows]
        else:
            series = [(row["path"], [by_path[row["path"]]]) for row in table.rows]
        plot_curves(series, args.plot)
        print(f"dlrun: wrote {args.plot}", file=sys.stderr)
    if args.parallel:
        from dlrun.reporting.compare_plots import plot_parallel

        per_run = build_table(runs, [], lambda run: display_path(run.path))
        metric = per_run.primary
        values = {row["path"]: row[metric] for row in per_run.rows} if metric else {}
        keys = setting_keys([k for k in config_columns(runs) if k in differing])
        plot_parallel(runs, keys, lambda run: values.get(display_path(run.path)), metric or "metric", args.parallel)
        print(f"dlrun: wrote {args.parallel}", file=sys.stderr)
