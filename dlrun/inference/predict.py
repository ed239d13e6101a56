"""Inputs for `dlrun predict`: a CSV table (encoded with the run's saved column encoding), an NPZ
(array `x`, else `x_test`) or a folder of images (every image under it, decoded as the run's
images were: its mode and size). Returns the inputs and one identifier per row."""

from pathlib import Path

import numpy as np

from dlrun.errors import DlrunError


def read_inputs(path: str, stats: dict) -> tuple[np.ndarray, list[str], str]:
    """(x (N, *input_shape), row ids, the id column's name)."""
    p = Path(path)
    meta = stats.get("meta") or {}
    if p.is_dir():
        x, ids = _images(p, stats)
        return x, ids, "path"
    if not p.is_file():
        raise DlrunError(f"{path}: no such file or folder")
    suffix = p.suffix.lower()
    if suffix == ".csv":
        if "encoding" not in meta:
            raise DlrunError(
                f"{path}: this run was not trained on a table (dataset=csv), so it cannot "
                f"read a CSV; give an .npz or an image folder"
            )
        from dlrun.data.tabular import encode

        x, _ = encode(str(p), meta["encoding"], with_target=False)
        return x, [str(i) for i in range(len(x))], "row"
    if suffix == ".npz":
        try:
            with np.load(p, allow_pickle=False) as d:
                key = next((k for k in ("x", "x_test") if k in d.files), None)
                if key is None:
                    raise DlrunError(f"{path}: no array 'x' or 'x_test' (it has: {', '.join(d.files)})")
                x = d[key]
        except (OSError, ValueError) as e:
            raise DlrunError(f"{path}: not a readable .npz file ({e})") from e
        return x, [str(i) for i in range(len(x))], "row"
    raise DlrunError(f"{path}: give a .csv, an .npz or a folder of images")


def _images(folder: Path, stats: dict) -> tuple[np.ndarray, list[str]]:
    from dlrun.data.image_folder import _images_in, decode_into

    shape = stats["input_shape"]
    image = (stats.get("meta") or {}).get("image")
    if image is None:
        if len(shape) != 3 or shape[0] not in (1, 3):
            raise DlrunError(f"{folder}: this run's inputs are {tuple(shape)}, not images (C, H, W)")
        image = {"mode": "grayscale" if shape[0] == 1 else "rgb", "size": shape[1:]}
    files = _images_in(folder)
    if not files:
        raise DlrunError(f"{folder}: no image files under it")
    x = np.empty((len(files), *shape), dtype=np.uint8)
    ok = decode_into(files, x, image["mode"], tuple(image["size"]))
    if not ok:
        raise DlrunError(f"{folder}: none of its {len(files)} images could be read")
    return x[: len(ok)], [str(files[i].relative_to(folder)) for i in ok]
