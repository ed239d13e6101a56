"""What plugs into every run's Trainer hooks: the model table at the start, curves.png at the end."""

from omegaconf import DictConfig

from dlrun.model_summary import ModelSummary
from dlrun.plots import CurvesPlot


def build_callbacks(cfg: DictConfig) -> list:
    callbacks: list = [ModelSummary(), CurvesPlot()]
    return callbacks
