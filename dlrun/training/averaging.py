"""Weight averaging, `regularization=[ema]` or `[swa]`, on torch.optim.swa_utils: an AveragedModel
beside the trained model. Once it holds an average, it is the model that validation runs, that
best.pt and checkpoints/top/ store and that the test evaluates (summary.json says so in
"averaged_weights"). Its state (the averaged weights and how many updates they hold) is a TrainState
component, so a resumed run continues the same average.

- ema: after every optimizer step, avg = decay * avg + (1 - decay) * w over parameters and buffers
  (get_ema_multi_avg_fn); with `warmup` the decay is min(decay, (1 + step) / (10 + step)), as timm.
- swa: after each epoch past the first `start` fraction of the run, an equal-weight average of
  the epoch-end weights (AveragedModel's default), then update_bn recomputes the batch-norm
  statistics of the average over the training split. With `lr` set, SWALR takes over the learning
  rate from then on (annealing to `lr` over `anneal_epochs`), replacing the run's schedule."""

import math

import torch
from omegaconf import DictConfig
from torch.optim.swa_utils import SWALR, AveragedModel, get_ema_multi_avg_fn, update_bn


class Averaging:
    def __init__(self, model: torch.nn.Module, kind: str, cfg: DictConfig, epochs: int):
        self.kind, self.cfg = kind, cfg
        self.averaged = AveragedModel(model, use_buffers=kind == "ema")
        self.model = model
        self.updates = 0  # how many times the average was updated (n_averaged, without a device read)
        self.first_epoch = math.floor(cfg.start * epochs) + 1 if kind == "swa" else None

    def describe(self) -> str:
        if self.kind == "ema":
            warmup = ", warmup" if self.cfg.warmup else ""
            return f"ema (decay {self.cfg.decay}{warmup}): validation, best.pt and the test use the averaged weights"
        return (
            f"swa (from epoch {self.first_epoch}, batch-norm statistics recomputed): validation, best.pt "
            "and the test use the averaged weights from then on"
        )

    @property
    def active(self) -> bool:
        return self.updates > 0

    def after_step(self, step: int) -> None:
        """EMA: fold the weights after optimizer step number `step` into the average."""
        if self.kind != "ema":
            return
        decay = self.cfg.decay
        if self.cfg.warmup:
            decay = min(decay, (1 + step) / (10 + step))
        self.averaged.multi_avg_fn = get_ema_multi_avg_fn(decay)
        self.averaged.update_parameters(self.model)
        self.updates += 1

    def after_epoch(self, epoch: int, train_inputs) -> None:
        """SWA: after epoch number `epoch` (1-based), average it in and recompute the batch-norm
        statistics over `train_inputs()` (an iterable of input batches)."""
        if self.kind != "swa" or epoch < self.first_epoch:
            return
        self.averaged.update_parameters(self.model)
        self.updates += 1
        update_bn(train_inputs(), self.averaged)

    def weights(self) -> dict:
        """The averaged model's weights, under the plain model's keys (what best.pt holds)."""
        return self.averaged.module.state_dict()

    def state_dict(self) -> dict:
        return {"averaged": self.averaged.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.averaged.load_state_dict(state["averaged"])
        self.updates = state["updates"]


class SWASchedule:
    """The run's Schedule until SWA begins, then SWALR (stepped once per epoch), for swa.lr set."""

    def __init__(self, schedule, optimizer: torch.optim.Optimizer, cfg: DictConfig, first_epoch: int):
        self.main, self.first_epoch = schedule, first_epoch
        self.swa = SWALR(optimizer, swa_lr=cfg.lr, anneal_epochs=max(cfg.anneal_epochs, 1))
        self.epochs = 0  # epochs ended

    @property
    def lr(self) -> float:
        return self.main.lr

    @property
    def plateau(self) -> bool:
        return self.main.plateau

    def after_batch(self) -> None:
        if self.epochs < self.first_epoch:  # through the first averaged epoch
            self.main.after_batch()

    def after_epoch(self, val_loss) -> None:
        self.epochs += 1
        if self.epochs >= self.first_epoch:
            self.swa.step()
        else:
            self.main.after_epoch(val_loss)

    def state_dict(self) -> dict:
        return {"main": self.main.state_dict(), "swa": self.swa.state_dict(), "epochs": self.epochs}

    def load_state_dict(self, state: dict) -> None:
        self.main.load_state_dict(state["main"])
        self.swa.load_state_dict(state["swa"])
        self.epochs = state["epochs"]


def build_averaging(cfg: DictConfig, model: torch.nn.Module, schedule, optimizer):
    """(Averaging or None, the schedule to use) for the run's regularization choices."""
    reg = cfg.regularization
    kinds = [k for k in ("ema", "swa") if k in reg]
    if not kinds:
        return None, schedule
    if len(kinds) > 1:
        from dlrun.errors import DlrunError

        raise DlrunError("choose one of regularization=[ema] and [swa], not both")
    kind = kinds[0]
    averaging = Averaging(model, kind, reg[kind], cfg.trainer.epochs)
    if kind == "swa" and reg.swa.lr is not None:
        schedule = SWASchedule(schedule, optimizer, reg.swa, averaging.first_epoch)
    return averaging, schedule
