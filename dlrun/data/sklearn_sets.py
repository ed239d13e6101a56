"""Small real datasets that ship with scikit-learn (no download). Each split is cached under
`root` (dlrun-cache/), so scikit-learn, about a second to import, is needed only the first time."""

from pathlib import Path

import numpy as np
import torch

from dlrun.data.cache import CACHE_DIR, cached_tensors
from dlrun.data.core import RawData

ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def _test_split(x, y, num_classes: int, test_fraction: float, seed: int) -> RawData:
    """A seeded test split (stratified for classification)."""
    from sklearn.model_selection import train_test_split

    try:
        x_tr, x_te, y_tr, y_te = train_test_split(
            x, y, test_size=test_fraction, random_state=seed, stratify=y if num_classes else None
        )
    except ValueError as e:  # e.g. a test split smaller than the number of classes
        from dlrun.errors import DlrunError

        raise DlrunError(f"dataset.test_fraction={test_fraction}: {e}") from e
    return RawData(x_tr, y_tr, x_te, y_te, num_classes=num_classes)


def _cached_split(root: str | None, name: str, num_classes: int, test_fraction: float, seed: int, load) -> RawData:
    """`load()`'s (x, y) split by _test_split, read from the cache under `root` when it is there."""

    def split() -> dict:
        raw = _test_split(*load(), num_classes, test_fraction, seed)
        return {k: torch.from_numpy(np.ascontiguousarray(getattr(raw, k))) for k in ARRAYS}

    if root is None:
        arrays = split()
    else:
        path = Path(root).expanduser() / CACHE_DIR / f"{name}-test{test_fraction}-seed{seed}.pt"
        arrays = cached_tensors(path, split)
    return RawData(*(arrays[k].numpy() for k in ARRAYS), num_classes=num_classes)


def load_digits(test_fraction: float = 0.2, seed: int = 0, root: str | None = None) -> RawData:
    """1797 8x8 handwritten digits as (N, 1, 8, 8) images; a seeded stratified test split."""

    def load():
        from sklearn.datasets import load_digits as sk_digits

        d = sk_digits()
        return d.images.astype(np.float32)[:, None], d.target

    return _cached_split(root, "digits", 10, test_fraction, seed, load)


def load_diabetes(test_fraction: float = 0.2, seed: int = 0, root: str | None = None) -> RawData:
    """Regression: 442 patients, 10 features, a disease-progression score one year later."""

    def load():
        from sklearn.datasets import load_diabetes as sk_diabetes

        d = sk_diabetes()
        return d.data.astype(np.float32), d.target.astype(np.float32)

    return _cached_split(root, "diabetes", 0, test_fraction, seed, load)
