"""Multi-process data-parallel training with PyTorch's own engine (DistributedDataParallel),
started by torchrun: `torchrun --nproc_per_node=N -m dlrun trainer.strategy=ddp ...`.

Every rank builds the same run; rank 0 alone writes the run folder. Ranks agree on the run
folder (rank 0's, broadcast), on each epoch's permutation (same seeded generator, one shard per
rank), on metrics (sums all-reduced) and on when to stop (a flag all-reduced each step)."""

import os
from dataclasses import dataclass

import torch

from dlrun.errors import DlrunError
from dlrun.training import torchrun_rank


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def sum(self, values: dict) -> dict:
        """All-reduce a dict of numbers/tensors by sum (a no-op on one process)."""
        if not self.enabled or not values:
            return values
        keys = list(values)  # the same order on every rank: the same code built it
        flat = torch.stack([torch.as_tensor(values[k], dtype=torch.float64).cpu() for k in keys])
        flat = flat.to(self.comm_device)
        torch.distributed.all_reduce(flat)
        return dict(zip(keys, flat.cpu().tolist()))

    def agree(self, **flags: bool) -> dict[str, bool]:
        """A flag any rank raised is raised on every rank (one all-reduce; as given on one process):
        every rank learns of a divergence or a stop signal on any rank at the same step."""
        if not self.enabled:
            return flags
        return {k: v > 0 for k, v in self.sum(flags).items()}

    def reduce(self, tensor: torch.Tensor) -> torch.Tensor:
        """All-reduce a tensor by sum (a no-op on one process)."""
        if not self.enabled:
            return tensor
        out = tensor.to(self.comm_device).clone()
        torch.distributed.all_reduce(out)
        return out.to(tensor.device)

    def broadcast(self, obj):
        """Rank 0's `obj` on every rank."""
        if not self.enabled:
            return obj
        box = [obj]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, obj) -> list:
        """Every rank's `obj`, in rank order, on every rank."""
        if not self.enabled:
            return [obj]
        out = [None] * self.world
        torch.distributed.all_gather_object(out, obj)
        return out

    @property
    def comm_device(self) -> torch.device:
        backend = torch.distributed.get_backend()
        return torch.device("cuda", self.local_rank) if backend == "nccl" else torch.device("cpu")


def setup(strategy: str, device_name: str) -> Dist:
    """Join the process group when the run is distributed; check strategy and launcher agree."""
    rank = torchrun_rank()
    if strategy != "ddp":
        if rank is not None and int(os.environ["WORLD_SIZE"]) > 1:
            raise DlrunError("started by torchrun with several processes: add trainer.strategy=ddp")
        return Dist()
    if rank is None:
        raise DlrunError(
            "trainer.strategy=ddp runs under torchrun: torchrun --nproc_per_node=N -m dlrun trainer.strategy=ddp ..."
        )
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    use_cuda = device_name != "cpu" and torch.cuda.is_available()
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if use_cuda else "gloo")
    if use_cuda:
        torch.cuda.set_device(local_rank)
    return Dist(rank=torch.distributed.get_rank(), world=torch.distributed.get_world_size(), local_rank=local_rank)


def device_for(dist: Dist, device_name: str) -> str:
    """Under DDP on CUDA each rank takes its own GPU (LOCAL_RANK)."""
    if dist.enabled and device_name in ("auto", "cuda") and torch.cuda.is_available():
        return f"cuda:{dist.local_rank}"
    return device_name
