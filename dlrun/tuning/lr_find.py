"""The learning-rate range test (Smith, 2017; the fastai / Lightning "lr finder"): train from the
run's initial weights with the learning rate raised exponentially from `start` to `end` over
`steps` batches, smooth the loss (a bias-corrected moving average), and stop when it blows up
(beyond `diverge` times its lowest value, or non-finite). The suggested lr is where the smoothed
loss falls fastest against log(lr), before its minimum."""

import math
from dataclasses import dataclass

from dlrun.errors import DlrunError


def smoothing(steps: int) -> float:
    """The moving average's weight: a window of about a tenth of the test (0.9 for 100 steps)."""
    return min(0.98, max(0.8, 1 - 10 / steps))


@dataclass
class RangeTest:
    lrs: list[float]
    losses: list[float]  # raw batch losses
    smoothed: list[float]
    stopped_early: bool  # the loss blew up before `end`
    suggestion: float | None  # None: the loss never went down


def check_range(start: float, end: float, steps: int) -> None:
    if steps < 10:
        raise DlrunError(f"lr-find: --steps {steps}: the range test needs at least 10 steps")
    if not 0 < start < end:
        raise DlrunError(f"lr-find: the range --start {start:g} --end {end:g} is empty (need 0 < start < end)")


def lr_at(step: int, start: float, end: float, steps: int) -> float:
    return start * (end / start) ** (step / (steps - 1))


def run_range_test(trainer, start: float, end: float, steps: int, diverge: float = 4.0) -> RangeTest:
    """Uses the Trainer's model, optimizer, loss and training batches; leaves its weights changed."""
    from dlrun.data import iterate_batches

    check_range(start, end, steps)
    lrs, losses, smoothed = [], [], []
    avg, lowest, stopped, beta = 0.0, math.inf, False, smoothing(steps)
    trainer.net.train()

    def batches():
        while True:
            yield from iterate_batches(trainer.data.train, trainer.batch_size, trainer.state.rng.batches)

    for step, (x, y) in zip(range(steps), batches()):
        lr = lr_at(step, start, end, steps)
        for group in trainer.optimizer.param_groups:
            group["lr"] = lr
        out = trainer.net(trainer.to_input(x))
        loss = trainer.loss(out, y)
        value = loss.item()
        if not math.isfinite(value):
            stopped = True
            break
        trainer.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        trainer.optimizer.step()
        avg = beta * avg + (1 - beta) * value
        smooth = avg / (1 - beta ** (step + 1))
        lrs.append(lr), losses.append(value), smoothed.append(smooth)
        lowest = min(lowest, smooth)
        if smooth > diverge * lowest:
            stopped = True
            break
    return RangeTest(lrs, losses, smoothed, stopped, suggest(lrs, smoothed))


def suggest(lrs: list[float], smoothed: list[float]) -> float | None:
    """The lr of the steepest fall of the smoothed loss (against log lr), before its minimum and
    after the first tenth of the test (the moving average is still settling there)."""
    lowest = min(range(len(smoothed)), key=smoothed.__getitem__) if smoothed else 0
    skip = max(1, len(smoothed) // 10)
    slopes = [((smoothed[i + 1] - smoothed[i - 1]) / math.log(lrs[i + 1] / lrs[i - 1]), i) for i in range(skip, lowest)]
    if not slopes:
        return None
    slope, i = min(slopes)
    return lrs[i] if slope < 0 else None


def write_csv(test: RangeTest, path) -> None:
    lines = ["step,lr,loss,smoothed_loss"] + [
        f"{i + 1},{lr:.6g},{loss:.6g},{smooth:.6g}"
        for i, (lr, loss, smooth) in enumerate(zip(test.lrs, test.losses, test.smoothed))
    ]
    path.write_text("\n".join(lines) + "\n")


def plot(test: RangeTest, path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(test.lrs, test.losses, color="0.75", linewidth=0.8, label="batch loss")
    ax.plot(test.lrs, test.smoothed, color="C0", label="smoothed")
    if test.suggestion is not None:
        ax.axvline(test.suggestion, color="C3", linestyle="--", label=f"suggested lr {test.suggestion:.2g}")
    ax.set_xscale("log")
    top = max(test.smoothed[0] * 1.5, min(test.smoothed) * 2) if test.smoothed else None
    if top:
        ax.set_ylim(top=min(top, max(test.losses)))
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
