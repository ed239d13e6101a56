import math
from dataclasses import dataclass

import numpy as np
import torch

DEFAULT_MAX_MEMORY_GB = 4.0  # float32 size above which a dataset stays in host memory (see prepare)
STATS_CHUNK = 8192           # samples per chunk when computing normalization statistics


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
    mean: torch.Tensor        # per-channel input statistics used to normalize, on the device
    std: torch.Tensor
    target_mean: float = 0.0  # regression: targets are standardized for training;
    target_std: float = 1.0   # rmse/mae are reported in the targets' own units (x target_std)

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


def channel_stats(x: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std per channel (dim 1) over all other dims, shaped to broadcast over a batch.
    Summed in float64 chunks on the device, so uint8 data is never converted whole."""
    dims = [0] + list(range(2, x.dim()))
    total = total_sq = 0.0
    for chunk in x.split(STATS_CHUNK):
        c = chunk.to(device).double()
        total = total + c.sum(dim=dims, keepdim=True)
        total_sq = total_sq + c.pow(2).sum(dim=dims, keepdim=True)
    n = x.numel() / x.shape[1] if x.dim() > 1 else x.numel()
    mean = total / n
    var = (total_sq - n * mean.pow(2)) / max(n - 1, 1)
    return mean.float(), var.clamp_min(0).sqrt().float().clamp_min(1e-8)


def float32_gb(raw: RawData, n_samples: int) -> float:
    return n_samples * math.prod(raw.input_shape) * 4 / 2**30


def check_split_sizes(n: int, n_train: int, n_test: int, val_fraction: float) -> None:
    """A split that leaves the training, validation or test set empty can never train: refused."""
    from dlrun.errors import DlrunError

    if n < 2:
        raise DlrunError(f"the dataset has {n} training sample(s): too few for a training and a validation set")
    if n_train < 1:
        raise DlrunError(f"trainer.val_fraction={val_fraction} leaves no training sample (of {n})")
    if n_test < 1:
        raise DlrunError("the dataset's test split is empty")


def prepare(raw: RawData, val_fraction: float, seed: int, device: torch.device,
            train_subset: int | None = None, max_memory_gb: float = DEFAULT_MAX_MEMORY_GB) -> Data:
    """Seeded train/val split (and a seeded `train_subset` of the training part), per-channel
    standardization with training statistics, then either the fast path (float32 tensors on the
    device, when train+val+test take at most `max_memory_gb` as float32) or HostSplits."""
    classification = raw.num_classes > 0
    y_dtype = torch.long if classification else torch.float32
    x, y = _as_tensor(raw.x_train), _as_tensor(raw.y_train, y_dtype)
    x_test, y_test = _as_tensor(raw.x_test), _as_tensor(raw.y_test, y_dtype)

    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_val = max(1, round(val_fraction * len(y)))
    val_idx, train_idx = order[:n_val], order[n_val:]
    if train_subset:
        train_idx = train_idx[:train_subset]  # a seeded random subset: `order` is a permutation
    check_split_sizes(len(y), len(train_idx), len(y_test), val_fraction)

    x_train = x[train_idx]
    mean, std = channel_stats(x_train, device)
    target_mean, target_std = 0.0, 1.0
    if not classification:
        target_mean, target_std = y[train_idx].mean().item(), y[train_idx].std().clamp_min(1e-8).item()
        y, y_test = (y - target_mean) / target_std, (y_test - target_mean) / target_std

    in_memory = float32_gb(raw, len(train_idx) + n_val + len(y_test)) <= max_memory_gb

    def split(xs: torch.Tensor, ys: torch.Tensor) -> Split | HostSplit:
        if in_memory:
            return Split(torch.sub(xs.to(device, torch.float32), mean).div_(std), ys.to(device))
        return HostSplit(xs, ys, mean, std, device)

    return Data(train=split(x_train, y[train_idx]), val=split(x[val_idx], y[val_idx]),
                test=split(x_test, y_test), input_shape=raw.input_shape, num_classes=raw.num_classes,
                mean=mean, std=std, target_mean=target_mean, target_std=target_std)
