"""The run folder, the one reader and writer of its files:

    .hydra/config.yaml, overrides.yaml, hydra.yaml    written by Hydra, read here
    metrics.csv      a row per epoch                  RunFolder.write_metrics / read_metrics
    summary.json     status, best val, test metrics   RunFolder.write_summary / read_summary
    checkpoints/     last.pt (resume), best.pt        RunFolder.save_checkpoint / load_checkpoint

Every file is replaced atomically (write a temporary file in the same folder, fsync, rename), so a
kill at any moment leaves the previous complete version. `find_runs` and `Run` read folders in any
state for `dlrun compare` and the sweep report: a missing or unreadable file is recorded in
`Run.problems`, never raised. torch is imported only to save or load a checkpoint."""

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from dlrun.errors import DlrunError
from dlrun.metrics import finite_number, split_metric
from dlrun.results.fast_yaml import flat_config, hydra_choices, load_yaml

_UMASK = os.umask(0)
os.umask(_UMASK)

METRICS = "metrics.csv"
SUMMARY = "summary.json"
CHECKPOINTS = "checkpoints"
CONFIG = Path(".hydra") / "config.yaml"
HYDRA = Path(".hydra") / "hydra.yaml"
OVERRIDES = Path(".hydra") / "overrides.yaml"
UNKNOWN = "unknown"  # the status of a run folder without a readable summary.json


def atomic_write(path: Path, write) -> None:
    """Call write(file) on a temporary file beside `path`, fsync it, then rename it over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give it an ordinary file's mode
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RunFolder:
    def __init__(self, path: str | os.PathLike, writable: bool = True):
        """`writable=False` (DDP ranks other than 0): reads work, writes do nothing."""
        self.path = Path(path)
        self.writable = writable
        self.checkpoints = self.path / CHECKPOINTS
        if writable:
            self.checkpoints.mkdir(parents=True, exist_ok=True)

    # metrics.csv ------------------------------------------------------------------------------
    def read_metrics(self) -> list[dict[str, float]]:
        """metrics.csv as numbers, a dict per epoch (a cell that is not a number is left out); []
        when there is none yet."""
        p = self.path / METRICS
        if not p.exists():
            return []
        with open(p, newline="") as f:
            return [{k: x for k, v in row.items() if (x := to_float(v)) is not None} for row in csv.DictReader(f)]

    def write_metrics(self, rows: list[dict]) -> None:
        """Rewrite the whole file (it is small: a row per epoch), so it is never half a row."""
        if not self.writable:
            return
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write(self.path / METRICS, lambda f: f.write(buf.getvalue().encode()))

    # summary.json -----------------------------------------------------------------------------
    def read_summary(self) -> dict:
        p = self.path / SUMMARY
        found = json.loads(p.read_text()) if p.exists() else {}
        return found if isinstance(found, dict) else {}

    def write_summary(self, summary: dict) -> None:
        if not self.writable:
            return
        text = json.dumps(summary, indent=2, default=str) + "\n"
        atomic_write(self.path / SUMMARY, lambda f: f.write(text.encode()))

    # checkpoints ------------------------------------------------------------------------------
    def save_checkpoint(self, name: str, state: dict) -> None:
        if not self.writable:
            return
        import torch

        atomic_write(self.checkpoints / f"{name}.pt", lambda f: torch.save(state, f))

    def load_checkpoint(self, name: str, map_location=None) -> dict:
        import torch

        return torch.load(self.checkpoints / f"{name}.pt", map_location=map_location, weights_only=True)


# -- finding and reading runs in any state (dlrun compare, the sweep report) ----------------------
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


def read_choices(file: Path) -> dict[str, Any]:
    """The config-group choices (model: mlp, optim: adam, ...); Hydra's own and unset ones left out."""
    choices = hydra_choices(file)
    return {k: v for k, v in choices.items() if not k.startswith("hydra/") and v is not None}


def read_overrides(file: Path) -> list[str]:
    return [str(o) for o in load_yaml(file) or []]


class Run:
    """One run folder as found on disk: summary, flattened config, group choices, overrides."""

    def __init__(self, path: Path):
        self.path = path
        self.folder = RunFolder(path, writable=False)
        self.problems: list[str] = []  # files missing or unreadable
        self.summary: dict = self._read(SUMMARY, lambda _: self.folder.read_summary(), {})
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
        try:
            return self.folder.read_metrics()
        except Exception:
            return []


def to_float(text: str | None) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None
