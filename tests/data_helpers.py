"""Tiny datasets for the data tests: IDX files as torchvision's MNIST classes read them."""

import gzip
import struct
from pathlib import Path

import numpy as np

from dlrun.data.vision import IDX_FILES


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    """IDX: magic (0, 0, 0x08 = ubyte, ndim), one big-endian int32 per dim, then the bytes."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    data = struct.pack(">BBBB", 0, 0, 0x08, a.ndim) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes()
    path = path.with_name(path.name + ".gz") if gz else path
    path.parent.mkdir(parents=True, exist_ok=True)
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)
    return path


def tiny_images(labels: np.ndarray, size: int = 12) -> np.ndarray:
    """Image i is filled with 20 * label[i] (so labels can be read back from the pixels), plus a
    bright square whose position depends on the label (so a model can learn it)."""
    x = np.repeat((20 * labels).astype(np.uint8)[:, None, None], size * size, 1).reshape(-1, size, size)
    for i, label in enumerate(labels):
        r = 2 * (label % 4)
        x[i, r : r + 3, r : r + 3] = 255
    return x


def write_tiny_idx_set(
    folder: Path, n_train: int = 60, n_test: int = 20, gz: bool = False, train_labels: np.ndarray | None = None
) -> dict:
    """The four MNIST-layout IDX files in `folder`; returns the arrays written."""
    rng = np.random.default_rng(0)
    y_train = rng.integers(0, 4, n_train) if train_labels is None else np.asarray(train_labels)
    y_test = rng.integers(0, 4, n_test)
    arrays = dict(zip(IDX_FILES, (tiny_images(y_train), y_train, tiny_images(y_test), y_test)))
    for name, a in arrays.items():
        write_idx(folder / name, a, gz=gz)
    return arrays
