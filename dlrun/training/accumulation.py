"""`trainer.accumulate=N`: gradients of N consecutive batches are summed before one optimizer
step, so the effective batch is N x batch_size. Each batch's loss is scaled by 1/(batches in its
group), so a step sees the mean gradient over its group, as one big batch would. The last group
of an epoch may be shorter (the epoch's batches are not a multiple of N): it still steps.

The schedule, warmup, checkpoint_every_steps and `step` count optimizer steps. A run stops,
checkpoints and resumes only at optimizer-step boundaries (never with half-summed gradients)."""

import math


class Accumulation:
    def __init__(self, every: int, batches_per_epoch: int):
        self.every, self.batches = every, batches_per_epoch

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.batches / self.every)

    def starts(self, batch: int) -> bool:
        """Batch number `batch` (0-based, in the epoch) begins a group: zero the gradients."""
        return batch % self.every == 0

    def scale(self, batch: int) -> float:
        """The factor of batch `batch`'s loss: 1 / the size of its group."""
        first = batch - batch % self.every
        return 1.0 / min(self.every, self.batches - first)

    def steps_after(self, done: int) -> bool:
        """After `done` batches of the epoch, the optimizer steps."""
        return done % self.every == 0 or done == self.batches
