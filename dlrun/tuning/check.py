"""A search's config checked before its first trial (called by dlrun.cli.preflight_sweep): the
space parses and is not empty anywhere, the sampler and pruner can be built, and a pruner has a
monitored metric to judge by. Raises DlrunError (one line). Warns when the sampler cannot learn
from the trials the pruner stops."""

from omegaconf import DictConfig, OmegaConf

from dlrun.errors import DlrunError, print_warning
from dlrun.tuning.study import SWEEPER

# samplers whose model sees COMPLETE trials only (Optuna's GPSampler; CmaEsSampler unless its
# experimental consider_pruned_trials is set), unlike TPE, which also uses pruned trials' values
COMPLETED_ONLY = ("GPSampler", "CmaEsSampler")


def task_overrides(overrides: list[str]) -> list[str]:
    """The command line's overrides of the run config (Hydra's own, hydra.* and hydra/*, apart)."""
    return [o for o in overrides if not o.lstrip("+~").startswith(("hydra.", "hydra/"))]


def check_search(sweeper: DictConfig, monitor: str, overrides: list[str]) -> None:
    if sweeper.get("_target_") != SWEEPER:
        return
    from dlrun.tuning.space import parse_space
    from dlrun.tuning.study import build, quiet_optuna

    quiet_optuna()
    params = OmegaConf.to_container(sweeper.params, resolve=True) if sweeper.get("params") else {}
    space = parse_space(params, task_overrides(overrides))
    if not space.distributions:
        raise DlrunError(
            "hydra.sweeper.params: the search space is empty; give a key a range, e.g. "
            "'optim.lr=tag(log, interval(1e-4, 1e-1))'"
        )
    if int(sweeper.n_trials) < 1:
        raise DlrunError(f"hydra.sweeper.n_trials={sweeper.n_trials}: a search needs at least 1 trial")
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
            f"{sweeper.sampler.get('n_startup_trials', 1)} trials have completed, and pruned trials teach it "
            "nothing (hydra/sweeper/sampler=tpe learns from pruned trials too)"
        )
    extra = {"search_space": space.grid()} if sampler.endswith("GridSampler") else {}
    for name, node, kwargs in (("sampler", sweeper.sampler, extra), ("pruner", sweeper.pruner, {})):
        try:
            build(node, **kwargs)
        except Exception as e:
            cause = e.__cause__ or e
            raise DlrunError(f"hydra.sweeper.{name}: {str(cause).splitlines()[0]}") from e
