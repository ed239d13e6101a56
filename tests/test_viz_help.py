"""`dlrun --help` (groups, choices, examples), `dlrun --cfg job`, shell completion, logger validation."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import run_dlrun

from dlrun.cli import composing
from dlrun.errors import DlrunError

CONF = Path(__file__).resolve().parents[1] / "conf"


def groups() -> dict[str, list[str]]:
    return {
        d.name: sorted(f.stem for f in d.glob("*.yaml"))
        for d in CONF.iterdir()
        if d.is_dir() and d.name not in ("hydra", "__pycache__")
    }


def test_help_lists_every_group_with_its_choices_and_examples():
    p = run_dlrun("--help")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert "logger" in groups()
    for group, choices in groups().items():
        assert f"{group}: {', '.join(choices)}" in lines
    for example in (
        "dlrun -m ",
        "dlrun experiment=",
        "dlrun compare ",
        "dlrun resume ",
        "logger=[csv,tensorboard]",
        "--cfg job",
        "--shell-completion",
    ):
        assert example in p.stdout


def test_cfg_job_prints_the_composed_config():
    p = run_dlrun("--cfg", "job", "model=cnn", "logger=[csv,tensorboard]", "optim.lr=0.02")
    assert p.returncode == 0, p.stderr
    cfg = yaml.safe_load(p.stdout)
    assert cfg["model"]["_target_"] == "dlrun.models.CNN"
    assert cfg["optim"]["lr"] == 0.02
    assert list(cfg["logger"]) == ["csv", "tensorboard"]
    assert cfg["logger"]["tensorboard"]["_target_"] == "dlrun.reporting.tensorboard.TensorBoardLogger"


def test_default_logger_is_csv_only():
    p = run_dlrun("--cfg", "job")
    assert list(yaml.safe_load(p.stdout)["logger"]) == ["csv"]


def test_shell_completion():
    # through the installed console script: Hydra names the completed command after argv[0]
    script = Path(sys.executable).with_name("dlrun")
    install = subprocess.run([script, "--shell-completion", "install=bash"], capture_output=True, text=True)
    assert "complete -o nospace -o default -F hydra_bash_completion dlrun" in install.stdout
    line = "dlrun logger="
    query = subprocess.run(
        [script, "-sc", "query=bash"],
        capture_output=True,
        text=True,
        env={**os.environ, "COMP_LINE": line, "COMP_POINT": str(len(line))},
    )
    assert query.stdout.split() == ["logger=csv", "logger=mlflow", "logger=tensorboard"]


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["logger=[wandb]"], "unknown logger 'wandb' (choose from: csv, mlflow, tensorboard)"),
        (["logger=tensorboard"], None),  # a single choice is a list of one; every logger brings csv
        (["+logger.tensorboard.every=5"], "unknown key logger.tensorboard.every"),
    ],
)
def test_logger_overrides(overrides, message):
    with composing(None) as check:
        if message is None:
            check(overrides, "config")
            return
        with pytest.raises(DlrunError, match=re.escape(message)):
            check(overrides, "config")
