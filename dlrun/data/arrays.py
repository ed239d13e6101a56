"""Your own arrays: `dataset=npz dataset.path=FILE`, a NumPy .npz holding x_train, y_train, x_test,
y_test. Inputs keep their shape per sample ((N, F) features, (N, C, L) signals, (N, C, H, W)
images) and dtype (uint8 images stay uint8 until they reach the device). Integer labels make a
classification task with max(label) + 1 classes; float targets a regression (`task=` overrides)."""

from pathlib import Path

import numpy as np

from dlrun.data.core import RawData
from dlrun.errors import DlrunError

KEYS = ("x_train", "y_train", "x_test", "y_test")


def check_npz(path: str, task: str = "auto") -> int:
    """The file's problems as one line, before a run folder exists; returns the class count (0:
    regression)."""
    if task not in ("auto", "classification", "regression"):
        raise DlrunError(f"dataset.task must be auto, classification or regression (got {task!r})")
    p = Path(path).expanduser()
    if p.is_dir():
        raise DlrunError(f"{path}: is a folder, not a file (give the .npz file)")
    if not p.is_file():
        raise DlrunError(f"{path}: no such file")
    try:
        with np.load(p, allow_pickle=False) as d:
            missing = [k for k in KEYS if k not in d.files]
            if missing:
                raise DlrunError(
                    f"{path}: no array {', '.join(missing)} (it has: {', '.join(d.files)}; needs {', '.join(KEYS)})"
                )
            a = {k: d[k] for k in KEYS}
    except (OSError, ValueError) as e:
        raise DlrunError(f"{path}: not a readable .npz file ({e})") from e
    for s in ("train", "test"):
        x, y = a[f"x_{s}"], a[f"y_{s}"]
        if len(x) == 0:
            raise DlrunError(f"{path}: x_{s} is empty")
        if len(x) != len(y) or y.ndim != 1:
            raise DlrunError(f"{path}: y_{s} must be one value per row of x_{s} (x_{s} {x.shape}, y_{s} {y.shape})")
        if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
            raise DlrunError(f"{path}: x_{s} holds {x.dtype}, not numbers")
    if a["x_train"].shape[1:] != a["x_test"].shape[1:]:
        raise DlrunError(f"{path}: x_train rows are {a['x_train'].shape[1:]}, x_test rows {a['x_test'].shape[1:]}")
    ints = all(np.issubdtype(a[k].dtype, np.integer) for k in ("y_train", "y_test"))
    if task == "regression" or (task == "auto" and not ints):
        return 0
    y = np.concatenate([a["y_train"], a["y_test"]])
    if not np.all(np.mod(y, 1) == 0) or y.min() < 0:
        raise DlrunError(f"{path}: classification needs labels 0..K-1 in y_train/y_test (got {y.min()}..{y.max()})")
    k = int(y.max()) + 1
    if len(np.unique(a["y_train"])) < 2:
        raise DlrunError(f"{path}: y_train has one class; classification needs at least 2")
    return k


def load_npz(path: str, task: str = "auto") -> RawData:
    k = check_npz(path, task)
    with np.load(Path(path).expanduser(), allow_pickle=False) as d:
        a = {key: d[key] for key in KEYS}
    y_dtype = np.int64 if k else np.float32
    return RawData(a["x_train"], a["y_train"].astype(y_dtype), a["x_test"], a["y_test"].astype(y_dtype), num_classes=k)
