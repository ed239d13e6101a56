"""Regularization chosen in the multi-select `regularization` group. Dropout and batch norm are
model options (conf/model/*.yaml read them); the rest act in the training loop through these."""

import math

import torch
from omegaconf import DictConfig

from dlrun.metrics import better


def weight_penalty(model: torch.nn.Module, reg: DictConfig):
    """A function returning l1 * sum|w| + l2 * sum w^2 over weight matrices and kernels (biases
    and norm parameters excluded), or None when neither l1 nor l2 is selected."""
    l1 = reg.l1.weight if "l1" in reg else 0.0
    l2 = reg.l2.weight if "l2" in reg else 0.0
    if not (l1 or l2):
        return None
    weights = [p for p in model.parameters() if p.dim() > 1]

    def penalty() -> torch.Tensor:
        total = 0.0
        for w in weights:
            if l1:
                total = total + l1 * w.abs().sum()
            if l2:
                total = total + l2 * w.pow(2).sum()
        return total

    return penalty


def loss_function(reg: DictConfig, classification: bool, class_weights=None) -> torch.nn.Module:
    if not classification:
        return torch.nn.MSELoss()
    smoothing = reg.label_smoothing.eps if "label_smoothing" in reg else 0.0
    return torch.nn.CrossEntropyLoss(weight=class_weights, label_smoothing=smoothing)


class EarlyStopping:
    def __init__(self, monitor: str, mode: str, patience: int, min_delta: float = 0.0):
        self.monitor, self.mode, self.patience, self.min_delta = monitor, mode, patience, min_delta
        self.best: float | None = None
        self.bad_epochs = 0

    def should_stop(self, metrics: dict) -> bool:
        value = metrics[self.monitor]
        if math.isfinite(value) and better(value, self.best, self.mode, self.min_delta):
            self.best, self.bad_epochs = value, 0
        else:
            self.bad_epochs += 1
        return self.bad_epochs > self.patience

    def state_dict(self) -> dict:
        return {"best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.bad_epochs = state["best"], state["bad_epochs"]
