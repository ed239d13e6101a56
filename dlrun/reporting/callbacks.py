"""What plugs into every run's Trainer hooks: the model table at the start, curves.png at the end,
and the loggers chosen in the `logger` group (`csv` is the run folder's metrics.csv, which the
Trainer always writes; `tensorboard` adds TensorBoard event files)."""

from omegaconf import DictConfig

from dlrun.reporting.model_summary import ModelSummary
from dlrun.reporting.plots import CurvesPlot


def build_callbacks(cfg: DictConfig) -> list:
    callbacks: list = [ModelSummary(), CurvesPlot()]
    loggers = cfg.get("logger") or {}
    if "tensorboard" in loggers:
        from dlrun.reporting.tensorboard import TensorBoardLogger  # imports tensorboard only when it starts

        callbacks.append(TensorBoardLogger(**loggers.tensorboard))
    # `callbacks.<name>: {_target_: ...}` nodes, e.g. a search's trial reporter (hparams_search=optuna)
    from hydra.utils import instantiate

    callbacks += [instantiate(node) for node in (cfg.get("callbacks") or {}).values()]
    return callbacks
