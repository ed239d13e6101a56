"""The study of a search: an Optuna journal file in the sweep folder, shared by the sweeper (which
asks and tells) and the trials' runs (which report their val metric after every epoch, for pruning).

Why a journal file and not SQLite: Optuna's JournalFileBackend appends one line per event under a
file lock, so the sweeper and any number of job processes (joblib, submitit_local) write to it
safely; a killed process leaves at most a torn last line, which Optuna skips on replay; and it
needs no database library. SQLite serializes writers with database locks that time out under
parallel jobs and needs SQLAlchemy."""

import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("dlrun")

STUDY_FILE = "optuna_study.journal"
RESULTS_FILE = "optimization_results.yaml"
RUN_DIR = "run_dir"  # user attr: the trial's run folder, relative to the sweep folder
SEARCH = "search"  # study user attr: {key: override} of the space and fixed values it was started with
SWEEPER = "hydra_plugins.dlrun_optuna_sweeper.sweeper.DlrunOptunaSweeper"  # conf/hydra/sweeper/optuna.yaml


def register_sweeper() -> None:
    """Hydra finds plugins by listing the hydra_plugins namespace package, which misses the sweeper
    of an editable install (setuptools' editable finder cannot be listed): register it by hand."""
    from hydra.core.plugins import Plugins

    from hydra_plugins.dlrun_optuna_sweeper.sweeper import DlrunOptunaSweeper

    Plugins.instance().register(DlrunOptunaSweeper)


def quiet_optuna() -> None:
    """dlrun logs each trial itself; Optuna's own INFO lines would repeat them."""
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def storage(sweep_dir: Path):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    sweep_dir.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(sweep_dir / STUDY_FILE)))


def build(node: DictConfig | None, **extra: Any):
    """A sampler or pruner from its config node (`_target_` + arguments)."""
    from hydra.utils import instantiate

    return instantiate(node, **extra, _convert_="all") if node is not None else None


def open_study(sweep_dir: Path, name: str, direction: str, sampler=None, pruner=None):
    """The search's study, created on the first run of the command and loaded on later ones."""
    import optuna

    quiet_optuna()
    return optuna.create_study(
        study_name=name,
        storage=storage(sweep_dir),
        sampler=sampler,
        pruner=pruner,
        direction=direction,
        load_if_exists=True,
    )


def load_trial(sweep_dir: Path, name: str, number: int, pruner=None):
    """Trial `number` of the study, as the run of that trial sees it (to report and prune)."""
    import optuna

    quiet_optuna()
    study = optuna.load_study(study_name=name, storage=storage(sweep_dir), pruner=pruner)
    st = study._storage
    trial_id = st.get_trial_id_from_study_id_trial_number(st.get_study_id_from_name(name), number)
    return optuna.trial.Trial(study, trial_id)


def counted(study) -> list:
    """The trials that count toward n_trials: the finished ones."""
    return [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]


def left_running(study) -> list:
    """Trials a stopped search left RUNNING (Ctrl-C, a killed process), to be run again: same trial
    number, same parameters, same run folder, from the start. (One search process per study: a
    trial another live process is running would be run twice.)"""
    import optuna
    from optuna.trial import TrialState

    return [
        optuna.trial.Trial(study, t._trial_id) for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    ]


def write_results(study, sweep_dir: Path) -> dict | None:
    """optimization_results.yaml: the best trial so far (the file keeps the best)."""
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not done:
        return None
    best = study.best_trial
    results = {
        "name": study.study_name,
        "best_value": best.value,
        "best_params": best.params,
        "best_trial": best.number,
        "best_run_dir": best.user_attrs.get(RUN_DIR),
        "n_trials": len(counted(study)),
        "direction": study.direction.name.lower(),
    }
    OmegaConf.save(OmegaConf.create(results), sweep_dir / RESULTS_FILE)
    return results


def record_search(study, lines: dict[str, str]) -> None:
    """Remember what defines the search (its space and fixed values), the first time it runs."""
    if SEARCH not in study.user_attrs:
        study.set_user_attr(SEARCH, lines)


def check_same_search(sweep_dir: Path, name: str, lines: dict[str, str]) -> None:
    """A study is continued only by the search that started it: another space or other fixed values
    (a dataset, the epochs) would put trials that cannot be compared into one study."""
    import optuna

    if not (sweep_dir / STUDY_FILE).is_file():
        return
    quiet_optuna()
    try:
        before = optuna.load_study(study_name=name, storage=storage(sweep_dir)).user_attrs.get(SEARCH)
    except KeyError:  # no study of that name in the file yet
        return
    if before is None or before == lines:
        return
    from dlrun.errors import DlrunError

    changed = [k for k in sorted(set(before) | set(lines)) if before.get(k) != lines.get(k)]
    first = changed[0]
    more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
    raise DlrunError(
        f"{sweep_dir} holds a search started with {before.get(first) or f'no {first}'}, "
        f"now {lines.get(first) or f'no {first}'}{more}: continue it with its own command, or give a new hydra.sweep.dir"
    )
