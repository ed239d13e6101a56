"""The code's own promises (issue: architecture): each config default written once and checked
against its schema, a user's component checked against its signature before the run, commands
that do not train never import torch, old checkpoints still resume or say why not, and the docs
name only files that exist."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import run_dlrun
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf

from dlrun.config.groups import group_choices
from dlrun.config.schema import CALLBACK_GROUPS, SCHEMAS, validate
from dlrun.errors import DlrunError

MULTI_SELECT = ("regularization", "logger")


def choices_to_compose():
    for group, choices in group_choices().items():
        for choice in choices:
            yield group, choice


@pytest.mark.parametrize("group,choice", list(choices_to_compose()))
def test_every_choice_of_every_group_matches_its_schema(group, choice):
    """Every key a shipped YAML sets is known to its schema and every key the schema has is set
    by a YAML (defaults live in the YAML only): validate raises on either."""
    GlobalHydra.instance().clear()
    override = f"{group}=[{choice}]" if group in MULTI_SELECT else f"{group}={choice}"
    with initialize_config_module("dlrun.conf", version_base="1.3"):
        cfg = compose("config", overrides=[override])
    GlobalHydra.instance().clear()
    node = cfg.get(group) if group not in MULTI_SELECT else None  # (an experiment is _global_)
    required = [k for k in node if OmegaConf.is_missing(node, k)] if isinstance(node, DictConfig) else []
    if required:  # the user's own files: the YAML asks for them, the error names the key
        with pytest.raises(DlrunError, match=rf"{group}\.{required[0]} is required"):
            validate(cfg)
        return
    validate(cfg)
    for name, schemas in SCHEMAS.items():  # dlrun's own components all have a schema
        assert cfg[name].get("_target_") in schemas or name == "sched" and "_target_" not in cfg[name]
    for name in CALLBACK_GROUPS:
        assert all(node["_target_"].startswith("dlrun.") for node in cfg[name].values())


USER_MODEL = """
import math

import torch

class Tiny(torch.nn.Module):
    def __init__(self, input_shape, num_outputs, width, depth=1):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(math.prod(input_shape), width), torch.nn.ReLU(),
                                       torch.nn.Linear(width, num_outputs))

    def forward(self, x):
        return self.net(x)
"""


@pytest.fixture
def user_model(tmp_path):
    (tmp_path / "mymodels.py").write_text(USER_MODEL)
    conf = tmp_path / "conf" / "model"
    conf.mkdir(parents=True)
    (conf / "tiny.yaml").write_text("_target_: mymodels.Tiny\nwidth: 16\n")
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return tmp_path, env


@pytest.mark.parametrize(
    "extra,message",
    [
        (["+model.heigth=3"], "unknown key model.heigth (mymodels.Tiny takes: input_shape, num_outputs, width, depth)"),
        (["~model.width"], "model.width is required by mymodels.Tiny"),
        (["model._target_=mymodels.Nope"], "model._target_: cannot load mymodels.Nope"),
    ],
)
def test_a_users_own_model_is_checked_against_its_signature(user_model, extra, message):
    root, env = user_model
    p = run_dlrun("--config-dir", str(root / "conf"), "model=tiny", "dataset=digits", *extra, cwd=root, env=env)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dlrun: error: ") and message in lines[0], p.stderr
    assert not (root / "outputs").exists()


@pytest.mark.slow
def test_a_users_own_model_trains(user_model):
    root, env = user_model
    p = run_dlrun(
        "--config-dir",
        str(root / "conf"),
        "model=tiny",
        "+model.depth=2",
        "dataset=digits",
        "trainer.epochs=1",
        "hydra.run.dir=run",
        cwd=root,
        env=env,
    )
    assert p.returncode == 0, p.stderr
    assert (root / "run" / "summary.json").is_file()


PROBE = (
    "import atexit, sys; atexit.register(lambda: print('torch imported:', 'torch' in sys.modules, "
    "file=sys.stderr)); sys.argv = ['dlrun', *sys.argv[1:]]; from dlrun.cli import main; main()"
)


@pytest.mark.parametrize(
    "args,env",
    [
        (["--help"], {}),
        (["--cfg", "job", "model=cnn"], {}),
        (["--info"], {}),
        (["-sc", "query=bash"], {"COMP_LINE": "dlrun mo", "COMP_POINT": "8"}),
        (["compare", "RUN"], {}),
    ],
)
def test_commands_that_do_not_train_never_import_torch(tmp_path, args, env):
    if "RUN" in args:  # a run folder made without training
        (tmp_path / "run" / ".hydra").mkdir(parents=True)
        (tmp_path / "run" / "summary.json").write_text(
            '{"status": "completed", "monitor": "val_acc", "val": {"acc": 0.5}}'
        )
        args = [str(tmp_path / "run") if a == "RUN" else a for a in args]
    p = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **env},
        timeout=60,
    )
    assert "torch imported: False" in p.stderr, p.stderr[-2000:]
    assert p.stdout.strip()  # each printed what it is for


def test_a_checkpoint_of_the_previous_version_still_resumes(tmp_path, make_cfg):
    from dlrun.training.trainer import Trainer, train

    run = ["dataset=digits", "model.hidden=[16]", "trainer.epochs=1"]
    train(make_cfg(*run), str(tmp_path))
    last = tmp_path / "checkpoints" / "last.pt"
    state = torch.load(last, weights_only=True)
    for key in ("format", "dlrun"):  # what dlrun 0.1.0 did not write
        state.pop(key)
    torch.save(state, last)
    trainer = Trainer(make_cfg(*run[:-1], "trainer.epochs=2"), str(tmp_path))
    trainer.resume()
    assert trainer.fit()["epochs_completed"] == 2

    state.pop("rng")  # a layout this dlrun cannot read: one line that names the writer
    torch.save(state, last)
    from dlrun.errors import DlrunError

    with pytest.raises(DlrunError, match="written by dlrun 0.1.0 or older .*missing rng"):
        Trainer(make_cfg(*run[:-1], "trainer.epochs=3"), str(tmp_path)).resume()


def test_the_docs_name_only_files_that_exist():
    # issue 12: the README (and ARCHITECTURE.md) name no file that does not exist in the repository;
    # placeholders (conf/logger/NAME.yaml, search_width/optuna_<model>.yaml) are not names
    root = Path(__file__).parents[1]
    path = re.compile(r"(?<![\w./~<$-])((?:dlrun|conf|benchmarks|tests|docs|hydra_plugins|\.ci)/[\w./-]*[\w/])(<?)")
    for doc in ("README.md", "ARCHITECTURE.md"):
        named = {m.group(1) for m in path.finditer((root / doc).read_text()) if not m.group(2)}
        placeholders = {p for p in named if re.search(r"/[A-Z]+[./]", p)}
        missing = sorted(p for p in named - placeholders if not (root / p.rstrip("/")).exists())
        assert len(named) > 20 and missing == [], (doc, missing)
