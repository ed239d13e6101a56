from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class RawData:
    """What a dataset loader returns. x arrays are (N, *input_shape); y are class indices
    (classification) or float targets (regression, num_classes=0)."""

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
    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class Data:
    train: Split
    val: Split
    test: Split
    input_shape: tuple[int, ...]
    num_classes: int

    @property
    def is_classification(self) -> bool:
        return self.num_classes > 0

    @property
    def num_outputs(self) -> int:
        return self.num_classes if self.is_classification else 1


def _as_tensor(a, dtype) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a).to(dtype)


def prepare(raw: RawData, val_fraction: float, seed: int, device: torch.device) -> Data:
    """Seeded train/val split, per-channel standardization with training statistics, tensors on device."""
    y_dtype = torch.long if raw.num_classes > 0 else torch.float32
    x, y = _as_tensor(raw.x_train, torch.float32), _as_tensor(raw.y_train, y_dtype)
    x_test, y_test = _as_tensor(raw.x_test, torch.float32), _as_tensor(raw.y_test, y_dtype)

    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_val = max(1, round(val_fraction * len(y)))
    val_idx, train_idx = order[:n_val], order[n_val:]

    # statistics per channel (dim 1), over the training part only
    dims = [0] + list(range(2, x.dim()))
    mean = x[train_idx].mean(dim=dims, keepdim=True)
    std = x[train_idx].std(dim=dims, keepdim=True).clamp_min(1e-8)

    def split(xs, ys) -> Split:
        return Split(((xs - mean) / std).to(device), ys.to(device))

    return Data(train=split(x[train_idx], y[train_idx]), val=split(x[val_idx], y[val_idx]),
                test=split(x_test, y_test), input_shape=raw.input_shape, num_classes=raw.num_classes)
