"""The trial's side of a search: a Trainer callback (conf/hparams_search/optuna.yaml, node
`callbacks.optuna_trial`) that reports the run's monitored val metric to the study after every
epoch and ends the run with status `pruned` when the search's pruner says so.

It finds its trial through Hydra: the run's job number is its trial number (the sweeper launches
trial N as job N), the study file is in the sweep folder, and the pruner is the sweeper's
(hydra.sweeper.pruner). Outside an Optuna search (a single run) it does nothing."""

import math
from pathlib import Path

from dlrun.errors import RunStopped
from dlrun.tuning.study import SWEEPER


def current_trial():
    """(trial, pruner name) of the Optuna search this run is a trial of, else None."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return None
    hc = HydraConfig.get()
    if hc.mode != RunMode.MULTIRUN or hc.sweeper.get("_target_") != SWEEPER:
        return None
    from dlrun.tuning.study import build, load_trial

    depth = len(Path(str(hc.sweep.subdir)).parts)
    sweep_dir = Path(hc.runtime.output_dir).parents[depth - 1]
    pruner = build(hc.sweeper.pruner)
    return load_trial(sweep_dir, hc.sweeper.study_name, hc.job.num, pruner), type(pruner).__name__


class ReportToStudy:
    def __init__(self) -> None:
        self.trial = None
        self.pruner = None

    def on_fit_start(self, trainer) -> None:
        found = current_trial()
        if found is not None:
            self.trial, self.pruner = found

    def on_epoch_end(self, trainer, row: dict) -> None:
        if self.trial is None:
            return
        value = row.get(trainer.monitor)
        if value is None or not math.isfinite(value):
            return
        self.trial.report(value, step=trainer.epoch)
        if self.trial.should_prune():
            raise RunStopped(
                "pruned", f"pruned by {self.pruner} after epoch {trainer.epoch} ({trainer.monitor} {value:.4g})"
            )
