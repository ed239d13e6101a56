"""`dlrun compare --group`: repeats (trainer.seed, dataset.fold) as one row with mean ± std, the
significance line, --where, --parallel, grouped plots, and the fast YAML reader. Run folders are
made by hand (sweep_helpers.make_run): nothing trains here."""

import csv
import io
import json
import math
import statistics

import pytest
from sweep_helpers import completed_summary, curve, make_run

from dlrun.commands.compare import main as compare
from dlrun.results.run_folder import Run
from dlrun.results.stats import describe, welch

MLP = [0.70, 0.72, 0.69, 0.71, 0.73]
CNN = [0.90, 0.91, 0.89, 0.92, 0.90]


def sweep(root, accs: dict[str, list[float]], lrs=(0.01,)):
    for model, values in accs.items():
        for lr in lrs:
            for seed, acc in enumerate(values):
                make_run(
                    root / f"{model}_{lr}_{seed}",
                    model=model,
                    lr=lr,
                    seed=seed,
                    overrides=[f"model={model}", f"optim.lr={lr}", f"trainer.seed={seed}"],
                    summary=completed_summary(acc, acc - 0.01, wall_s=1.0 + seed),
                    metrics=curve(acc),
                )
    return root


def output(capsys, *argv):
    code = compare([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_groups_are_the_default_with_repeats_and_carry_mean_std_n(tmp_path, capsys):
    root = sweep(tmp_path / "s", {"mlp": MLP, "cnn": CNN})
    make_run(
        root / "cnn_running",
        model="cnn",
        seed=9,
        summary={"status": "running", "monitor": "val_acc", "val": {"acc": 0.1}, "test": {}},
    )
    code, out, err = output(capsys, root, "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["model"] for r in rows] == ["cnn", "mlp"]  # best first
    cnn, mlp = rows
    assert "trainer.seed" not in cnn  # a repeat key, not a setting
    assert (cnn["n"], cnn["completed"]) == (6, 5) and "1 running" in cnn["status"]
    assert cnn["val_acc_mean"] == pytest.approx(statistics.mean(CNN))  # the running run is not averaged
    assert cnn["val_acc_std"] == pytest.approx(statistics.stdev(CNN))
    assert (cnn["val_acc_min"], cnn["val_acc_max"]) == (min(CNN), max(CNN))
    assert mlp["test_acc_mean"] == pytest.approx(statistics.mean(MLP) - 0.01)
    assert mlp["wall_s_mean"] == pytest.approx(3.0) and mlp["epochs_std"] == 0
    assert cnn["best"] is True and mlp["best"] is False
    assert len(cnn["runs"]) == 6
    assert "Welch's t-test" in err and "larger than the run-to-run noise" in err


def test_no_group_shows_every_run(tmp_path, capsys):
    root = sweep(tmp_path / "s", {"mlp": MLP, "cnn": CNN})
    rows = json.loads(output(capsys, root, "--format", "json", "--no-group")[1])
    assert len(rows) == 10 and "trainer.seed" in rows[0]


def test_csv_and_markdown_have_separate_mean_std_n_fields(tmp_path, capsys):
    root = sweep(tmp_path / "s", {"mlp": MLP, "cnn": CNN}, lrs=(0.01, 0.1))
    rows = list(csv.DictReader(io.StringIO(output(capsys, root, "--format", "csv")[1])))
    assert len(rows) == 4
    assert {"model", "optim.lr", "n", "val_acc_mean", "val_acc_std", "test_acc_mean", "best"} <= set(rows[0])
    assert rows[0]["n"] == "5" and float(rows[0]["val_acc_std"]) == pytest.approx(statistics.stdev(CNN))
    md = output(capsys, root, "--format", "markdown", "--sort", "wall_s")[1].splitlines()
    header = [c.strip() for c in md[0].strip("|").split("|")]
    assert {"n", "completed", "val_acc_mean", "val_acc_std", "wall_s_mean"} <= set(header)
    assert len(md) == 2 + 4


def test_rich_table_shows_mean_std_and_says_when_the_lead_is_noise(tmp_path, capsys):
    close = [a + 0.005 for a in MLP]  # a lead of half a point with a 1.6-point std
    root = sweep(tmp_path / "s", {"mlp": MLP, "cnn": close})
    code, out, _ = output(capsys, root)
    assert code == 0
    assert f"{statistics.mean(close):.4f} ± {statistics.stdev(close):.4f}" in out
    assert "5/5" in out and "★" in out
    test = welch(close, MLP)
    assert f"p = {test.p:.2g}" in out
    assert "within noise" in out and test.p > 0.05


def test_n_of_one_says_no_statistics_are_possible(tmp_path, capsys):
    root = sweep(tmp_path / "s", {"mlp": MLP, "cnn": [0.95]})
    code, out, _ = output(capsys, root)
    assert code == 0
    assert "no statistics possible" in out and "model=cnn has n=1" in out


def test_where_filters_runs(tmp_path, capsys):
    root = sweep(tmp_path / "s", {"mlp": MLP, "cnn": CNN}, lrs=(0.001, 0.1))
    rows = json.loads(output(capsys, root, "--format", "json", "--where", "optim.lr<0.01", "--where", "model=cnn")[1])
    assert len(rows) == 1 and rows[0]["n"] == 5  # the lr column is now the same everywhere
    runs = json.loads(
        output(
            capsys, root, "--format", "json", "--no-group", "--where", "val_acc>=0.9", "--where", "status=completed"
        )[1]
    )
    assert sorted(r["val_acc"] for r in runs) == sorted(a for a in CNN for _ in range(2) if a >= 0.9)
    code, out, err = output(capsys, root, "--where", "nope.key=1")
    assert code == 2 and out == "" and err.count("\n") == 1 and "no run has a key 'nope.key'" in err
    code, _, err = output(capsys, root, "--where", "model=rnn")
    assert code == 2 and "no run matches 'model=rnn'" in err
    code, _, err = output(capsys, root, "--where", "optim.lr")
    assert code == 2 and err.startswith("dlrun: error: --where 'optim.lr': expected KEY OP VALUE")


def test_plots_group_bands_and_parallel_coordinates(tmp_path, capsys):
    root = sweep(tmp_path / "s", {"mlp": MLP, "cnn": CNN}, lrs=(0.001, 0.1))
    curves, parallel = tmp_path / "curves.png", tmp_path / "parallel.png"
    code, _, err = output(capsys, root, "--plot", curves, "--parallel", parallel, "--format", "csv")
    assert code == 0, err
    for png in (curves, parallel):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_group_curve_is_the_mean_with_a_std_band(tmp_path, monkeypatch):
    """What plot_curves draws for a group: the per-epoch mean and ± std of its runs."""
    import matplotlib.axes

    root = sweep(tmp_path / "s", {"mlp": MLP})
    drawn = {}
    monkeypatch.setattr(
        matplotlib.axes.Axes,
        "fill_between",
        lambda self, x, low, high, **kw: drawn.update(x=list(x), low=low, high=high),
    )
    from dlrun.reporting.compare_plots import plot_curves

    runs = [Run(p) for p in sorted(root.iterdir())]
    plot_curves([("mlp", runs)], str(tmp_path / "c.png"))
    last = [a * 3 / 3 for a in MLP]
    assert drawn["x"] == [1, 2, 3]
    assert drawn["high"][-1] - drawn["low"][-1] == pytest.approx(2 * statistics.stdev(last))


def test_welch_matches_the_textbook_and_describe_ignores_non_finite():
    test = welch(MLP, CNN)
    va, vb = statistics.variance(MLP) / 5, statistics.variance(CNN) / 5
    assert test.diff == pytest.approx(statistics.mean(MLP) - statistics.mean(CNN))
    assert test.df == pytest.approx((va + vb) ** 2 / (va**2 / 4 + vb**2 / 4))
    assert test.t == pytest.approx(test.diff / math.sqrt(va + vb))
    assert test.p < 1e-6 and test.low < test.diff < test.high < 0
    # a t of 2.306 with 8 degrees of freedom is the two-sided 5% point (t tables)
    equal = welch([0.0, 2.0, 4.0, 6.0, 8.0], [x - 2.306 * math.sqrt(2 * 10 / 5) for x in (0, 2, 4, 6, 8)])
    assert equal.df == pytest.approx(8) and equal.p == pytest.approx(0.05, abs=2e-4)
    assert welch([0.5], CNN) is None and welch([0.5, 0.5], [0.5, 0.5]) is None
    assert describe([1.0, math.nan, 3.0, None]) == {"n": 2, "mean": 2.0, "std": math.sqrt(2), "min": 1.0, "max": 3.0}


def test_fast_reader_resolves_like_omegaconf(tmp_path):
    run = make_run(tmp_path / "r", lr=1e-5)
    (run / ".hydra" / "config.yaml").write_text(
        "a:\n  x: 1.0e-05\n  y: 1e-3\n  p: ${oc.select:b.q,0.25}\n  q: ${oc.select:b.missing,false}\n"
        "  r: ${a.x}\n  s: ${oc.env:NOPE_NOT_SET_ANYWHERE}\n  t: ${b}\nb:\n  q: 3\n"
    )
    config = Run(run).config
    assert config["a.x"] == 1e-5 and config["a.y"] == 1e-3  # floats, as OmegaConf reads them
    assert (config["a.p"], config["a.q"], config["a.r"]) == (3, False, 1e-5)
    assert config["a.s"] == "${oc.env:NOPE_NOT_SET_ANYWHERE}"  # cannot resolve here: as written
    assert config["a.t"] == {"q": 3}  # a subtree, through OmegaConf


def test_fast_reader_env_defaults_and_the_choices_block(tmp_path, monkeypatch):
    from omegaconf import OmegaConf

    from dlrun.results.fast_yaml import hydra_choices

    run = make_run(tmp_path / "r", model="cnn")
    (run / ".hydra" / "config.yaml").write_text(
        "a:\n  home: ${oc.env:DLRUN_TEST_HOME,'~/.cache/dlrun'}\n  set: ${oc.env:DLRUN_TEST_SET}\n"
    )
    monkeypatch.setenv("DLRUN_TEST_SET", "/data")
    monkeypatch.delenv("DLRUN_TEST_HOME", raising=False)
    config = Run(run).config
    resolved = OmegaConf.to_container(OmegaConf.load(run / ".hydra" / "config.yaml"), resolve=True)["a"]
    assert (config["a.home"], config["a.set"]) == (resolved["home"], resolved["set"]) == ("~/.cache/dlrun", "/data")
    hydra_yaml = run / ".hydra" / "hydra.yaml"
    expected = OmegaConf.to_container(OmegaConf.load(hydra_yaml).hydra.runtime.choices)
    assert hydra_choices(hydra_yaml) == expected and expected["model"] == "cnn"
    hydra_yaml.write_text("hydra: {runtime: {choices: {model: rnn, dataset: digits}}}\n")  # not Hydra's layout
    assert hydra_choices(hydra_yaml) == {"model": "rnn", "dataset": "digits"}
