import math
from dataclasses import dataclass, field

import numpy as np
import torch

from dlrun.data.splits import split_indices

DEFAULT_MAX_MEMORY_GB = 4.0  # float32 size above which a dataset stays in host memory (see prepare)
STATS_CHUNK = 8192  # samples per chunk when computing normalization statistics


@dataclass
class RawData:
    """What a dataset loader returns. x arrays are (N, *input_shape), any numeric dtype (images
    stay uint8 until they are on the device); y are class indices (classification) or float targets
    (regression, num_classes=0)."""

    x_train: np.ndarray | torch.Tensor
    y_train: np.ndarray | torch.Tensor
    x_test: np.ndarray | torch.Tensor
    y_test: np.ndarray | torch.Tensor
    num_classes: int  # 0 for regression
    # JSON-able facts that predictions on new files need (a table's column encoding, class names):
    # saved in the run folder's data.json (dlrun.inference.stats)
    meta: dict = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


@dataclass
class Split:
    """The fast path: normalized float32 inputs and targets, all on the training device."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class HostSplit:
    """The fallback for data too large for the fast path: inputs stay in host memory in their stored
    dtype (uint8 images: 4x smaller than float32); a DataLoader feeds batches that are converted
    and normalized on the device (see batches.py)."""

    raw_x: torch.Tensor
    y: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor
    device: torch.device
    # rows of raw_x in this split (None: all): a memory-mapped raw_x stays on disk, never gathered whole
    index: torch.Tensor | None = None

    def rows(self, idx: torch.Tensor) -> torch.Tensor:
        return self.raw_x[idx if self.index is None else self.index[idx]]

    def __len__(self) -> int:
        return len(self.y)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sub(x.to(self.device, non_blocking=True).float(), self.mean).div_(self.std)


@dataclass
class Data:
    train: Split | HostSplit
    val: Split | HostSplit
    test: Split | HostSplit
    input_shape: tuple[int, ...]
    num_classes: int
    mean: torch.Tensor  # per-channel input statistics used to normalize, on the device
    std: torch.Tensor
    target_mean: float = 0.0  # regression: targets are standardized for training;
    target_std: float = 1.0  # rmse/mae are reported in the targets' own units (x target_std)
    meta: dict = field(default_factory=dict)  # the loader's RawData.meta (saved in data.json)

    @property
    def is_classification(self) -> bool:
        return self.num_classes > 0

    @property
    def num_outputs(self) -> int:
        return self.num_classes if self.is_classification else 1

    @property
    def in_memory(self) -> bool:
        return isinstance(self.train, Split)


def _as_tensor(a, dtype=None) -> torch.Tensor:
    t = a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))
    return t if dtype is None else t.to(dtype)


def channel_stats(
    x: torch.Tensor, device: torch.device, index: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std per channel (dim 1) over all other dims (of the rows `index`, default all),
    shaped to broadcast over a batch. Summed in float64 chunks on the device, so uint8 data is never
    converted (or, memory-mapped, read) whole."""
    dims = [0] + list(range(2, x.dim()))
    total = total_sq = 0.0
    chunks = x.split(STATS_CHUNK) if index is None else (x[i] for i in index.sort().values.split(STATS_CHUNK))
    for chunk in chunks:
        c = chunk.to(device).double()
        total = total + c.sum(dim=dims, keepdim=True)
        total_sq = total_sq + c.pow(2).sum(dim=dims, keepdim=True)
    n = (len(x) if index is None else len(index)) * math.prod(x.shape[2:])
    mean = total / n
    var = (total_sq - n * mean.pow(2)) / max(n - 1, 1)
    return mean.float(), var.clamp_min(0).sqrt().float().clamp_min(1e-8)


def float32_gb(raw: RawData, n_samples: int) -> float:
    return n_samples * math.prod(raw.input_shape) * 4 / 2**30


def check_split_sizes(n: int, n_train: int, n_test: int, val_fraction: float) -> None:
    """A split that leaves the training, validation or test set empty can never train: refused."""
    from dlrun.errors import DlrunError

    if n < 1:
        raise DlrunError("the dataset has no training sample")
    if n_train < 1:
        raise DlrunError(f"trainer.val_fraction={val_fraction} leaves no training sample (of {n})")
    if n_test < 1:
        raise DlrunError("the dataset's test split is empty")


def prepare(
    raw: RawData,
    val_fraction: float,
    seed: int,
    device: torch.device,
    train_subset: int | None = None,
    max_memory_gb: float = DEFAULT_MAX_MEMORY_GB,
    folds: int | None = None,
    fold: int = 0,
) -> Data:
    """Seeded train/val split (splits.py: a random `val_fraction`, possibly 0, or fold `fold` of
    `folds`) and a seeded `train_subset` of the training part, per-channel
    standardization with training statistics, then either the fast path (float32 tensors on the
    device, when train+val+test take at most `max_memory_gb` as float32) or HostSplits."""
    classification = raw.num_classes > 0
    y_dtype = torch.long if classification else torch.float32
    x, y = _as_tensor(raw.x_train), _as_tensor(raw.y_train, y_dtype)
    x_test, y_test = _as_tensor(raw.x_test), _as_tensor(raw.y_test, y_dtype)

    train_idx, val_idx = split_indices(y, val_fraction, seed, classification, folds, fold)
    if train_subset:
        train_idx = train_idx[:train_subset]  # a seeded random subset: train_idx is in random order
    check_split_sizes(len(y), len(train_idx), len(y_test), val_fraction)

    mean, std = channel_stats(x, device, train_idx)
    target_mean, target_std = 0.0, 1.0
    if not classification:
        target_mean, target_std = y[train_idx].mean().item(), y[train_idx].std().clamp_min(1e-8).item()
        y, y_test = (y - target_mean) / target_std, (y_test - target_mean) / target_std

    in_memory = float32_gb(raw, len(train_idx) + len(val_idx) + len(y_test)) <= max_memory_gb

    def split(xs: torch.Tensor, ys: torch.Tensor, idx: torch.Tensor | None = None) -> Split | HostSplit:
        if in_memory:
            xs = xs if idx is None else xs[idx]
            return Split(torch.sub(xs.to(device, torch.float32), mean).div_(std), ys.to(device))
        return HostSplit(xs, ys, mean, std, device, index=idx)

    return Data(
        train=split(x, y[train_idx], train_idx),
        val=split(x, y[val_idx], val_idx),
        test=split(x_test, y_test),
        input_shape=raw.input_shape,
        num_classes=raw.num_classes,
        mean=mean,
        std=std,
        target_mean=target_mean,
        target_std=target_std,
        meta=raw.meta,
    )
