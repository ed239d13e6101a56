"""The run's resumable state, in one object: everything checkpoints/last.pt holds, written by
`state_dict()` and restored by `load_state_dict()`. A resumed run continues exactly where last.pt
was written, mid-epoch included, with the same random draws."""

import time
from dataclasses import asdict, dataclass, field, fields

import torch

import dlrun
from dlrun.errors import DlrunError

# last.pt's layout. Checkpoints without a "format" key come from dlrun 0.1.0 before it was
# recorded; their layout is the same as format 1.
CHECKPOINT_FORMAT = 1


@dataclass
class Progress:
    """Where the run is."""

    epoch: int = 0  # epochs completed
    step: int = 0  # optimizer steps taken
    best: dict | None = None  # {"epoch", "value", "val"} of the best epoch by the monitor
    rows: list = field(default_factory=list)  # metrics.csv so far, a dict per epoch
    batch_in_epoch: int = 0  # batches done of the epoch in progress
    sums: dict = field(default_factory=dict)  # the running metric sums of that epoch (this rank's)
    elapsed: float = 0.0  # wall time of the run's earlier sessions (resume)


class RandomStreams:
    """Every random number generator the run draws from: torch's global one (initial weights,
    dropout; one state per DDP rank), the batch-order generator, the state it had at the start of
    the epoch in progress (to redraw that epoch's permutation on resume), the augmentation
    generator, and CUDA's."""

    def __init__(self, seed: int, device: torch.device, dist):
        self.device, self.dist = device, dist
        torch.manual_seed(seed)
        self.batches = torch.Generator().manual_seed(seed)
        self.epoch_start = self.batches.get_state()
        self.augment = torch.Generator().manual_seed(seed + 1)  # its own stream: resumed runs draw the same

    def state_dict(self) -> dict:
        return {
            "torch": self.dist.gather(torch.get_rng_state()),  # one per rank
            "batches": self.batches.get_state(),
            "epoch_start": self.epoch_start,
            "augment": self.augment.get_state(),
            "cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
        }

    def load_state_dict(self, rng: dict) -> None:
        # one state per rank (a single tensor: a one-process run saved before DDP support)
        states = [rng["torch"]] if isinstance(rng["torch"], torch.Tensor) else rng["torch"]
        if len(states) != self.dist.world:
            raise DlrunError(
                f"last.pt was saved by {len(states)} process(es); resume it with as many "
                f"(this run has {self.dist.world})"
            )
        torch.set_rng_state(states[self.dist.rank])
        self.batches.set_state(rng["batches"])
        self.epoch_start = rng["epoch_start"]
        if "augment" in rng:
            self.augment.set_state(rng["augment"])
        if self.device.type == "cuda" and rng["cuda"]:
            torch.cuda.set_rng_state_all(rng["cuda"])


class TrainState:
    """The objects whose state a run resumes (`components`: model, optimizer, schedule, grad
    scaler, early stopping, ...; None where a run has none), its progress and its random streams.
    Under DDP, last.pt holds each rank's own random state and running sums (gathered to rank 0)."""

    def __init__(self, components: dict, rng: RandomStreams, dist):
        self.components, self.dist = components, dist
        self.progress = Progress()
        self.rng = rng
        self.started = time.time()

    def elapsed(self) -> float:
        """Wall time of the whole run so far, earlier sessions included."""
        return round(self.progress.elapsed + time.time() - self.started, 3)

    def state_dict(self) -> dict:
        state = {name: c.state_dict() if c is not None else None for name, c in self.components.items()}
        progress = asdict(self.progress)
        sums = progress["sums"] if self.progress.batch_in_epoch else {}
        progress.update(elapsed=self.elapsed(), sums=self.dist.gather(sums) if self.dist.enabled else sums)
        return {
            **state,
            **progress,
            "rng": self.rng.state_dict(),
            "format": CHECKPOINT_FORMAT,
            "dlrun": dlrun.__version__,
        }

    def load_state_dict(self, state: dict, source: str) -> None:
        """Restore from a checkpoint read from `source` (named in errors)."""
        fmt = state.get("format", 1)
        needed = (name for name, c in self.components.items() if c is not None)  # a run's optional parts
        missing = [k for k in (*needed, *(f.name for f in fields(Progress)), "rng") if k not in state]
        if fmt != CHECKPOINT_FORMAT or missing:
            raise DlrunError(
                f"{source} was written by dlrun {state.get('dlrun', '0.1.0 or older')} "
                f"(checkpoint format {fmt}{', missing ' + ', '.join(missing) if missing else ''}); "
                f"this dlrun {dlrun.__version__} resumes format {CHECKPOINT_FORMAT}"
            )
        for name, component in self.components.items():
            if component is None or state.get(name) is None:
                continue
            try:
                component.load_state_dict(state[name])
            except (RuntimeError, KeyError, ValueError) as e:
                detail = " ".join(str(e).split("\n")[1:]).strip() or str(e)
                raise DlrunError(f"{source} does not match this run's {name}: {detail}") from e
        self.rng.load_state_dict(state["rng"])  # first: it refuses another number of processes
        self.progress = Progress(**{f.name: state[f.name] for f in fields(Progress)})
        if isinstance(self.progress.sums, list):  # one per DDP rank
            self.progress.sums = self.progress.sums[self.dist.rank]
