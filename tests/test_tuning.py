"""The tuning engine's parts, without training: the search space from Hydra's override syntax, the
search config checks before any trial, the study's recovery of interrupted trials, the pruning
callback outside a search, and the lr range test's arithmetic."""

import math

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from dlrun.cli import preflight_sweep
from dlrun.errors import DlrunError
from dlrun.tuning import study as studies
from dlrun.tuning.lr_find import check_range, lr_at, suggest
from dlrun.tuning.pruning import ReportToStudy
from dlrun.tuning.space import parse_space


def test_the_override_syntax_becomes_optuna_distributions():
    params = {
        "optim.lr": "tag(log, interval(1e-4, 1e-1))",
        "trainer.batch_size": "choice(32, 64)",
        "model.hidden": "choice([64], [128, 64])",
    }
    space = parse_space(
        params,
        [
            "trainer.epochs=tag(int, interval(2, 8))",
            "trainer.seed=range(0, 10, 3)",
            "trainer.batch_size=choice(16, 128)",
            "dataset=digits",
        ],
    )
    d = space.distributions
    assert d["optim.lr"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert d["trainer.epochs"] == IntDistribution(2, 8)
    assert d["trainer.seed"] == IntDistribution(0, 9, step=3)  # range's stop is excluded, as in Python
    assert d["trainer.batch_size"] == CategoricalDistribution([16, 128])  # the command line replaces params
    assert d["model.hidden"] == CategoricalDistribution(["[64]", "[128,64]"])  # lists: their override text
    assert space.fixed == ["dataset=digits"]
    overrides = space.overrides({"optim.lr": 0.003, "model.hidden": "[128,64]", "trainer.batch_size": 16})
    assert overrides == ["dataset=digits", "optim.lr=0.003", "model.hidden=[128,64]", "trainer.batch_size=16"]


@pytest.mark.parametrize(
    "override, message",
    [
        ("optim.lr=interval(0.1, 0.01)", "optim.lr: the interval (0.1, 0.01) is empty"),
        ("optim.lr=tag(log, interval(0, 1))", "a log interval needs a positive start"),
        ("trainer.seed=range(5, 1)", "range(5, 1, 1) is empty"),
        ("model=glob(*)", "a glob cannot be searched"),
    ],
)
def test_an_empty_or_unsearchable_range_is_refused(override, message):
    with pytest.raises(DlrunError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        parse_space({}, [override])


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            ["hydra/sweeper/sampler=bayes"],
            "unknown hydra/sweeper/sampler 'bayes' (choose from: cmaes, gp, grid, qmc, random, tpe)",
        ),
        (
            ["hydra/sweeper/pruner=asha"],
            "unknown hydra/sweeper/pruner 'asha' (choose from: hyperband, median, none, successive_halving)",
        ),
        (["optim.lr=interval(1, 0.5)"], "optim.lr: the interval (1.0, 0.5) is empty"),
        (["hydra/sweeper/pruner=median", "trainer.monitor=auto"], "set trainer.monitor"),
        (["hydra/sweeper/sampler=grid"], "hydra/sweeper/sampler=grid: optim.lr is an interval"),
        (["hydra.sweeper.n_trials=0"], "hydra.sweeper.n_trials=0: a search needs at least 1 trial"),
        (["hydra.sweeper.n_trials=abc"], "hydra.sweeper.n_trials=abc: must be a whole number"),
        (["hydra.sweeper.direction=sideways"], "hydra.sweeper.direction=sideways: must be minimize or maximize"),
        (["hydra.sweeper.direction=minimize"], "trainer.monitor=val_acc is to maximize"),
        (["hydra.sweeper.study_name=null"], "hydra.sweeper.study_name=None: must be a name"),
        (
            ["hydra.sweeper.sampler.n_startup_trials=abc"],
            "hydra.sweeper.sampler.n_startup_trials=abc: must be a whole number",
        ),
        (["hydra.sweeper.sampler.seed=abc"], "hydra.sweeper.sampler.seed=abc: must be a whole number"),
        (["hydra.sweeper.sampler.multivariate=3"], "hydra.sweeper.sampler.multivariate=3: must be true or false"),
        (
            ["hydra/sweeper/pruner=median", "hydra.sweeper.pruner.n_warmup_steps=x"],
            "hydra.sweeper.pruner.n_warmup_steps=x: must be a whole number",
        ),
        (["optim.lr=tag(lgo, interval(1e-3, 1))"], "optim.lr: unknown tag 'lgo'"),
        (["trainer.batch_size=tag(log, choice(32, 64))"], "trainer.batch_size: unknown tag 'log'"),
    ],
)
def test_a_bad_search_config_is_one_error_before_any_trial(overrides, message):
    with pytest.raises(DlrunError) as e:
        preflight_sweep(["hparams_search=optuna", *overrides], None, "config")
    assert message in str(e.value)


def test_every_sampler_and_pruner_composes():
    for sampler in ("tpe", "random", "gp", "cmaes", "qmc"):
        preflight_sweep(["hparams_search=optuna", f"hydra/sweeper/sampler={sampler}"], None, "config")
    preflight_sweep(
        [
            "hparams_search=optuna",
            "hydra/sweeper/sampler=grid",
            "optim.lr=choice(0.1,0.01)",
            "optim.weight_decay=0",
            "trainer.batch_size=64",
        ],
        None,
        "config",
    )
    for pruner in ("median", "hyperband", "successive_halving", "none"):
        preflight_sweep(["hparams_search=optuna", f"hydra/sweeper/pruner={pruner}"], None, "config")


@pytest.mark.parametrize("sampler, warned", [("gp", True), ("cmaes", True), ("tpe", False), ("random", False)])
def test_a_sampler_that_ignores_pruned_trials_is_warned_of_with_a_pruner(capsys, sampler, warned):
    base = ["hparams_search=optuna", f"hydra/sweeper/sampler={sampler}"]
    preflight_sweep([*base, "hydra/sweeper/pruner=none"], None, "config")
    assert capsys.readouterr().err == ""
    preflight_sweep([*base, "hydra/sweeper/pruner=median"], None, "config")
    err = capsys.readouterr().err
    assert ("learns from completed trials only" in err) == warned, err
    if sampler == "gp":
        assert "until 10 trials have completed" in err
    if sampler == "cmaes":
        assert "until 1 trial has completed" in err


def test_a_trial_left_running_is_found_again_with_its_number_and_parameters(tmp_path):
    study = studies.open_study(tmp_path, "s", "maximize")
    study.tell(study.ask({"x": FloatDistribution(0, 1)}), 0.5)
    left = study.ask({"x": FloatDistribution(0, 1)})  # the search was killed while this one ran
    again = studies.open_study(tmp_path, "s", "maximize")  # the same command, run again
    [rerun] = studies.left_running(again)
    assert (rerun.number, rerun.params) == (left.number, left.params)  # same run folder, same values
    assert len(studies.counted(again)) == 1  # it counts toward n_trials once it is told
    again.tell(rerun, 0.7)
    assert [t.state.name for t in again.trials] == ["COMPLETE", "COMPLETE"]


def test_the_trial_reporter_does_nothing_outside_a_search():
    reporter = ReportToStudy()
    reporter.on_fit_start(trainer=None)  # no Hydra job here: no trial
    reporter.on_epoch_end(trainer=None, row={"val_acc": 0.5})
    assert reporter.trial is None


def test_the_lr_range_is_exponential_and_checked():
    assert lr_at(0, 1e-6, 1, 100) == pytest.approx(1e-6)
    assert lr_at(99, 1e-6, 1, 100) == pytest.approx(1)
    assert lr_at(50, 1e-4, 1e-2, 101) == pytest.approx(1e-3)
    with pytest.raises(DlrunError, match="at least 10 steps"):
        check_range(1e-6, 1, 9)
    with pytest.raises(DlrunError, match="is empty"):
        check_range(1, 1e-3, 100)


def test_the_suggested_lr_is_the_steepest_fall_before_the_minimum():
    lrs = [10 ** (-6 + i * 0.1) for i in range(61)]  # 1e-6 .. 1
    # flat, then falling fastest around 1e-3, a minimum near 1e-1, then blowing up
    smoothed = [
        2.0 - 1.5 / (1 + math.exp(-(math.log10(lr) + 3) * 3)) + (8 * (lr - 0.1) if lr > 0.1 else 0) for lr in lrs
    ]
    assert suggest(lrs, smoothed) == pytest.approx(1e-3, rel=0.3)
    assert suggest(lrs, sorted(smoothed, reverse=False)) is None  # never goes down: no suggestion
