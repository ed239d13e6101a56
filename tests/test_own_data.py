"""Your own data: dataset=csv, image_folder and npz, on files the tests write."""

import csv
import logging

import numpy as np
import pytest
import torch
from conftest import run_dlrun

from dlrun.data import image_folder as imf
from dlrun.data import iterate_batches, prepare
from dlrun.data.arrays import load_npz
from dlrun.data.core import HostSplit
from dlrun.data.tabular import fit_encoding, load_csv
from dlrun.errors import DlrunError

CPU = torch.device("cpu")


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def people(path, n=200, seed=0, regression=False):
    """age (numeric, some missing), city (text, some missing), label (yes/no) or price (float)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        age, city = rng.normal(40, 10), ["paris", "oslo", "rome"][i % 3]
        target = f"{age * 3 + (city == 'oslo') * 20:.2f}" if regression else ("yes" if age > 40 else "no")
        rows.append(["" if i % 10 == 0 else f"{age:.1f}", "" if i % 7 == 0 else city, target])
    return write_csv(path, ["age", "city", "price" if regression else "label"], rows)


# -- csv ---------------------------------------------------------------------------------------
def test_csv_encoding_missing_values_and_task(tmp_path):
    path = str(people(tmp_path / "p.csv"))
    enc = fit_encoding(path, "label")
    age, city = enc["features"]
    assert enc["task"] == "classification" and enc["classes"] == ["no", "yes"]
    assert age["kind"] == "numeric" and city == {
        "name": "city",
        "kind": "categorical",
        "categories": ["oslo", "paris", "rome"],
        "missing": True,
    }
    raw = load_csv(path, "label", test_fraction=0.25, seed=1)
    assert raw.num_classes == 2 and raw.input_shape == (1 + 3 + 1,)
    assert len(raw.y_train) == 150 and len(raw.y_test) == 50
    x = np.concatenate([raw.x_train, raw.x_test])
    ages = [float(r[0]) for r in csv.reader(open(path)) if r[0] not in ("", "age")]
    assert np.isclose(x[:, 0].mean(), np.mean(ages), atol=1e-3)  # missing ages -> the training mean
    onehot = x[:, 1:]
    assert set(np.unique(onehot)) == {0.0, 1.0} and (onehot.sum(1) == 1).all()  # "missing" is a value
    assert onehot[:, 3].sum() == sum(1 for i in range(200) if i % 7 == 0)

    # standardized with training statistics by prepare()
    data = prepare(raw, 0.1, 0, CPU)
    assert torch.allclose(data.train.x.mean(0), torch.zeros(5), atol=1e-5)

    reg = load_csv(str(people(tmp_path / "r.csv", regression=True)), "price")
    assert reg.num_classes == 0 and reg.y_train.dtype == np.float32
    assert load_csv(path, "age", task="regression").num_classes == 0  # overridden, not inferred


def test_csv_test_path_and_unknown_category(tmp_path):
    train = str(people(tmp_path / "train.csv"))
    test = str(
        write_csv(
            tmp_path / "test.csv",
            ["city", "age", "label"],  # columns in any order
            [["berlin", "30", "no"], ["rome", "", "yes"]],
        )
    )
    raw = load_csv(train, "label", test_path=test)
    assert len(raw.y_train) == 200 and raw.y_test.tolist() == [0, 1]
    assert raw.x_test[0, 1:].tolist() == [0, 0, 0, 0]  # a city never seen in training: all zeros
    assert raw.x_test[1, 1:].tolist() == [0, 0, 1, 0]


def test_csv_for_predictions_ignores_the_target(tmp_path):
    """dlrun predict's reading: rows without a target (or with a label never seen) are kept."""
    from dlrun.data.tabular import encode

    enc = fit_encoding(str(people(tmp_path / "p.csv")), "label")
    new = write_csv(tmp_path / "new.csv", ["label", "age", "city"], [["", "50", "oslo"], ["maybe", "", ""]])
    x, y = encode(str(new), enc, with_target=False)
    assert y is None and x.shape == (2, 5) and x[1, 0] == pytest.approx(enc["features"][0]["fill"])
    with pytest.raises(DlrunError, match="new.csv: column 'label' holds 'maybe', a class the training file"):
        encode(str(new), enc)


@pytest.mark.parametrize(
    "content, args, expected",
    [
        (None, "dataset.target=label", "nope.csv: no such file"),
        ("a,label\n1,x\n2,y\n", "dataset.target=price", "bad.csv: no column 'price'"),
        ("a,label\n", "dataset.target=label", "bad.csv: the table has a header but no rows"),
        ("a,label\n1,x\n2,x\n3,x\n", "dataset.target=label", "bad.csv: column 'label' (the target) has one class"),
        (
            "a,label\n1,x\n2,y\nabc,x\n4,y\n",
            "dataset.target=label",
            "bad.csv: column 'a' is numeric but line 4 holds 'abc'",
        ),
    ],
)
def test_csv_bad_input_is_one_line_before_any_folder(tmp_path, content, args, expected):
    name = "nope.csv" if content is None else "bad.csv"
    if content is not None:
        (tmp_path / name).write_text(content)
    res = run_dlrun("dataset=csv", f"dataset.path={name}", args, cwd=tmp_path)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dlrun: error: dataset.path: "), res.stderr
    assert expected in lines[0]
    assert not (tmp_path / "outputs").exists()


# -- image folders ----------------------------------------------------------------------------
def write_images(folder, classes=("cat", "dog", "fox"), n=8, seed=0):
    from PIL import Image

    rng = np.random.default_rng(seed)
    for k, c in enumerate(classes):
        (folder / c).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            a = np.full((10 + i, 9, 3), 60 * k, dtype=np.uint8) + rng.integers(0, 30, (10 + i, 9, 3), dtype=np.uint8)
            Image.fromarray(a).save(folder / c / (f"{i}.png" if i % 2 else f"{i}.jpg"))


def test_image_folder_split_resize_cache_and_unreadable(tmp_path, monkeypatch, caplog):
    write_images(tmp_path / "imgs")
    (tmp_path / "imgs" / "dog" / "broken.png").write_bytes(b"not an image")
    root = str(tmp_path / "cache")
    with caplog.at_level(logging.WARNING, "dlrun"):
        raw = imf.load_image_folder(
            str(tmp_path / "imgs"), root, size=[6, 5], mode="grayscale", test_fraction=0.25, seed=0
        )
    assert "broken.png" in caplog.text
    # 24 readable images of 25; the split was drawn on the 25 files (7 test), before decoding
    assert raw.x_train.shape == (17, 1, 6, 5) and raw.x_test.shape == (7, 1, 6, 5)
    assert raw.x_train.dtype == np.uint8 and isinstance(raw.x_train.base, np.memmap)
    assert raw.num_classes == 3 and raw.meta["classes"] == ["cat", "dog", "fox"]
    assert sorted(np.bincount(raw.y_test).tolist()) == [2, 2, 3]  # stratified
    # class k's pixels are around 60 * k + 15: the labels follow the folders
    assert all(abs(float(x.mean()) - (60 * k + 15)) < 10 for x, k in zip(raw.x_train, raw.y_train))

    # a second load maps the cache: nothing is decoded
    monkeypatch.setattr(imf, "decode_image", lambda *a: pytest.fail("decoded again"))
    again = imf.load_image_folder(
        str(tmp_path / "imgs"), root, size=[6, 5], mode="grayscale", test_fraction=0.25, seed=0
    )
    assert np.array_equal(again.x_train, raw.x_train) and np.array_equal(again.y_test, raw.y_test)


def test_image_folder_train_test_layout_rgb(tmp_path):
    write_images(tmp_path / "d" / "train", n=4)
    write_images(tmp_path / "d" / "test", n=2, seed=1)
    raw = imf.load_image_folder(str(tmp_path / "d"), str(tmp_path / "c"), size=7, mode="rgb")
    assert raw.x_train.shape == (12, 3, 7, 7) and raw.x_test.shape == (6, 3, 7, 7)
    assert raw.y_test.tolist() == [0, 0, 1, 1, 2, 2]


def test_image_folder_larger_than_memory_is_batched_from_the_map(tmp_path):
    """Over max_memory_gb, the splits index the memory map: nothing is gathered whole, and the
    batches equal those of the in-memory path."""
    write_images(tmp_path / "imgs", n=10)
    raw = imf.load_image_folder(str(tmp_path / "imgs"), str(tmp_path / "c"), size=8, mode="rgb")
    fast = prepare(raw, 0.2, 0, CPU)
    slow = prepare(raw, 0.2, 0, CPU, max_memory_gb=1e-9)
    assert isinstance(slow.train, HostSplit) and slow.train.index is not None
    mapped = slow.train.raw_x.numpy()
    assert np.shares_memory(mapped, raw.x_train)  # the map itself, not a copy
    assert torch.allclose(fast.mean, slow.mean) and torch.allclose(fast.std, slow.std)
    for split in ("train", "val", "test"):
        gens = [torch.Generator().manual_seed(3) for _ in range(2)]
        for (xa, ya), (xb, yb) in zip(
            iterate_batches(getattr(fast, split), 4, gens[0]),
            iterate_batches(getattr(slow, split), 4, gens[1]),
            strict=True,
        ):
            assert torch.allclose(xa, xb, atol=1e-5) and torch.equal(ya, yb)


@pytest.mark.parametrize(
    "setup, expected",
    [
        (lambda p: p.mkdir(), "no images in class sub-folders"),
        (lambda p: (p / "a").mkdir(parents=True), "no images in class sub-folders"),
        (lambda p: write_images(p, classes=("only",)), "one class (only)"),
    ],
)
def test_image_folder_errors(tmp_path, setup, expected):
    setup(tmp_path / "f")
    with pytest.raises(DlrunError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        imf.check_image_folder(str(tmp_path / "f"))


# -- npz ----------------------------------------------------------------------------------------
def test_npz_arrays_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "a.npz",
        x_train=rng.normal(size=(30, 2, 5)).astype(np.float32),
        y_train=rng.integers(0, 3, 30),
        x_test=rng.normal(size=(10, 2, 5)),
        y_test=rng.integers(0, 3, 10),
    )
    raw = load_npz(str(tmp_path / "a.npz"))
    assert raw.input_shape == (2, 5) and raw.num_classes == 3 and raw.y_train.dtype == np.int64
    assert load_npz(str(tmp_path / "a.npz"), task="regression").num_classes == 0
    np.savez(tmp_path / "b.npz", x_train=np.zeros((3, 2)), y_train=np.zeros(3))
    with pytest.raises(DlrunError, match="b.npz: no array x_test, y_test"):
        load_npz(str(tmp_path / "b.npz"))
    res = run_dlrun("dataset=npz", "dataset.path=b.npz", cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "b.npz: no array x_test" in res.stderr
    assert not (tmp_path / "outputs").exists()


# -- a path of the wrong kind, a bad test file: one line naming the key ----------------------------
@pytest.mark.parametrize(
    "args, expected",
    [
        (
            ["dataset=csv", "dataset.path=PATH", "dataset.target=x"],
            "dataset.path: PATH: is a folder, not a file (give the .csv file)",
        ),
        (["dataset=npz", "dataset.path=PATH"], "dataset.path: PATH: is a folder, not a file (give the .npz file)"),
        (
            ["dataset=image_folder", "dataset.path=PATH/f.png"],
            "dataset.path: PATH/f.png: is a file, not a folder (give the folder of class subfolders)",
        ),
    ],
)
def test_a_folder_for_a_file_and_a_file_for_a_folder_are_named(tmp_path, args, expected):
    data = tmp_path / "data"
    data.mkdir()
    (data / "f.png").write_bytes(b"not an image")
    res = run_dlrun(*[a.replace("PATH", str(data)) for a in args], cwd=tmp_path)
    assert (res.returncode, res.stdout) == (2, "")
    assert res.stderr == f"dlrun: error: {expected.replace('PATH', str(data))}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no run folder


def test_a_bad_test_file_is_named_as_dataset_test_path(tmp_path):
    people(tmp_path / "train.csv", n=40)
    write_csv(tmp_path / "test.csv", ["age", "city"], [["30", "oslo"]])  # no target column
    for test_path, message in [("nope.csv", "nope.csv: no such file"), ("test.csv", "test.csv: no column 'label'")]:
        res = run_dlrun(
            "dataset=csv",
            "dataset.path=train.csv",
            "dataset.target=label",
            f"dataset.test_path={test_path}",
            cwd=tmp_path,
        )
        assert res.returncode == 2
        assert res.stderr.startswith(f"dlrun: error: dataset.test_path: {message}") and res.stderr.count("\n") == 1
    assert not (tmp_path / "outputs").exists()
    # read after the check (the file changed since): the same key, one line
    with pytest.raises(DlrunError, match=r"^dataset\.test_path: nope\.csv: no such file$"):
        load_csv(str(tmp_path / "train.csv"), "label", test_path="nope.csv")
