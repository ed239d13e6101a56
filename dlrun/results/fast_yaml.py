"""Reading a run folder's YAML files fast enough for `dlrun compare` on thousands of runs:
OmegaConf.load costs ~3 ms a file (most of 2,000 runs' 10 s), libyaml with OmegaConf's own
implicit types (`1e-3` is a float, no timestamps) ~0.2 ms. Interpolations Hydra leaves in
config.yaml (`${oc.select:regularization.dropout.p,0.0}`, `${key}`, `${oc.env:NAME,'default'}`) are
resolved here; any other interpolation goes through OmegaConf (`resolve` in dlrun.results.run_folder)."""

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from omegaconf._utils import get_yaml_loader

_CLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Loader(_CLoader):
    """libyaml where installed, typed as OmegaConf types scalars."""


Loader.yaml_implicit_resolvers = get_yaml_loader().yaml_implicit_resolvers

SELECT = re.compile(r"^\$\{(?:oc\.select:)?([\w.]+)(?:,(.*))?\}$")
ENV = re.compile(r"^\$\{oc\.env:([A-Za-z_]\w*)(?:,\s*(?:'([^']*)'|\"([^\"]*)\"))?\}$")  # a quoted default
CHOICES = "\n    choices:\n"  # hydra.yaml as Hydra writes it: hydra: / runtime: / choices:


def load_yaml(file: Path) -> Any:
    with open(file) as f:
        return yaml.load(f, Loader=Loader)


def hydra_choices(file: Path) -> dict[str, Any]:
    """hydra.yaml's `hydra.runtime.choices`, parsing only that block (the whole file is ~160 lines;
    the full parse when the block is not where Hydra writes it)."""
    text = file.read_text()
    start = text.find(CHOICES)
    if start < 0:
        return load_yaml(file)["hydra"]["runtime"]["choices"]
    lines = []
    for line in text[start + len(CHOICES) :].splitlines():
        if not line.startswith("      "):
            break
        lines.append(line[6:])
    return yaml.load("\n".join(lines), Loader=Loader) or {}


def resolve_simple(flat: dict[str, Any], raw: str) -> tuple[bool, Any]:
    """(True, value) for `${key}` / `${oc.select:key,default}` of a leaf of the same config and
    `${oc.env:NAME}` / `${oc.env:NAME,'default'}`; (False, None) for anything else."""
    env = ENV.match(raw)
    if env:
        name, single, double = env.groups()
        default = single if single is not None else double
        if name in os.environ:
            return True, os.environ[name]
        return (True, default) if default is not None else (False, None)
    m = SELECT.match(raw)
    if not m:
        return False, None
    key, default = m.groups()
    if key in flat:
        value = flat[key]
        return (False, None) if isinstance(value, str) and "${" in value else (True, value)
    if any(k.startswith(key + ".") for k in flat):
        return False, None  # a whole subtree: OmegaConf builds it
    if default is None:
        return (True, None) if raw.startswith("${oc.select:") else (False, None)
    return True, yaml.load(default, Loader=Loader)


def flat_config(file: Path, flatten: Callable[[Any], dict], resolve: Callable[[Any, str, Any], Any]) -> dict:
    """config.yaml flattened ({"optim.lr": 0.01, ...}), interpolations resolved where they can be;
    `resolve(cfg, key, raw)` is the OmegaConf fallback, given the config as OmegaConf loads it."""
    raw = load_yaml(file) or {}
    flat = flatten(raw)
    cfg = None
    for key, value in flat.items():
        if isinstance(value, str) and "${" in value:
            done, found = resolve_simple(flat, value)
            if not done:
                if cfg is None:
                    from omegaconf import OmegaConf

                    cfg = OmegaConf.create(raw)
                found = resolve(cfg, key, value)
            flat[key] = found
    return flat
