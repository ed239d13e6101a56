"""The reference training loops both benchmark scripts time: the bare loop of NOTES and the same
loop fed by a DataLoader. Forward, loss, backward, Adam step, nothing else. With `fused`, the
loop steps torch's fused Adam as dlrun does (conf/optim/adam.yaml): the two then differ only in
what the loop itself does."""

import time

import torch

BATCH = 100


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def index_batches(x: torch.Tensor, y: torch.Tensor):
    """Batches by index from a fresh random permutation, on the tensors' device (the bare loop)."""
    order = torch.randperm(len(y), device=x.device)
    for start in range(0, len(y), BATCH):
        idx = order[start:start + BATCH]
        yield x[idx], y[idx]


def loader_batches(loader, device: torch.device):
    """A DataLoader's batches moved to `device` (non-blocking from pinned memory on CUDA)."""
    for x, y in loader:
        yield x.to(device, non_blocking=loader.pin_memory), y.to(device, non_blocking=loader.pin_memory)


def plain_epoch(model: torch.nn.Module, batches, samples: int, device: torch.device,
                clock=time.perf_counter, fused: bool = False) -> float:
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
