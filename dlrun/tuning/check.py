"""A search's config checked before its first trial (called by dlrun.cli.preflight_sweep): the
space parses and is not empty anywhere, the sampler and pruner can be built, and a pruner has a
monitored metric to judge by. Raises DlrunError (one line). Warns when the sampler cannot learn
from the trials the pruner stops."""

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from dlrun.errors import DlrunError, print_warning
from dlrun.tuning.study import SWEEPER

# samplers whose model sees COMPLETE trials only (Optuna's GPSampler; CmaEsSampler unless its
# experimental consider_pruned_trials is set), unlike TPE, which also uses pruned trials' values
COMPLETED_ONLY = ("GPSampler", "CmaEsSampler")


def task_overrides(overrides: list[str]) -> list[str]:
    """The command line's overrides of the run config (Hydra's own, hydra.* and hydra/*, apart)."""
    return [o for o in overrides if not o.lstrip("+~").startswith(("hydra.", "hydra/"))]


def check_search(sweeper: DictConfig, monitor: str, overrides: list[str], sweep_dir: str | None = None) -> None:
    if sweeper.get("_target_") != SWEEPER:
        return
    from dlrun.metrics import optuna_direction
    from dlrun.tuning.space import parse_space
    from dlrun.tuning.study import build, check_same_search, quiet_optuna

    quiet_optuna()
    params = OmegaConf.to_container(sweeper.params, resolve=True) if sweeper.get("params") else {}
    space = parse_space(params, task_overrides(overrides))
    if not space.distributions:
        raise DlrunError(
            "hydra.sweeper.params: the search space is empty; give a key a range, e.g. "
            "'optim.lr=tag(log, interval(1e-4, 1e-1))'"
        )
    if not isinstance(sweeper.n_trials, int) or isinstance(sweeper.n_trials, bool):
        raise DlrunError(f"hydra.sweeper.n_trials={sweeper.n_trials}: must be a whole number")
    if sweeper.n_trials < 1:
        raise DlrunError(f"hydra.sweeper.n_trials={sweeper.n_trials}: a search needs at least 1 trial")
    if sweeper.direction not in ("minimize", "maximize"):
        raise DlrunError(f"hydra.sweeper.direction={sweeper.direction}: must be minimize or maximize")
    try:
        expected = optuna_direction(monitor)
    except (ValueError, KeyError):  # trainer.monitor=auto with a direction given; a bad name is said elsewhere
        expected = sweeper.direction
    if sweeper.direction != expected:
        raise DlrunError(
            f"hydra.sweeper.direction={sweeper.direction}: trainer.monitor={monitor} is to {expected} "
            "(leave the direction out: it follows trainer.monitor)"
        )
    if not isinstance(sweeper.study_name, str) or not sweeper.study_name:
        raise DlrunError(f"hydra.sweeper.study_name={sweeper.study_name}: must be a name")
    pruner = sweeper.pruner.get("_target_", "")
    if not pruner.endswith("NopPruner") and not str(monitor).startswith("val_"):
        raise DlrunError(
            f"hydra/sweeper/pruner: pruning judges trials by a val metric after each epoch; "
            f"set trainer.monitor (val_acc, val_loss, val_rmse, ...), not {monitor}"
        )
    sampler = sweeper.sampler.get("_target_", "")
    if not pruner.endswith("NopPruner") and sampler.endswith(COMPLETED_ONLY):
        name = sampler.rsplit(".", 1)[-1]
        print_warning(
            f"{name} learns from completed trials only: with a pruner it samples at random until "
            f"{plural(sweeper.sampler.get('n_startup_trials', 1), 'trial has', 'trials have')} completed, "
            "and pruned trials teach it nothing (hydra/sweeper/sampler=tpe learns from pruned trials too)"
        )
    extra = {"search_space": space.grid()} if sampler.endswith("GridSampler") else {}
    for name, node, kwargs in (("sampler", sweeper.sampler, extra), ("pruner", sweeper.pruner, {})):
        check_argument_types(f"hydra.sweeper.{name}", node)
        try:
            build(node, **kwargs)
        except Exception as e:
            cause = e.__cause__ or e
            raise DlrunError(f"hydra.sweeper.{name}: {str(cause).splitlines()[0]}") from e
    if sweep_dir is not None:
        check_same_search(Path(sweep_dir), sweeper.study_name, space.lines)


def plural(n, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def check_argument_types(section: str, node: DictConfig) -> None:
    """A sampler's or pruner's numbers and flags have the types its signature says (Optuna takes
    `n_startup_trials=abc` and fails only when the first trial asks)."""
    import inspect

    from hydra.utils import get_class

    try:
        parameters = inspect.signature(get_class(node._target_).__init__).parameters
    except Exception:  # nothing to go by: build() will say what is wrong
        return
    for key, value in node.items():
        kinds = scalar_kinds(parameters.get(key))
        if value is None or not kinds:
            continue
        if kinds == {"bool"}:
            ok, want = isinstance(value, bool), "true or false"
        elif "float" in kinds:
            ok, want = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
        else:
            ok, want = isinstance(value, int) and not isinstance(value, bool), "a whole number"
        if not ok:
            raise DlrunError(f"{section}.{key}={value}: must be {want}")


def scalar_kinds(parameter) -> set[str]:
    """{"int"}, {"float"}, {"bool"}, ... when a parameter is annotated as such (None allowed), else {}."""
    if parameter is None or parameter.annotation is parameter.empty:
        return set()
    text = parameter.annotation if isinstance(parameter.annotation, str) else str(parameter.annotation)
    names = {name.strip().removeprefix("<class '").removesuffix("'>") for name in text.split("|")} - {"None"}
    return names if names and names <= {"int", "float", "bool"} else set()
