"""MNIST-1D, generated offline by the `mnist1d` package and cached as .npz under `root`."""

from pathlib import Path

import numpy as np

from dlrun.data.cache import warn_rebuilding
from dlrun.data.core import RawData

ARRAYS = ("x", "y", "x_test", "y_test")


def _generate(cache: Path, seed: int) -> None:
    # imported here: mnist1d pulls in scipy (~2 s), only needed to generate the cache
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = seed
    d = make_dataset(args)  # deterministic, no network (get_dataset would try a download)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, **{k: d[k] for k in ARRAYS})
    tmp.replace(cache)


def _read(cache: Path) -> dict:
    with np.load(cache) as d:
        return {k: d[k] for k in ARRAYS}


def load_mnist1d(root: str, seed: int = 42) -> RawData:
    cache = Path(root).expanduser() / "mnist1d" / f"mnist1d_seed{seed}.npz"
    if not cache.exists():
        _generate(cache, seed)
    try:
        d = _read(cache)
    except Exception as e:  # truncated, not an .npz, an array missing: generate it again
        warn_rebuilding(cache, e)
        _generate(cache, seed)
        d = _read(cache)
    # signals become (N, 1 channel, 40 steps)
    return RawData(d["x"][:, None, :], d["y"], d["x_test"][:, None, :], d["y_test"], num_classes=10)
