"""Small real datasets that ship with scikit-learn (no download)."""

import numpy as np

from dlrun.data.core import RawData


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


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> RawData:
    """1797 8x8 handwritten digits as (N, 1, 8, 8) images; a seeded stratified test split."""
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    return _test_split(d.images.astype(np.float32)[:, None], d.target, 10, test_fraction, seed)


def load_diabetes(test_fraction: float = 0.2, seed: int = 0) -> RawData:
    """Regression: 442 patients, 10 features, a disease-progression score one year later."""
    from sklearn.datasets import load_diabetes as sk_diabetes

    d = sk_diabetes()
    return _test_split(d.data.astype(np.float32), d.target.astype(np.float32), 0, test_fraction, seed)
