"""Your own images: `dataset=image_folder dataset.path=DIR`, in torchvision's ImageFolder layout:
DIR/<class>/<image> (a seeded, stratified `test_fraction` is held out), or DIR/train/<class>/...
and DIR/test/<class>/... . Images are decoded with Pillow once, converted to grayscale or RGB
(`mode`) and resized to `size`, into a uint8 file under `<root>/dlrun-cache/image_folder/`: an
(N, C, H, W) memory map, train rows first, then test rows. Later runs map that file again (no
decoding); a dataset larger than `max_memory_gb` stays on disk and is batched by index from the map.
The cache's name hashes the folder, the settings and every file's name, size and mtime, so a
changed folder is decoded again. An image Pillow cannot read is skipped with a warning naming it."""

import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from dlrun.data.core import RawData
from dlrun.errors import DlrunError, print_warning

log = logging.getLogger("dlrun")

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
MODES = {"grayscale": ("L", 1), "rgb": ("RGB", 3)}


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _class_files(folder: Path) -> dict[str, list[Path]]:
    return {d.name: _images_in(d) for d in sorted(folder.iterdir()) if d.is_dir()}


def hw(size) -> tuple[int, int]:
    return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))


def list_folder(path: str) -> tuple[list[str], list[tuple[Path, int]], list[tuple[Path, int]] | None]:
    """(classes, [(file, class index)] of train, of test; test None for a one-folder layout)."""
    root = Path(path).expanduser()
    if root.exists() and not root.is_dir():
        raise DlrunError(f"{path}: is a file, not a folder (give the folder of class subfolders)")
    if not root.is_dir():
        raise DlrunError(f"{path}: no such folder")
    split = (root / "train").is_dir() and (root / "test").is_dir()
    train = _class_files(root / "train" if split else root)
    train = {c: fs for c, fs in train.items() if fs}
    if not train:
        where = root / "train" if split else root
        raise DlrunError(
            f"{where}: no images in class sub-folders (expected {where}/<class>/<image>, "
            f"image files: {', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    if len(train) < 2:
        raise DlrunError(f"{path}: one class ({next(iter(train))}); classification needs at least 2 class folders")
    classes = sorted(train)
    pairs = [(f, k) for k, c in enumerate(classes) for f in train[c]]
    if not split:
        return classes, pairs, None
    test = {c: fs for c, fs in _class_files(root / "test").items() if fs}
    extra = sorted(set(test) - set(classes))
    if extra:
        raise DlrunError(f"{root / 'test'}: class folder(s) {', '.join(extra)} not in {root / 'train'}")
    if not test:
        raise DlrunError(f"{root / 'test'}: no images in class sub-folders")
    return classes, pairs, [(f, classes.index(c)) for c in sorted(test) for f in test[c]]


def decode_image(path: Path, mode: str, size: tuple[int, int]) -> np.ndarray:
    """(C, H, W) uint8; raises OSError/ValueError for a file Pillow cannot read."""
    from PIL import Image

    pil_mode, _ = MODES[mode]
    with Image.open(path) as im:
        im = im.convert(pil_mode).resize((size[1], size[0]), Image.Resampling.BILINEAR)
        a = np.asarray(im, dtype=np.uint8)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def decode_into(files: list[Path], out: np.ndarray, mode: str, size: tuple[int, int]) -> list[int]:
    """Decode `files` into consecutive rows of `out`; the positions (in `files`) that decoded."""
    ok = []
    for i, f in enumerate(files):
        try:
            out[len(ok)] = decode_image(f, mode, size)
        except Exception as e:  # Pillow raises many kinds (OSError, ValueError, SyntaxError, ...)
            print_warning(f"skipped unreadable image {f} ({' '.join(str(e).split()) or type(e).__name__})")
            continue
        ok.append(i)
    return ok


def _key(path: str, size, mode: str, test_fraction: float, seed: int, files: list[Path]) -> str:
    h = hashlib.sha256(json.dumps([str(Path(path).resolve()), size, mode, test_fraction, seed]).encode())
    for f in files:
        st = f.stat()
        h.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def load_image_folder(
    path: str, root: str, size=32, mode: str = "rgb", test_fraction: float = 0.2, seed: int = 0
) -> RawData:
    check_image_folder(path, size, mode)
    h, w = hw(size)
    classes, train, test = list_folder(path)
    if test is None:  # a seeded stratified split of the file list, before anything is decoded
        from sklearn.model_selection import train_test_split

        labels = [k for _, k in train]
        n_test, k = math.ceil(test_fraction * len(labels)), len(classes)
        stratify = np.bincount(labels).min() >= 2 and k <= n_test <= len(labels) - k
        train, test = train_test_split(
            train, test_size=test_fraction, random_state=seed, stratify=labels if stratify else None
        )
    files = [f for f, _ in train] + [f for f, _ in test]
    folder = (
        Path(root).expanduser() / "dlrun-cache" / "image_folder" / _key(path, [h, w], mode, test_fraction, seed, files)
    )
    c = MODES[mode][1]
    if not (folder / "meta.json").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".building-"))
        try:
            x = np.lib.format.open_memmap(tmp / "x.npy", mode="w+", dtype=np.uint8, shape=(len(files), c, h, w))
            ok_train = decode_into([f for f, _ in train], x, mode, (h, w))
            ok_test = decode_into([f for f, _ in test], x[len(ok_train) :], mode, (h, w))
            x.flush()
            del x
            y = [train[i][1] for i in ok_train] + [test[i][1] for i in ok_test]
            np.save(tmp / "y.npy", np.array(y, dtype=np.int64))
            (tmp / "meta.json").write_text(
                json.dumps({"path": str(path), "n_train": len(ok_train), "n_test": len(ok_test), "classes": classes})
            )
            try:
                os.replace(tmp, folder)
            except OSError:  # another process built the same cache meanwhile: use theirs
                if not (folder / "meta.json").is_file():
                    raise
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        log.info("decoded %d images into %s", len(files), folder)
    meta = json.loads((folder / "meta.json").read_text())
    n_train, n_test = meta["n_train"], meta["n_test"]
    if not n_train or not n_test:
        raise DlrunError(f"{path}: no readable images in the {'train' if not n_train else 'test'} split")
    x = np.load(folder / "x.npy", mmap_mode="c")  # copy-on-write: writable for torch, never written back
    y = np.load(folder / "y.npy")
    return RawData(
        x[:n_train],
        y[:n_train],
        x[n_train : n_train + n_test],
        y[n_train : n_train + n_test],
        num_classes=len(classes),
        meta={"classes": classes, "image": {"mode": mode, "size": [h, w]}},
    )


def check_image_folder(path: str, size=32, mode: str = "rgb") -> None:
    """Cheap checks (the folder, its classes, the settings) before a run folder exists."""
    if mode not in MODES:
        raise DlrunError(f"dataset.mode must be one of {', '.join(MODES)} (got {mode!r})")
    try:
        h, w = hw(size)
    except (TypeError, ValueError, IndexError):
        raise DlrunError(f"dataset.size must be N or [H, W] (got {size!r})") from None
    if h < 1 or w < 1:
        raise DlrunError(f"dataset.size must be positive (got {size!r})")
    list_folder(path)
