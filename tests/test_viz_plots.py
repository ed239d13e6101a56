"""curves.png: a real PNG with the loss, accuracy-or-RMSE and learning-rate panels."""

from matplotlib.figure import Figure
from matplotlib.image import imread

from dlrun.reporting.plots import curves_figure, draw_curves, save_curves


def rows(n: int, metric: str = "acc", lr=lambda e: 1e-3) -> list[dict]:
    # as read back from metrics.csv: strings
    return [
        {
            "epoch": str(e),
            "lr": str(lr(e)),
            "train_loss": str(2 / e),
            f"train_{metric}": str(1 - 1 / (e + 1)),
            "val_loss": str(2.2 / e),
            f"val_{metric}": str(1 - 1.2 / (e + 1)),
            "epoch_s": "0.1",
            "samples_per_s": "1000",
        }
        for e in range(1, n + 1)
    ]


def test_png_written_and_not_blank(tmp_path):
    path = save_curves(rows(5), tmp_path / "curves.png", title="a run", best_epoch=4)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.shape[0] >= 300 and image.shape[1] >= 2 * image.shape[0]  # wide: three panels side by side
    assert image[..., :3].std() > 0.05  # something is drawn
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, no temporary left behind


def test_panels_classification():
    fig = curves_figure(rows(5), best_epoch=3)
    loss, metric, lr = fig.axes
    assert (loss.get_title(), metric.get_title(), lr.get_title()) == ("loss", "accuracy", "learning rate")
    labels = [line.get_label() for line in loss.lines if not line.get_label().startswith("_")]
    assert labels == ["train", "val"]
    assert list(loss.lines[0].get_xdata()) == [1, 2, 3, 4, 5]
    assert list(metric.lines[1].get_ydata()) == [1 - 1.2 / (e + 1) for e in range(1, 6)]


def test_panels_regression_and_log_lr():
    fig = curves_figure(rows(4, metric="rmse", lr=lambda e: 10.0**-e))
    _, metric, lr = fig.axes
    assert metric.get_title() == "RMSE"
    assert lr.get_yscale() == "log"  # lr spans decades


def test_overlay_runs_on_same_axes():
    fig = Figure()
    axes = fig.subplots(1, 3)
    draw_curves(axes, rows(3), label="run a", splits=("val",), color="C0")
    draw_curves(axes, rows(6), label="run b", splits=("val",), color="C1")
    assert [line.get_label() for line in axes[0].lines] == ["run a val", "run b val"]
