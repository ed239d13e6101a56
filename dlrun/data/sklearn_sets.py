"""Small real datasets that ship with scikit-learn (no download)."""

import numpy as np

from dlrun.data.core import RawData


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> RawData:
    """1797 8x8 handwritten digits as (N, 1, 8, 8) images; a seeded stratified test split."""
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    d = sk_digits()
    x = d.images.astype(np.float32)[:, None]
    x_tr, x_te, y_tr, y_te = train_test_split(x, d.target, test_size=test_fraction,
                                              random_state=seed, stratify=d.target)
    return RawData(x_tr, y_tr, x_te, y_te, num_classes=10)
