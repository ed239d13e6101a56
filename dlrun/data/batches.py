from collections.abc import Iterator

import torch

from dlrun.data.core import Split


def iterate_batches(split: Split, batch_size: int, generator: torch.Generator | None = None,
                    start_batch: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Batches taken by index from the in-memory split: a fresh permutation drawn from `generator`
    each call (training), or in order when no generator is given (evaluation). `start_batch`
    skips the first batches of the permutation (resuming inside an epoch)."""
    n = len(split)
    if generator is None:
        for start in range(0, n, batch_size):
            yield split.x[start:start + batch_size], split.y[start:start + batch_size]
        return
    order = torch.randperm(n, generator=generator).to(split.x.device, non_blocking=True)
    for start in range(start_batch * batch_size, n, batch_size):
        idx = order[start:start + batch_size]
        yield split.x[idx], split.y[idx]
