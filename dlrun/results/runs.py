"""Finding run folders on disk and reading what they hold, whatever state they are in. A run folder
is any folder with `.hydra/config.yaml` or `summary.json` in it; a missing or unreadable file is
recorded in `Run.problems`, never raised. No torch here (`dlrun compare` starts fast)."""

import csv
import json
import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from dlrun.errors import DlrunError
from dlrun.metrics import finite_number, split_metric
from dlrun.results.fast_yaml import flat_config, hydra_choices, load_yaml

CONFIG = Path(".hydra") / "config.yaml"
HYDRA = Path(".hydra") / "hydra.yaml"
OVERRIDES = Path(".hydra") / "overrides.yaml"
SUMMARY = "summary.json"
METRICS = "metrics.csv"
UNKNOWN = "unknown"  # the status of a run folder without a readable summary.json


def is_run_folder(path: Path) -> bool:
    return (path / CONFIG).is_file() or (path / SUMMARY).is_file()


def find_run_folders(root: Path) -> list[Path]:
    """Every run folder at or under `root`, sorted by path; hidden folders are not searched."""
    if is_run_folder(root):
        return [root]
    found = []
    for folder, subfolders, _ in os.walk(root):
        here = Path(folder)
        if here != root and is_run_folder(here):
            found.append(here)
            subfolders.clear()  # a run folder holds no runs
            continue
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
    return sorted(found)


def find_runs(paths: list[str]) -> list["Run"]:
    """The runs under each path (a run folder, a sweep folder, or any folder above them), each
    once. A path that does not exist or holds no run is a DlrunError."""
    runs: dict[Path, Run] = {}
    for name in paths:
        root = Path(name)
        if not root.exists():
            raise DlrunError(f"no such file or folder: {name}")
        folders = find_run_folders(root)
        if not folders:
            raise DlrunError(f"no runs under {name} (a run folder has .hydra/config.yaml or summary.json)")
        for folder in folders:
            runs.setdefault(folder.resolve(), Run(folder))
    return list(runs.values())


# -- reading one run ----------------------------------------------------------------------------
def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """{"optim.lr": 0.01, "model.hidden": [256, 128], ...}: dicts are walked, lists are values."""
    if not isinstance(node, dict):
        return {prefix: node}
    flat: dict[str, Any] = {}
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):  # an empty one adds nothing
            flat.update(flatten(value, path))
        else:
            flat[path] = value
    return flat


def resolved_leaf(cfg: DictConfig, key: str, raw: Any) -> Any:
    """The value of `key` with interpolations resolved where they can be (`${oc.select:...}` of
    the run's own keys); an interpolation that cannot resolve here stays as written."""
    try:
        value = OmegaConf.select(cfg, key)
    except Exception:
        return raw
    if isinstance(value, (DictConfig, ListConfig)):
        try:
            return OmegaConf.to_container(value, resolve=True)
        except Exception:
            return raw
    return value


def read_flat_config(path: Path) -> dict[str, Any]:
    return flat_config(path, flatten, resolved_leaf)  # fast: libyaml, OmegaConf only where needed


def override_key(override: str) -> str | None:
    """`optim.lr=0.1` -> `optim.lr`, `+model.x=1` -> `model.x`; None for a deletion (`~key`)."""
    key = override.split("=", 1)[0].strip()
    if key.startswith("~"):
        return None
    return key.lstrip("+").split("@", 1)[0]


def read_summary(file: Path) -> dict:
    found = json.loads(file.read_text())
    return found if isinstance(found, dict) else {}


def read_choices(file: Path) -> dict[str, Any]:
    """The config-group choices (model: mlp, optim: adam, ...); Hydra's own and unset ones left out."""
    choices = hydra_choices(file)
    return {k: v for k, v in choices.items() if not k.startswith("hydra/") and v is not None}


def read_overrides(file: Path) -> list[str]:
    return [str(o) for o in load_yaml(file) or []]


def read_metrics(file: Path) -> list[dict[str, float]]:
    """metrics.csv as numbers (a cell that is not a number is left out)."""
    with open(file, newline="") as f:
        return [{k: x for k, v in row.items() if (x := to_float(v)) is not None}
                for row in csv.DictReader(f)]


class Run:
    """One run folder as found on disk: summary, flattened config, group choices, overrides."""

    def __init__(self, path: Path):
        self.path = path
        self.problems: list[str] = []  # files missing or unreadable
        self.summary: dict = self._read(SUMMARY, read_summary, {})
        self.config: dict[str, Any] = self._read(CONFIG, read_flat_config, {})
        self.choices: dict[str, Any] = self._read(HYDRA, read_choices, {})
        self.overrides: list[str] = self._read(OVERRIDES, read_overrides, [])

    def _read(self, name: str | Path, read, default):
        file = self.path / name
        if not file.is_file():
            self.problems.append(f"{name} missing")
            return default
        try:
            return read(file)
        except Exception as e:  # half-written or hand-edited: show the run anyway
            self.problems.append(f"{name} unreadable ({type(e).__name__})")
            return default

    @property
    def override_keys(self) -> list[str]:
        return [k for k in map(override_key, self.overrides) if k]

    def value(self, key: str) -> Any:
        """A config-group choice (`model`) or a flattened config key (`optim.lr`); None if absent."""
        if key in self.choices:
            return self.choices[key]
        return self.config.get(key)

    @property
    def status(self) -> str:
        status = self.summary.get("status")
        return status if isinstance(status, str) else UNKNOWN

    @property
    def error(self) -> str | None:
        return self.summary.get("error") or ("; ".join(self.problems) or None)

    def metric(self, split: str) -> tuple[str, float | None] | None:
        """(name, value) of the monitored metric on "val" (best epoch) or "test"; see split_metric."""
        return split_metric(self.summary, split)

    def test_value(self, name: str) -> float | None:
        """summary.json's test[name] when it is a finite number (e.g. macro_f1)."""
        test = self.summary.get("test")
        return finite_number(test.get(name) if isinstance(test, dict) else None)

    @property
    def monitor(self) -> str | None:
        found = self.metric("val")
        return found[0] if found else None

    def metrics_rows(self) -> list[dict[str, float]]:
        """metrics.csv, one dict per epoch; [] when missing or unreadable."""
        file = self.path / METRICS
        try:
            return read_metrics(file) if file.is_file() else []
        except Exception:
            return []


def to_float(text: str | None) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None
