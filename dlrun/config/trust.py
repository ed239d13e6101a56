"""A run folder is data, not code. Files in a run folder (`.hydra/overrides.yaml`, `config.yaml`,
`hydra.yaml`) may come from anyone; what they name must never choose a callable. Before a command
instantiates a config rebuilt from a run folder (`dlrun resume`, and eval/predict/export), every
`_target_` in it, nested ones too, must be one this user trusts:

- dlrun's own components: the targets of the config groups dlrun ships (conf/, package dlrun.conf),
  which include the torch optimizers and schedulers those groups use, and the schema's targets;
- the user's own: targets named on the current command line, or in a config folder given on the
  current command line (--config-dir).

Anything else is a DlrunError naming the key and the target; nothing is imported or called."""

from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from dlrun.errors import DlrunError

TARGET = "_target_"


def targets_in(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(key, value) of every `_target_` in a plain container or an OmegaConf node, at any depth.
    OmegaConf values that are interpolations are resolved (a `_target_` given as `${...}`)."""
    if isinstance(node, (DictConfig, ListConfig)):
        node = OmegaConf.to_container(node, resolve=False)
    if isinstance(node, dict):
        for k, v in node.items():
            key = f"{path}.{k}" if path else str(k)
            if k == TARGET:
                yield key, v
            else:
                yield from targets_in(v, key)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from targets_in(v, f"{path}[{i}]")


def _yaml_files(folder: Path) -> Iterable[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def targets_in_folder(folder: str | Path) -> set[str]:
    """The `_target_` values written in a config folder's YAML files."""
    found = set()
    for p in _yaml_files(Path(folder)):
        try:
            node = OmegaConf.load(p)
        except Exception:  # not a config: names nothing
            continue
        found |= {v for _, v in targets_in(node) if isinstance(v, str)}
    return found


@lru_cache(maxsize=1)
def dlrun_targets() -> frozenset[str]:
    """dlrun's own components: what its shipped config groups and its schema name."""
    import dlrun.conf
    from dlrun.config.schema import SCHEMAS

    shipped = targets_in_folder(Path(dlrun.conf.__file__).parent)
    return frozenset(shipped | {t for group in SCHEMAS.values() for t in group if t})


def targets_in_overrides(overrides: list[str]) -> set[str]:
    """The targets a list of command-line overrides names (`model._target_=pkg.Net`, or a dict value
    `model={_target_: pkg.Net, ...}`)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    found = set()
    for o in OverridesParser.create().parse_overrides(overrides):
        value = o.value()
        if o.key_or_group.split(".")[-1] == TARGET and isinstance(value, str):
            found.add(value)
        found |= {v for _, v in targets_in(value) if isinstance(v, str)}
    return found


def trusted_targets(config_dirs: list[str] = (), overrides: list[str] = ()) -> frozenset[str]:
    """dlrun's targets plus the user's own ones from the current command line."""
    user = set(targets_in_overrides(list(overrides)))
    for d in config_dirs:
        user |= targets_in_folder(d)
    return dlrun_targets() | user


def check_targets(cfg: DictConfig, trusted: Iterable[str], source: str) -> None:
    """Raise DlrunError unless every `_target_` in `cfg` is in `trusted`. `source` names where the
    config came from (e.g. the run folder), for the message."""
    trusted = set(trusted)
    for key, value in targets_in(cfg):
        if isinstance(value, str) and "${" in value:
            try:
                value = OmegaConf.select(cfg, key.replace("[", ".").replace("]", ""), throw_on_resolution_failure=True)
            except Exception:
                value = None
        if not isinstance(value, str) or value not in trusted:
            raise DlrunError(
                f"{key}={value} in {source} is neither a dlrun component nor named on this "
                "command line: a run folder cannot choose code to run (name your own on the "
                "command line or with --config-dir)"
            )


def check_folder_config(run_dir: str | Path, overrides: list[str] = (), config_dirs: list[str] = ()) -> DictConfig:
    """For commands that instantiate a run folder's own `.hydra/config.yaml` (eval, predict,
    export): that config, once every `_target_` in it is trusted (`overrides`, `config_dirs`: what
    this command line names)."""
    path = Path(run_dir) / ".hydra" / "config.yaml"
    try:
        cfg = OmegaConf.load(path)
    except Exception as e:
        raise DlrunError(f"{path} cannot be read: {(str(e).splitlines() or [type(e).__name__])[0]}") from e
    check_targets(cfg, trusted_targets(list(config_dirs), list(overrides)), str(path))
    return cfg
