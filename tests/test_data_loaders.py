"""Image-dataset loaders, offline: tiny IDX files in a temp folder stand in for MNIST/Fashion-MNIST."""

import subprocess
import sys
from types import SimpleNamespace
from urllib.error import URLError

import numpy as np
import pytest
import torch
from conftest import run_dlrun
from data_helpers import write_tiny_idx_set

from dlrun.data import vision
from dlrun.data.tv import import_torchvision
from dlrun.errors import DlrunError


def _check_loaded(raw, arrays):
    x_train, y_train = arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]
    assert raw.x_train.shape == (len(y_train), 1, *x_train.shape[1:])
    assert raw.x_train.dtype == torch.uint8
    assert torch.equal(raw.x_train[:, 0], torch.from_numpy(x_train))
    assert raw.y_train.tolist() == y_train.tolist()
    assert raw.y_test.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    assert raw.num_classes == 10


def test_torchvision_imports_and_reads_idx(tmp_path):
    tv = import_torchvision()
    arrays = write_tiny_idx_set(tmp_path / "MNIST" / "raw")
    ds = tv.datasets.MNIST(str(tmp_path), train=True)
    assert ds.data.shape == (60, 12, 12) and ds.targets.tolist() == arrays["train-labels-idx1-ubyte"].tolist()


@pytest.mark.parametrize("gz", [False, True])
def test_placed_files_are_used_and_cached(tmp_path, monkeypatch, gz):
    arrays = write_tiny_idx_set(tmp_path / "MNIST" / "raw", gz=gz)
    _check_loaded(vision.load_mnist(str(tmp_path), download=False), arrays)
    assert (tmp_path / "dlrun-cache" / "mnist.pt").is_file()

    # the next run reads the cache alone: no raw files, no torchvision
    for f in (tmp_path / "MNIST" / "raw").iterdir():
        f.unlink()
    monkeypatch.setattr(vision, "import_torchvision", lambda: pytest.fail("decoded again"))
    _check_loaded(vision.load_mnist(str(tmp_path), download=False), arrays)


def test_fashion_mnist_finds_a_system_folder(tmp_path):
    system = tmp_path / "usr-share-datasets-fashion-mnist"  # like the Debian package: .gz files
    arrays = write_tiny_idx_set(system, gz=True)
    root = tmp_path / "root"
    _check_loaded(vision.load_fashion_mnist(str(root), download=False, search=[str(system)]), arrays)
    assert (root / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte").is_file()


def test_offline_download_failure_is_one_clear_line(tmp_path, monkeypatch):
    tv = import_torchvision()

    def offline(*args, **kwargs):
        raise URLError("simulated: no network")

    monkeypatch.setattr(tv.datasets.mnist, "download_and_extract_archive", offline)
    write_tiny_idx_set(tmp_path / "x")  # elsewhere: not found
    (tmp_path / "FashionMNIST" / "raw").mkdir(parents=True)
    (tmp_path / "FashionMNIST" / "raw" / "train-labels-idx1-ubyte").write_bytes(b"")
    with pytest.raises(DlrunError) as e:
        vision.load_fashion_mnist(str(tmp_path), download=True, search=[])
    msg = str(e.value)
    assert "\n" not in msg and "download failed: simulated: no network" in msg
    assert f"in {tmp_path}/FashionMNIST/raw/" in msg
    assert "train-images-idx3-ubyte(.gz)" in msg and "t10k-labels-idx1-ubyte(.gz)" in msg
    assert "train-labels-idx1-ubyte(.gz)" not in msg  # that one is there
    assert not (tmp_path / "dlrun-cache").exists()


def test_cifar10_message_names_the_archive_and_folder(tmp_path):
    with pytest.raises(DlrunError) as e:
        vision.load_cifar10(str(tmp_path), download=False)
    msg = str(e.value)
    assert f"put cifar-10-python.tar.gz in {tmp_path}/" in msg
    assert f"in {tmp_path}/cifar-10-batches-py/" in msg and "data_batch_5" in msg


def test_cifar10_images_become_nchw(tmp_path, monkeypatch):
    class FakeCIFAR10:  # torchvision's CIFAR10 keeps (N, H, W, C) uint8 numpy and a label list
        classes = [str(i) for i in range(10)]

        def __init__(self, root, train, download=False):
            n = 5 if train else 3
            self.data = np.random.default_rng(n).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
            self.targets = list(range(n))

    fake_tv = SimpleNamespace(datasets=SimpleNamespace(CIFAR10=FakeCIFAR10))
    monkeypatch.setattr(vision, "import_torchvision", lambda: fake_tv)
    raw = vision.load_cifar10(str(tmp_path))
    hwc = FakeCIFAR10("", train=True).data
    assert raw.x_train.shape == (5, 3, 32, 32) and raw.x_train.is_contiguous()
    assert raw.x_train[4, 2, 7, 9] == hwc[4, 7, 9, 2]
    assert raw.y_test.tolist() == [0, 1, 2] and raw.input_shape == (3, 32, 32)


@pytest.mark.slow
def test_cli_missing_files_exit_2_with_one_line(tmp_path):
    r = run_dlrun(
        "dataset=mnist",
        "dataset.download=false",
        f"hydra.run.dir={tmp_path / 'run'}",
        env={"DLRUN_DATA": str(tmp_path / "data"), "HYDRA_FULL_ERROR": "0"},
        timeout=120,
    )
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dlrun: error: dataset mnist not found"), r.stderr
    assert f"{tmp_path}/data/MNIST/raw/" in lines[0] and "Traceback" not in r.stdout + r.stderr


def test_torchvision_is_not_imported_by_dlrun_itself():
    code = (
        "import sys, dlrun.cli, dlrun.training.trainer, dlrun.config.schema, dlrun.data.vision; "
        "sys.exit('torchvision' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
