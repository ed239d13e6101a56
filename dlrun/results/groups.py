"""Repeats of one configuration as one row: runs whose configs are equal apart from the repeat keys
(the seed, the cross-validation fold) form a group, shown with n and mean ± std (min, max) of every
metric column, and the best group is tested against the runner-up (Welch's t-test, dlrun.results.stats).

Statistics are taken over a group's completed runs; the `completed` column says how many of its
`n` runs that is, so runs in any state still appear."""

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from dlrun.metrics import metric_mode
from dlrun.results.run_folder import Run
from dlrun.results.stats import describe, welch
from dlrun.results.table import RunTable, build_table, mark_best

REPEAT_KEYS = ("trainer.seed", "dataset.fold")  # what differs between repeats of one configuration
STATS = ("mean", "std", "min", "max")
P_NOISE = 0.05


def signature(run: Run, keys: list[str]) -> str:
    return json.dumps([run.value(k) for k in keys], sort_keys=True, default=str)


def setting_keys(keys: list[str]) -> list[str]:
    return [k for k in keys if k not in REPEAT_KEYS]


def split_groups(runs: list[Run], keys: list[str]) -> list[list[Run]]:
    """The runs grouped by their values of `keys` (the settings that differ), in order of first
    appearance."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(signature(run, keys), []).append(run)
    return list(groups.values())


def has_repeats(runs: list[Run], differing: list[str]) -> bool:
    """True when some repeat key differs and two runs share every other setting."""
    if not any(k in REPEAT_KEYS for k in differing):
        return False
    return len(split_groups(runs, setting_keys(differing))) < len(runs)


def stat_columns(run_table: RunTable) -> list[str]:
    """The per-run columns that get mean/std/min/max: metrics, epochs and wall time."""
    return [c for c in run_table.columns if c.startswith(("val_", "test_")) or c in ("epochs", "wall_s")]


def build_group_table(runs: list[Run], keys: list[str], group_by: list[str], path_of: Callable[[Run], str]) -> RunTable:
    """One row per group: the `keys` columns, n, completed, status, and C_mean, C_std, C_min, C_max
    for every metric column C; each row also holds "runs" (its run paths) and "values" (the
    primary metric of each completed run, for the significance test; not a column)."""
    per_run = build_table(runs, keys, path_of)
    row_of = {row["path"]: row for row in per_run.rows}
    measured = stat_columns(per_run)
    columns = [*keys, "n", "completed", "status", *(f"{c}_{s}" for c in measured for s in STATS)]
    rows = []
    for group in split_groups(runs, group_by):
        members = [row_of[path_of(run)] for run in group]
        done = [r for r in members if r["status"] == "completed"]
        counts = Counter(r["status"] for r in members)
        row: dict[str, Any] = dict.fromkeys(columns)
        row.update({k: group[0].value(k) for k in keys})
        row.update(
            n=len(members),
            completed=len(done),
            status=", ".join(f"{n} {s}" for s, n in counts.most_common()),
            runs=[r["path"] for r in members],
        )
        for c in measured:
            d = describe([r[c] for r in done])
            row.update({f"{c}_{s}": d[s] for s in STATS})
            if c == per_run.primary:
                row["values"] = [r[c] for r in done if r[c] is not None]
        rows.append(row)
    primary = f"{per_run.primary}_mean" if per_run.primary else None
    mark_best(rows, primary)
    table = RunTable(columns, keys, rows, primary)
    table.sort()
    return table


def grouped_display(table: RunTable) -> RunTable:
    """The group table for the terminal: `mean ± std` per metric, the range of the primary one."""
    measured = [c[: -len("_mean")] for c in table.columns if c.endswith("_mean")]
    primary = table.primary[: -len("_mean")] if table.primary else None
    columns = [*table.keys, "n", "completed", "status"]
    for c in measured:
        columns += [c, f"{c} range"] if c == primary else [c]
    rows = []
    for row in table.rows:
        shown = {k: row[k] for k in (*table.keys, "n", "status", "best")}
        shown["completed"] = f"{row['completed']}/{row['n']}"
        for c in measured:
            mean, std = row[f"{c}_mean"], row[f"{c}_std"]
            digits = ".1f" if c == "wall_s" else ".3g" if c == "epochs" else ".4f"
            shown[c] = (
                None if mean is None else format(mean, digits) + ("" if std is None else " ± " + format(std, digits))
            )
            if c == primary and mean is not None:
                shown[f"{c} range"] = f"{row[c + '_min']:{digits}}–{row[c + '_max']:{digits}}"
        rows.append({k: shown.get(k) for k in columns} | {"best": row["best"]})
    return RunTable(columns, table.keys, rows, None)


def varying(table: RunTable) -> list[str]:
    """The setting columns whose value is not the same in every group: what names a group."""
    return [k for k in table.keys if len({json.dumps(r[k], sort_keys=True, default=str) for r in table.rows}) > 1]


def label(row: dict, keys: list[str]) -> str:
    return ", ".join(f"{k}={row[k]}" for k in keys) or "all runs"


def lead_report(table: RunTable) -> str:
    """The best group against the runner-up on the primary metric, in plain words."""
    if not table.primary:
        return "no statistics: no run has the monitored metric yet"
    metric = table.primary[: -len("_mean")]
    scored = [r for r in table.rows if r[table.primary] is not None]
    if len(scored) < 2:
        return f"one group with {metric}: nothing to compare it with"
    best = next(r for r in scored if r["best"])
    runner = next(r for r in scored if r is not best)
    keys = varying(table)
    a, b = best["values"], runner["values"]
    head = (
        f"best: {label(best, keys)} {metric} {fmt(best, metric)} (n={len(a)}) vs runner-up "
        f"{label(runner, keys)} {fmt(runner, metric)} (n={len(b)})"
    )
    test = welch(a, b)
    if test is None:
        few = [f"{label(r, keys)} has n={len(v)}" for r, v in ((best, a), (runner, b)) if len(v) < 2]
        why = (
            ("; ".join(few) + " completed run(s); at least 2 per group are needed, e.g. `-m trainer.seed=0,1,2,3,4`")
            if few
            else "neither group varies at all"
        )
        return f"{head}\nno statistics possible: {why}"
    sign = "+" if test.diff >= 0 else ""
    line = (
        f"difference of means {sign}{test.diff:.4f}, 95% CI [{test.low:+.4f}, {test.high:+.4f}], "
        f"Welch's t-test p = {test.p:.2g}"
    )
    if test.p >= P_NOISE:
        verdict = (
            f"the lead is within noise: p >= {P_NOISE} and the interval includes 0, so these runs do not "
            f"show that {label(best, keys)} is better than {label(runner, keys)}"
        )
    else:
        better_word = "higher" if metric_mode(metric) == "max" else "lower"
        verdict = f"the lead is larger than the run-to-run noise ({metric} {better_word} at p < {P_NOISE})"
    return f"{head}\n{line}: {verdict}."


def fmt(row: dict, metric: str) -> str:
    """`mean ± std` of a group's metric (the mean alone for one run)."""
    mean, std = row[f"{metric}_mean"], row[f"{metric}_std"]
    return f"{mean:.4f}" + ("" if std is None else f" ± {std:.4f}")
