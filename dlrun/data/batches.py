from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset

from dlrun.data.core import HostSplit, Split


def iterate_batches(
    split: Split | HostSplit,
    batch_size: int,
    generator: torch.Generator | None = None,
    start_batch: int = 0,
    shard: tuple[int, int] = (0, 1),
    weights: torch.Tensor | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Batches of normalized inputs and targets on the training device, taken by index: a fresh
    permutation drawn from `generator` each call (training), or in order when no generator is given
    (evaluation). Both paths draw the same permutation, so they give the same batches.
    `start_batch` skips the first batches of the permutation (resuming inside an epoch).
    `shard=(rank, world)`: this process's share under DDP. Every rank draws the same permutation
    and takes every world-th index; for training the last `n % world` samples of the permutation
    are dropped so that all ranks take the same number of steps.
    `weights` (training, dataset.sampler=balanced; see sampling.py): an epoch is n indices drawn
    with replacement with these probabilities instead of a permutation."""
    n = len(split)
    if generator is None:
        order = None
    elif weights is None:
        order = torch.randperm(n, generator=generator)
    else:
        order = torch.multinomial(weights, n, replacement=True, generator=generator)
    rank, world = shard
    if world > 1:
        order = torch.arange(n) if order is None else order[: n - n % world]
        order = order[rank::world]
    if isinstance(split, HostSplit):
        yield from _loader_batches(split, batch_size, order, start_batch)
        return
    if order is None:
        for start in range(0, n, batch_size):
            yield split.x[start : start + batch_size], split.y[start : start + batch_size]
        return
    order = order.to(split.x.device, non_blocking=True)
    for start in range(start_batch * batch_size, len(order), batch_size):
        idx = order[start : start + batch_size]
        yield split.x[idx], split.y[idx]


class _ByIndexTensor(Dataset):
    """A dataset whose items are whole batches: indexing with a tensor of indices."""

    def __init__(self, split: HostSplit):
        self.split = split

    def __getitem__(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.split.rows(idx), self.split.y[idx]


def _loader_batches(split: HostSplit, batch_size: int, order: torch.Tensor | None, start_batch: int):
    """The DataLoader path: batches gathered in host memory (pinned for CUDA), then converted and
    normalized on the device."""
    order = torch.arange(len(split)) if order is None else order
    loader = DataLoader(
        _ByIndexTensor(split),
        sampler=order.split(batch_size)[start_batch:],
        batch_size=None,
        pin_memory=split.device.type == "cuda",
    )
    for x, y in loader:
        yield split.normalize(x), y.to(split.device, non_blocking=True)
