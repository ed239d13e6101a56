"""Your own table: `dataset=csv dataset.path=FILE dataset.target=COLUMN`.

Every column but the target is a feature:
- a column whose values all parse as numbers is numeric; a missing value (empty, NA, NaN, null, ?)
  is replaced by the column's mean over the training file; prepare() then standardizes each column
  with the training split's mean and std;
- a column none of whose values parse as numbers (or one named in `dataset.categorical`) is
  categorical: one-hot encoded, one 0/1 column per value seen in the training file, plus one for
  "missing" when values are missing there; a value the training file never had is all zeros;
- a column of mostly numbers with a few words is junk in a numeric column: an error naming the
  file, column and row.
The task is classification when the target is not numeric or takes at most MAX_CLASSES integer
values, regression otherwise (`dataset.task=` overrides). Rows whose target is missing are dropped.
Test rows come from `dataset.test_path`, or a seeded (stratified) `test_fraction` of the file.

`read_table` is cached per file, so the config check (before the run folder exists) and the loader
parse a file once per process. `encode` turns rows into features with a saved `encoding`, which
`dlrun predict` reuses on new files."""

import csv
import functools
import math
from pathlib import Path

import numpy as np

from dlrun.data.core import RawData
from dlrun.errors import DlrunError, print_warning

_warned: set[str] = set()

MISSING = {"", "na", "nan", "null", "none", "?", "n/a"}
MAX_CLASSES = 20  # a numeric target with at most this many integer values is a class label


def _is_missing(v: str) -> bool:
    return v.strip().lower() in MISSING


def _number(v: str) -> float | None:
    try:
        x = float(v)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


@functools.lru_cache(maxsize=8)
def _read(path: str, mtime: float, size: int) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    rows = [r for r in rows if r]  # blank lines; a row of empty fields is a row of missing values
    if not rows:
        raise DlrunError(f"{path}: the file is empty (no header row)")
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    for i, r in enumerate(body, start=2):
        if len(r) != len(header):
            raise DlrunError(f"{path}: line {i} has {len(r)} fields, the header has {len(header)}")
    if not body:
        raise DlrunError(f"{path}: the table has a header but no rows")
    return header, body


def read_table(path: str) -> tuple[list[str], list[list[str]]]:
    """(header, rows of strings) of a CSV file; DlrunError naming the file when it cannot be read."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise DlrunError(f"{path}: is a folder, not a file (give the .csv file)")
    if not p.is_file():
        raise DlrunError(f"{path}: no such file")
    st = p.stat()
    try:
        return _read(str(p), st.st_mtime, st.st_size)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DlrunError(f"{path}: cannot read it as CSV ({e})") from e


def _column(header: list[str], name: str, path: str) -> int:
    if name not in header:
        raise DlrunError(f"{path}: no column '{name}' (columns: {', '.join(header)})")
    return header.index(name)


def fit_encoding(path: str, target: str, task: str = "auto", categorical=()) -> dict:
    """How this training file's columns become features and labels (JSON-able)."""
    header, rows = read_table(path)
    t = _column(header, target, path)
    for c in categorical:
        _column(header, c, path)
    if all(_is_missing(r[t]) for r in rows):
        raise DlrunError(f"{path}: column '{target}' (the target) has no values")
    features = []
    for j, name in enumerate(header):
        if j == t:
            continue
        values = [r[j] for r in rows if not _is_missing(r[j])]
        numbers = [_number(v) for v in values]
        n_num = sum(x is not None for x in numbers)
        if name not in categorical and values and n_num == len(values):
            features.append({"name": name, "kind": "numeric", "fill": float(np.mean(numbers))})
        elif name not in categorical and n_num > len(values) / 2:
            i = next(i for i, r in enumerate(rows) if not _is_missing(r[j]) and _number(r[j]) is None)
            raise DlrunError(
                f"{path}: column '{name}' is numeric but line {i + 2} holds "
                f"{rows[i][j]!r}; fix the value, leave it empty (missing), or list the column "
                f"in dataset.categorical"
            )
        elif not values:
            raise DlrunError(f"{path}: column '{name}' has no values; drop it")
        else:
            cats = sorted(set(v.strip() for v in values))
            if len(cats) > MAX_CLASSES and len(cats) > len(values) / 2:
                print_warning(
                    f"{path}: column '{name}' has {len(cats)} distinct values, one-hot encoded as "
                    f"{len(cats)} inputs; if it is an identifier, leave it out of the table"
                )
            features.append(
                {"name": name, "kind": "categorical", "categories": cats, "missing": len(values) < len(rows)}
            )
    if not features:
        raise DlrunError(f"{path}: no feature columns besides the target '{target}'")
    y = [r[t].strip() for r in rows if not _is_missing(r[t])]
    numbers = [_number(v) for v in y]
    numeric = all(x is not None for x in numbers)
    if task == "auto":
        ints = numeric and all(float(x).is_integer() for x in numbers)
        task = "classification" if not numeric or (ints and len(set(numbers)) <= MAX_CLASSES) else "regression"
    if task == "regression":
        if not numeric:
            bad = next(v for v, x in zip(y, numbers) if x is None)
            raise DlrunError(
                f"{path}: column '{target}' holds {bad!r}: regression needs numbers "
                f"(dataset.task=classification for labels)"
            )
        classes = None
    else:
        classes = sorted(set(y), key=lambda v: (_number(v) is None, _number(v) or 0.0, v))
        if len(classes) < 2:
            raise DlrunError(
                f"{path}: column '{target}' (the target) has one class ({classes[0]!r}); "
                f"classification needs at least 2"
            )
    return {"path": str(path), "target": target, "task": task, "features": features, "classes": classes}


def num_features(encoding: dict) -> int:
    return sum(1 if f["kind"] == "numeric" else len(f["categories"]) + f["missing"] for f in encoding["features"])


def encode(path: str, encoding: dict, with_target: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Features (N, F) float32 and targets (class indices or floats) of a CSV file, with a training
    file's `encoding`. Without `with_target` (predictions), the target column is ignored, present
    or not, every row is kept, and the targets are None."""
    header, rows = read_table(path)
    target = encoding["target"]
    has_target = with_target
    if with_target:
        _column(header, target, path)
    lines = list(range(2, len(rows) + 2))  # the file's line numbers (1: the header)
    if has_target:
        t = header.index(target)
        dropped = sum(_is_missing(r[t]) for r in rows)
        if dropped:
            message = f"{path}: {dropped} rows without a value in '{target}' (the target) left out"
            if message not in _warned:  # once per process: the config check and the loader both read
                _warned.add(message)
                print_warning(message)
            lines = [n for n, r in zip(lines, rows) if not _is_missing(r[t])]
            rows = [r for r in rows if not _is_missing(r[t])]
            if not rows:
                raise DlrunError(f"{path}: column '{target}' (the target) has no values")
    cols = []
    for f in encoding["features"]:
        j = _column(header, f["name"], path)
        values = [r[j] for r in rows]
        if f["kind"] == "numeric":
            col = np.empty(len(rows), dtype=np.float32)
            for i, v in enumerate(values):
                if _is_missing(v):
                    col[i] = f["fill"]
                elif (x := _number(v)) is None:
                    raise DlrunError(f"{path}: column '{f['name']}' is numeric but line {lines[i]} holds {v!r}")
                else:
                    col[i] = x
            cols.append(col[:, None])
        else:
            index = {c: k for k, c in enumerate(f["categories"])}
            onehot = np.zeros((len(rows), len(index) + f["missing"]), dtype=np.float32)
            for i, v in enumerate(values):
                if _is_missing(v):
                    if f["missing"]:
                        onehot[i, -1] = 1
                elif v.strip() in index:
                    onehot[i, index[v.strip()]] = 1
            cols.append(onehot)
    x = np.concatenate(cols, axis=1)
    if not has_target:
        return x, None
    y_raw = [r[t].strip() for r in rows]
    if encoding["task"] == "regression":
        y = np.array([_number(v) if _number(v) is not None else np.nan for v in y_raw], dtype=np.float32)
        if np.isnan(y).any():
            bad = y_raw[int(np.isnan(y).argmax())]
            raise DlrunError(f"{path}: column '{target}' holds {bad!r}; regression needs numbers")
        return x, y
    classes = {c: k for k, c in enumerate(encoding["classes"])}
    unknown = [v for v in y_raw if v not in classes]
    if unknown:
        raise DlrunError(
            f"{path}: column '{target}' holds {unknown[0]!r}, a class the training file "
            f"does not have (classes: {', '.join(encoding['classes'])})"
        )
    return x, np.array([classes[v] for v in y_raw], dtype=np.int64)


def load_csv(
    path: str,
    target: str,
    task: str = "auto",
    categorical=(),
    test_path: str | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> RawData:
    from dlrun.config.schema import Invalid

    try:
        enc = check_csv(path, target, task, categorical, test_path)
    except Invalid as e:  # the test file changed since the config check
        raise DlrunError(f"dataset.{e}") from e
    x, y = encode(path, enc)
    k = len(enc["classes"]) if enc["classes"] else 0
    if test_path:
        x_test, y_test = encode(test_path, enc)
        raw = RawData(x, y, x_test, y_test, num_classes=k)
    else:
        from dlrun.data.sklearn_sets import _test_split

        n_test = math.ceil(test_fraction * len(y))
        stratify = k and np.bincount(y, minlength=k).min() >= 2 and k <= n_test <= len(y) - k
        raw = _test_split(x, y, k if stratify else 0, test_fraction, seed)
        raw.num_classes = k
    raw.meta = {"encoding": enc}
    return raw


def check_csv(path: str, target: str, task: str = "auto", categorical=(), test_path: str | None = None) -> dict:
    """Everything that can be wrong with the files, found before a run folder exists (called from
    the config schema); returns the training file's encoding. A problem with the test file is the
    schema's Invalid("test_path", ...), which the schema reports as `dataset.test_path: ...` (a
    DlrunError it would report under dataset.path). Checked once per process for the
    same arguments and unchanged files."""
    if task not in ("auto", "classification", "regression"):
        raise DlrunError(f"dataset.task must be auto, classification or regression (got {task!r})")
    key = (path, target, task, tuple(categorical), test_path, _signature(path), _signature(test_path))
    if key not in _checked:
        enc = fit_encoding(path, target, task, tuple(categorical))
        encode(path, enc)
        if test_path:
            try:
                encode(test_path, enc)
            except DlrunError as e:  # named as the schema names a key, not as dataset.path's file
                from dlrun.config.schema import Invalid

                raise Invalid("test_path", str(e)) from e
        _checked[key] = enc
    return _checked[key]


_checked: dict[tuple, dict] = {}


def _signature(path: str | None) -> tuple | None:
    try:
        st = Path(path).expanduser().stat() if path else None
    except OSError:
        return None
    return st and (st.st_mtime_ns, st.st_size)
