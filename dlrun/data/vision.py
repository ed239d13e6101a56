"""MNIST, Fashion-MNIST and CIFAR-10 through torchvision's dataset classes.

Files live where torchvision keeps them under `root` (`<root>/MNIST/raw/`,
`<root>/FashionMNIST/raw/`, `<root>/cifar-10-batches-py/`); with `download` torchvision fetches
missing ones. The decoded images are cached as uint8 tensors in `<root>/dlrun-cache/<name>.pt`, so
later runs load one file and do not import torchvision at all. Delete that file to decode again."""

import contextlib
import gzip
import io
import logging
import re
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

import torch

from dlrun.data.cache import CACHE_DIR, cached_tensors
from dlrun.data.core import RawData
from dlrun.data.tv import import_torchvision
from dlrun.errors import DlrunError
from dlrun.results.run_folder import atomic_write

log = logging.getLogger("dlrun")

DOWNLOAD_TIMEOUT_S = 30  # per network operation: an unreachable server fails, it does not hang
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
CIFAR10_FILES = (
    "data_batch_1",
    "data_batch_2",
    "data_batch_3",
    "data_batch_4",
    "data_batch_5",
    "test_batch",
    "batches.meta",
)
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"


@dataclass(frozen=True)
class ImageSet:
    name: str  # dlrun's name (the cache file)
    tv_class: str  # the torchvision.datasets class
    folder: str  # where that class reads its files, relative to root
    files: tuple[str, ...]
    idx: bool  # MNIST family: IDX files, placeable as .gz
    hint: str = ""  # another way to get the files, for the not-found message

    def missing(self, root: Path) -> list[str]:
        folder = root / self.folder
        return [f for f in self.files if not (folder / f).exists() and not (self.idx and (folder / f"{f}.gz").exists())]

    def where_to_put(self, root: Path, missing: list[str]) -> str:
        folder = root / self.folder
        if self.idx:
            return f"put {', '.join(f'{f}(.gz)' for f in missing)} in {folder}/{self.hint}"
        return f"put {CIFAR10_ARCHIVE} in {root}/, or its extracted files ({', '.join(missing)}) in {folder}/"


MNIST = ImageSet("mnist", "MNIST", "MNIST/raw", IDX_FILES, idx=True)
FASHION_MNIST = ImageSet(
    "fashion_mnist",
    "FashionMNIST",
    "FashionMNIST/raw",
    IDX_FILES,
    idx=True,
    hint=" (or apt-get install dataset-fashion-mnist: dataset.search finds it)",
)
CIFAR10 = ImageSet("cifar10", "CIFAR10", "cifar-10-batches-py", CIFAR10_FILES, idx=False)


def load_mnist(root: str, download: bool = True, search: list[str] = ()) -> RawData:
    """MNIST: 60k/10k 28x28 grayscale digits."""
    return load_image_set(MNIST, root, download, search)


def load_fashion_mnist(
    root: str, download: bool = True, search: list[str] = ("/usr/share/datasets/fashion-mnist",)
) -> RawData:
    """Fashion-MNIST: 60k/10k 28x28 grayscale clothing images. Also finds the IDX files that the
    Debian package dataset-fashion-mnist installs in /usr/share/datasets/fashion-mnist/."""
    return load_image_set(FASHION_MNIST, root, download, search)


def load_cifar10(root: str, download: bool = True) -> RawData:
    """CIFAR-10: 50k/10k 32x32 RGB images."""
    return load_image_set(CIFAR10, root, download)


def load_image_set(spec: ImageSet, root: str, download: bool, search=()) -> RawData:
    root_path = Path(root).expanduser()
    t = cached_tensors(root_path / CACHE_DIR / f"{spec.name}.pt", lambda: decode(spec, root_path, download, search))
    return RawData(t["x_train"], t["y_train"], t["x_test"], t["y_test"], int(t["num_classes"]))


def decode(spec: ImageSet, root: Path, download: bool, search=()) -> dict:
    """Read the dataset with its torchvision class: uint8 images (N, C, H, W), int64 labels."""
    if spec.idx:
        gather_idx_files(root / spec.folder, search)
    cls = getattr(import_torchvision().datasets, spec.tv_class)
    try:
        with _network_guard():
            train = cls(str(root), train=True, download=download)  # fetches only what is missing
            test = cls(str(root), train=False)
    except (RuntimeError, OSError) as e:
        missing = spec.missing(root)
        if not missing:
            raise DlrunError(
                f"dataset {spec.name}: the files in {root / spec.folder} did not load ({_reason(e)})"
            ) from e
        why = f"download failed: {_reason(e)}" if download else "dataset.download=false"
        raise DlrunError(
            f"dataset {spec.name} not found under {root} ({why}); {spec.where_to_put(root, missing)}"
        ) from e
    return {
        "x_train": _images(train.data),
        "y_train": torch.as_tensor(train.targets),
        "x_test": _images(test.data),
        "y_test": torch.as_tensor(test.targets),
        "num_classes": torch.tensor(len(train.classes)),
    }


def gather_idx_files(raw: Path, search=()) -> None:
    """torchvision's MNIST classes read un-gzipped IDX files from raw/ (and re-download a .gz whose
    checksum is not theirs). Un-gzip the .gz files placed in raw/, or copy those found in a
    `search` folder, so that any faithful copy of the data is used as it is."""
    for name in IDX_FILES:
        target = raw / name
        if target.exists():
            continue
        for folder in (raw, *map(Path, search)):
            source = next((p for p in (folder / f"{name}.gz", folder / name) if p.is_file()), None)
            if source is not None:
                raw.mkdir(parents=True, exist_ok=True)
                opener = gzip.open if source.suffix == ".gz" else open
                with opener(source, "rb") as src:
                    atomic_write(target, lambda f: shutil.copyfileobj(src, f))
                log.info("%s -> %s", source, target)
                break


def _images(data) -> torch.Tensor:
    """(N, H, W) grayscale or (N, H, W, C) color -> (N, C, H, W) uint8."""
    x = torch.as_tensor(data)
    return x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2).contiguous()


@contextlib.contextmanager
def _network_guard():
    """A timeout on every socket, and torchvision's prints (mirror attempts, download lines) sent
    to the log instead of the terminal, where dlrun's one-line error should stand alone."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            yield
    finally:
        socket.setdefaulttimeout(previous)
        if out.getvalue().strip():
            log.info("torchvision: %s", out.getvalue().strip())


def _reason(e: BaseException) -> str:
    """The gist of a torchvision download/read error, on one line."""
    text = str(e)
    m = re.search(r"<urlopen error (.*?)>", text)
    if m:
        return m.group(1)
    return next((line.strip() for line in text.splitlines() if line.strip()), type(e).__name__)
