"""`dlrun compare`: discovery (single runs and sweeps, mixed, nested), every format parsed back,
sorting, the best run, runs in every state, plots and one-line errors. Run folders are made by
hand (sweep_helpers.make_run), so these tests train nothing."""

import csv
import io
import json

import pytest
from conftest import run_dlrun
from sweep_helpers import completed_summary, curve, make_run

from dlrun.commands.compare import main as compare


@pytest.fixture
def runs(tmp_path):
    """A single run, a sweep of three, and runs in every unfinished state, nested."""
    root = tmp_path / "outputs"
    make_run(
        root / "2026-01-01" / "10-00-00_digits-mlp-adam_aaaa",
        lr=0.01,
        summary=completed_summary(0.80, 0.79),
        metrics=curve(0.80),
    )
    sweep = root / "multirun" / "2026-01-01" / "11-00-00_bbbb"
    make_run(
        sweep / "0_model=mlp,optim.lr=0.1",
        lr=0.1,
        overrides=["model=mlp", "optim.lr=0.1"],
        summary=completed_summary(0.90, 0.88, wall_s=2.0),
        metrics=curve(0.90),
    )
    make_run(
        sweep / "1_model=cnn,optim.lr=0.1",
        model="cnn",
        lr=0.1,
        overrides=["model=cnn", "optim.lr=0.1"],
        summary=completed_summary(0.95, 0.93, wall_s=9.0),
        metrics=curve(0.95),
    )
    make_run(
        sweep / "2_model=mlp,optim.lr=1e30",
        lr=1e30,
        overrides=["model=mlp", "optim.lr=1e30"],
        summary={
            **completed_summary(0.10, 0.10, epochs=1),
            "status": "diverged",
            "error": "loss became nan at step 2 (epoch 1, lr 1e+30)",
        },
        metrics=curve(0.1, 1),
    )
    odd = root / "odd"
    make_run(
        odd / "running",
        summary={
            "status": "running",
            "epochs_completed": 1,
            "monitor": "val_acc",
            "val": {"acc": 0.5},
            "test": {},
            "wall_s": 3.0,
        },
    )
    make_run(
        odd / "interrupted",
        summary={"status": "interrupted", "epochs_completed": 2, "monitor": "val_acc", "val": {"acc": 0.6}, "test": {}},
    )
    make_run(odd / "failed", summary={"status": "failed", "error": "boom"})
    make_run(odd / "no_summary")
    make_run(odd / "bad_summary").joinpath("summary.json").write_text('{"status": "compl')
    return root


def output(capsys, *argv) -> tuple[int, str, str]:
    code = compare(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def by_name(rows: list[dict]) -> dict[str, dict]:
    return {row["path"].rsplit("/", 1)[1]: row for row in rows}


def test_json_lists_every_run_with_status_and_metrics(runs, capsys):
    code, out, err = output(capsys, str(runs), "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == 9
    named = by_name(rows)
    assert named["1_model=cnn,optim.lr=0.1"]["best"] is True
    assert sum(row["best"] for row in rows) == 1
    assert named["1_model=cnn,optim.lr=0.1"]["val_acc"] == 0.95
    assert named["1_model=cnn,optim.lr=0.1"]["test_acc"] == 0.93
    assert named["1_model=cnn,optim.lr=0.1"]["test_macro_f1"] == pytest.approx(0.92)
    assert named["running"]["test_macro_f1"] is None
    assert named["2_model=mlp,optim.lr=1e30"]["status"] == "diverged"
    assert "nan" in named["2_model=mlp,optim.lr=1e30"]["error"]
    assert {named[n]["status"] for n in ("running", "interrupted", "failed")} == {"running", "interrupted", "failed"}
    assert named["no_summary"]["status"] == "unknown" and "summary.json missing" in named["no_summary"]["error"]
    assert named["bad_summary"]["status"] == "unknown" and "unreadable" in named["bad_summary"]["error"]
    # default order: best val_acc first, runs without one last
    assert [r["val_acc"] for r in rows[:3]] == [0.95, 0.90, 0.80]
    assert rows[-1]["val_acc"] is None


def test_columns_are_the_config_values_that_differ(runs, capsys):
    rows = json.loads(output(capsys, str(runs / "multirun"), "--format", "json")[1])
    columns = list(rows[0])
    assert columns[:2] == ["path", "status"]
    assert "model" in columns and "optim.lr" in columns
    # implied by the differing model choice, not overridden: folded into `model`
    assert "model.hidden" not in columns and "model.channels" not in columns
    assert "trainer.epochs" not in columns  # the same in every run
    assert {"val_acc", "test_acc", "epochs", "wall_s", "error", "best"} <= set(columns)
    # an interpolation that cannot resolve here is shown as written, never a crash
    every = json.loads(output(capsys, str(runs / "multirun"), "--format", "json", "--all")[1])
    assert every[0]["trainer.epochs"] == 3
    assert every[0]["dataset.root"] == "${oc.env:NOPE_NOT_SET}"
    assert every[0]["model.dropout"] == 0.0  # resolved from the run's own keys


def test_csv_has_one_row_per_run(runs, capsys):
    code, out, _ = output(capsys, str(runs), "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 9
    named = by_name(rows)
    assert float(named["0_model=mlp,optim.lr=0.1"]["val_acc"]) == 0.90
    assert named["1_model=cnn,optim.lr=0.1"]["best"] == "true"
    assert named["failed"]["status"] == "failed" and named["failed"]["error"] == "boom"


def test_markdown_table_parses_back(runs, capsys):
    code, out, _ = output(capsys, str(runs), "--format", "markdown", "--sort", "wall_s")
    assert code == 0
    lines = out.strip().splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert set(lines[1].replace("|", "").replace("-", "")) == set()
    rows = [dict(zip(header, (c.strip() for c in line.strip("|").split("|")))) for line in lines[2:]]
    assert len(rows) == 9
    walls = [float(r["wall_s"]) for r in rows if r["wall_s"]]
    assert walls == sorted(walls)  # --sort wall_s: ascending, runs without it last
    best = [r for r in rows if r["best"] == "*"]
    assert len(best) == 1 and best[0]["path"].endswith("1_model=cnn,optim.lr=0.1")
    assert best[0]["val_acc"] == "0.9500"


def test_rich_table_shows_every_run_and_status(runs, capsys):
    code, out, _ = output(capsys, str(runs))
    assert code == 0
    assert "9 runs" in out and "★" in out
    for status in ("completed", "diverged", "running", "interrupted", "failed", "unknown"):
        assert status in out


def test_sort_reverse_and_unknown_key(runs, capsys):
    rows = json.loads(output(capsys, str(runs), "--format", "json", "--sort", "val_acc", "--reverse")[1])
    scored = [r["val_acc"] for r in rows if r["val_acc"] is not None]
    assert scored == sorted(scored)
    code, out, err = output(capsys, str(runs), "--sort", "nope")
    assert code == 2 and out == ""
    assert err.startswith("dlrun: error: cannot sort by 'nope'") and err.count("\n") == 1


def test_mixed_paths_are_each_run_once(runs, capsys):
    single = runs / "2026-01-01" / "10-00-00_digits-mlp-adam_aaaa"
    rows = json.loads(
        output(capsys, str(single), str(runs / "multirun"), str(runs / "multirun" / "2026-01-01"), "--format", "json")[
            1
        ]
    )
    assert len(rows) == 4


def test_plot_draws_the_val_curves(runs, tmp_path, capsys):
    png = tmp_path / "curves.png"
    code, _, err = output(capsys, str(runs / "multirun"), "--plot", str(png), "--format", "csv")
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["does/not/exist"], "no such file or folder: does/not/exist"),
        (["EMPTY"], "no runs under"),
        ([], "compare: the following arguments are required: PATH"),
        (["EMPTY", "--format", "xml"], "compare: argument --format: invalid choice"),
    ],
)
def test_one_line_errors(tmp_path, capsys, argv, message):
    (tmp_path / "empty").mkdir()
    argv = [str(tmp_path / "empty") if a == "EMPTY" else a for a in argv]
    code, out, err = output(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("dlrun: error: ") and message in err and err.count("\n") == 1


def test_dlrun_compare_command(runs, tmp_path):
    done = run_dlrun("compare", str(runs / "multirun"), "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 3


@pytest.mark.parametrize("option", ["--plot", "--parallel"])
@pytest.mark.parametrize(
    "where, message",
    [
        ("nowhere/x.png", "{option} {path}: no such folder {tmp}/nowhere"),
        ("afolder", "{option} {path}: is a folder, not a file (give a file name, e.g. {path}/{name}.png)"),
        ("afile/x.png", "{option} {path}: {tmp}/afile is a file, not a folder"),
        (
            "x.txt",
            "{option} {path}: give a file name ending in .png, .pdf, .svg, .svgz, .jpg, .jpeg, "
            ".tif, .tiff, .webp, .eps, .ps",
        ),
    ],
)
def test_a_plot_path_that_cannot_be_written_is_one_line_before_the_table(
    runs, tmp_path, capsys, option, where, message
):
    (tmp_path / "afolder").mkdir()
    (tmp_path / "afile").write_text("mine")
    path = str(tmp_path / where)
    code, out, err = output(capsys, str(runs / "multirun"), option, path)
    expected = message.format(option=option, path=path, tmp=tmp_path, name=option[2:])
    assert (code, out, err) == (2, "", f"dlrun: error: compare: {expected}\n")
    assert (tmp_path / "afile").read_text() == "mine" and list((tmp_path / "afolder").iterdir()) == []


def test_dlrun_compare_plot_into_a_missing_folder(runs, tmp_path):
    done = run_dlrun("compare", str(runs / "multirun"), "--plot", "/nonexistent/x.png", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "dlrun: error: compare: --plot /nonexistent/x.png: no such folder /nonexistent\n"


def test_runs_on_different_datasets_are_flagged_not_ranked_silently(tmp_path, capsys):
    make_run(tmp_path / "a", summary=completed_summary(0.9, 0.9), dataset="digits")
    make_run(tmp_path / "b", summary=completed_summary(0.6, 0.6), dataset="mnist1d")
    assert compare([str(tmp_path), "--format", "csv"]) in (None, 0)
    err = capsys.readouterr().err
    assert "dlrun: note: these runs differ in dataset: scores on different data are not comparable" in err
    make_run(tmp_path / "c", summary=completed_summary(0.8, 0.8), dataset="digits")
    assert compare([str(tmp_path / "a"), str(tmp_path / "c"), "--format", "csv"]) in (None, 0)
    assert "note" not in capsys.readouterr().err  # one dataset: nothing to say
