"""User components for the fault tests (imported by `dlrun` subprocesses through PYTHONPATH): a
dataset loader and a model that send a signal to their own process at a chosen moment."""

import os
from pathlib import Path

import torch


def killing_loader(sig: int = 9):
    """A dataset loader whose process dies (or is told to stop) while it loads."""
    os.kill(os.getpid(), sig)
    raise AssertionError("still alive after the signal")


def _fire(sig: int, once: str | None) -> None:
    if once:
        if Path(once).exists():
            return
        Path(once).touch()
    os.kill(os.getpid(), sig)


class SignalNet(torch.nn.Module):
    """A linear classifier that sends `sig` to its own process: `when` = setup (while it is built),
    val (epoch 1's validation pass) or test (the eval-mode pass after the `epochs`-th validation
    with no training in between: the final test of best.pt). `once`: a file; fires only if it does
    not exist yet (created when firing), so that a resumed run is not signalled again."""

    def __init__(
        self,
        input_shape,
        num_outputs,
        sig: int = 15,
        when: str = "val",
        epochs: int = 1,
        once: str | None = None,
        **ignored,
    ):
        super().__init__()
        self.sig, self.when, self.epochs, self.once = sig, when, epochs, once
        self.vals, self.trained = 0, False
        self.net = torch.nn.Linear(int(torch.tensor(input_shape).prod()), num_outputs)
        if when == "setup":
            _fire(sig, once)

    def forward(self, x):
        if self.training:
            self.trained = True
        elif self.trained:  # the first eval-mode batch after training: a validation pass
            self.trained = False
            self.vals += 1
            if self.when == "val" and self.vals == 1:
                _fire(self.sig, self.once)
        elif self.when == "test" and self.vals == self.epochs:  # no training since: the final test
            _fire(self.sig, self.once)
        return self.net(x.flatten(1))
