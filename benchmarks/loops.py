"""The training loops both benchmark scripts time: dlrun's own epoch, the bare loop of NOTES and
the same loop fed by a DataLoader (forward, loss, backward, Adam step, nothing else). With
`fused`, the bare loop steps torch's fused Adam as dlrun does (conf/optim/adam.yaml): the two then
differ only in what the loop itself does. And the order the scripts run them in."""

import time

import torch

BATCH = 100


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def rotation(items: list, i: int) -> list:
    """The order of repeat `i`: rotating by one each repeat gives each item each position."""
    k = i % len(items)
    return items[k:] + items[:k]


def dlrun_epoch(trainer, clock=time.perf_counter) -> float:
    """One `Trainer.train_epoch` (the pass whose samples_per_s metrics.csv reports); samples/s."""
    from dlrun.reporting.console import EpochReporter

    t0 = clock()
    trainer.train_epoch(EpochReporter(1, trainer.steps_per_epoch, enabled=False))
    sync(trainer.device)
    return len(trainer.data.train) / (clock() - t0)


def index_batches(x: torch.Tensor, y: torch.Tensor):
    """Batches by index from a fresh random permutation, on the tensors' device (the bare loop)."""
    order = torch.randperm(len(y), device=x.device)
    for start in range(0, len(y), BATCH):
        idx = order[start : start + BATCH]
        yield x[idx], y[idx]


def loader_batches(loader, device: torch.device):
    """A DataLoader's batches moved to `device` (non-blocking from pinned memory on CUDA)."""
    for x, y in loader:
        yield x.to(device, non_blocking=loader.pin_memory), y.to(device, non_blocking=loader.pin_memory)


def plain_epoch(
    model: torch.nn.Module, batches, samples: int, device: torch.device, clock=time.perf_counter, fused: bool = False
) -> float:
    """One epoch of `batches` (an iterable made before the clock starts, consumed after); samples/s.
    Adam as a tutorial makes it (torch's default implementation), or fused."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused or None)
    model.train()
    t0 = clock()
    for x, y in batches:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    sync(device)
    return samples / (clock() - t0)
