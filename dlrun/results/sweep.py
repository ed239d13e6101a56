"""The sweep report, a Hydra callback registered in conf/config.yaml (`hydra.callbacks`):

- each time a run of a sweep ends (`on_job_end`, in whatever process or machine ran it), the sweep
  folder's `summary.csv` is rebuilt from the run folders' summary.json files, under a lock and
  written atomically, so parallel jobs never leave it half-written or stale;
- when the sweep ends (`on_multirun_end`, in the `dlrun -m` process), summary.csv is rebuilt once
  more, a table of the runs is printed best first, and `incomplete_runs()` tells `dlrun` to exit
  non-zero when any run did not complete.

Also here: `share_cores(...)`, which splits torch threads between jobs a launcher runs in parallel."""

import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from dlrun.results.groups import build_group_table, grouped_display, has_repeats, lead_report, setting_keys
from dlrun.results.run_folder import Run, find_run_folders
from dlrun.results.table import RunTable, build_table, print_rich, to_csv

log = logging.getLogger("dlrun")

SUMMARY_CSV = "summary.csv"
OPTUNA_RESULTS = "optimization_results.yaml"  # written by dlrun's Optuna sweeper (dlrun.tuning.study)
FINE = ("completed", "pruned")  # a pruned trial was stopped by its search on purpose: not a problem

_finished: list[dict] = []  # set by on_multirun_end in the launching process, read by cli.main


def sweep_tables(sweep_dir: Path) -> tuple[RunTable, RunTable | None]:
    """One row per run folder in the sweep, with a column per override given to its runs, and, when the sweep repeats configurations (trainer.seed, dataset.fold:
    dlrun.results.groups), the table of groups; else None."""
    runs = [Run(folder) for folder in find_run_folders(sweep_dir) if folder != sweep_dir]
    keys = list(dict.fromkeys(k for run in runs for k in run.override_keys))
    path_of = lambda run: str(run.path.relative_to(sweep_dir))  # noqa: E731
    grouped = None
    if has_repeats(runs, keys):
        grouped = build_group_table(runs, setting_keys(keys), setting_keys(keys), path_of)
    return build_table(runs, keys, path_of), grouped


@contextmanager
def locked(folder: Path):
    """An exclusive flock on the folder itself, where the filesystem supports it."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        except (ImportError, OSError):  # no flock here (Windows, some network filesystems)
            pass
        yield
    finally:
        os.close(fd)  # releases the lock


def write_summary_csv(sweep_dir: Path) -> tuple[RunTable, RunTable | None]:
    """summary.csv: a row per group when the sweep has repeats, else a row per run."""
    from dlrun.results.run_folder import atomic_write

    with locked(sweep_dir):
        table, grouped = sweep_tables(sweep_dir)
        text = to_csv(grouped or table).encode()
        atomic_write(sweep_dir / SUMMARY_CSV, lambda f: f.write(text))
    return table, grouped


def sweep_dir_of_job(config: DictConfig) -> Path:
    """The sweep folder of a job: its run folder minus the `hydra.sweep.subdir` part."""
    run_dir = Path(config.hydra.runtime.output_dir)
    depth = len(Path(str(config.hydra.sweep.subdir)).parts)
    return run_dir.parents[depth - 1]


class SweepReport(Callback):
    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        if config.hydra.mode == RunMode.MULTIRUN:
            write_summary_csv(sweep_dir_of_job(config))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        if not sweep_dir.is_dir():
            return
        table, grouped = write_summary_csv(sweep_dir)
        _finished[:] = table.rows
        if grouped is not None:
            print_rich(
                grouped_display(grouped),
                title=f"sweep {sweep_dir}: {len(table.rows)} runs in "
                f"{len(grouped.rows)} group{'s' * (len(grouped.rows) != 1)}, mean ± std over completed runs, best first (also in {SUMMARY_CSV})",
            )
            print(lead_report(grouped))
        else:
            print_rich(table, title=f"sweep {sweep_dir}: {len(table.rows)} runs, best first (also in {SUMMARY_CSV})")
        if (sweep_dir / OPTUNA_RESULTS).is_file():
            results = OmegaConf.load(sweep_dir / OPTUNA_RESULTS)
            print(
                f"best value {results.get('best_value')} with {dict(results.get('best_params', {}))} "
                f"(in {sweep_dir / OPTUNA_RESULTS})"
            )


def incomplete_runs() -> str | None:
    """After a sweep: e.g. "2 of 4 runs did not complete (1 diverged, 1 failed)", or None."""
    bad = [row["status"] for row in _finished if row["status"] not in FINE]
    if not bad:
        return None
    counts = ", ".join(f"{bad.count(s)} {s}" for s in dict.fromkeys(bad))
    return f"{len(bad)} of {len(_finished)} runs did not complete ({counts})"


# -- parallel jobs on one machine -----------------------------------------------------------------
def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads_per_job(n_jobs: int, cores: int) -> int:
    """Torch threads for each of `n_jobs` parallel jobs on `cores` cores (joblib's n_jobs=-1 means
    one job per core, -2 one fewer, ...)."""
    if n_jobs < 0:
        n_jobs = max(1, cores + 1 + n_jobs)
    return max(1, cores // max(1, n_jobs))


def share_cores(hydra_cfg: DictConfig) -> None:
    """Under a launcher that runs `hydra.launcher.n_jobs` jobs at once on this machine (joblib),
    give each job its share of the cores so they do not oversubscribe them."""
    n_jobs = OmegaConf.select(hydra_cfg, "launcher.n_jobs")
    if isinstance(n_jobs, int):
        import torch

        cores = available_cores()
        torch.set_num_threads(threads_per_job(n_jobs, cores))
        log.info("torch threads: %d (n_jobs=%d on %d cores)", torch.get_num_threads(), n_jobs, cores)
