"""MNIST-1D, generated offline by the `mnist1d` package and cached as .npz under `root`."""

from pathlib import Path

import numpy as np

from dlrun.data.core import RawData


def load_mnist1d(root: str, seed: int = 42) -> RawData:
    cache = Path(root).expanduser() / "mnist1d" / f"mnist1d_seed{seed}.npz"
    if not cache.exists():
        # imported here: mnist1d pulls in scipy (~2 s), only needed to generate the cache
        from mnist1d.data import get_dataset_args, make_dataset

        args = get_dataset_args()
        args.seed = seed
        d = make_dataset(args)  # deterministic, no network (get_dataset would try a download)
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, x=d["x"], y=d["y"], x_test=d["x_test"], y_test=d["y_test"])
        tmp.replace(cache)
    d = np.load(cache)
    # signals become (N, 1 channel, 40 steps)
    return RawData(d["x"][:, None, :], d["y"], d["x_test"][:, None, :], d["y_test"], num_classes=10)
