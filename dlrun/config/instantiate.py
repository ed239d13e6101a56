"""Small helpers over OmegaConf/Hydra configs."""

from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from dlrun.errors import DlrunError


def instantiate_without(cfg: DictConfig, drop: tuple[str, ...], **kwargs: Any) -> Any:
    """`hydra.utils.instantiate` on `cfg` minus dlrun's own keys (`drop`), which the target does not take."""
    node = OmegaConf.to_container(cfg, resolve=True)
    for key in drop:
        node.pop(key, None)
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as e:
        if isinstance(e.__cause__, DlrunError):  # the target's own one-line message, not Hydra's wrapper
            raise e.__cause__  # noqa: B904  (its own cause and context kept)
        if isinstance(e.__cause__, OSError):  # a missing, unreadable or wrong-kind path
            raise DlrunError(path_error(cfg, node, e.__cause__)) from e
        raise


def path_error(cfg: DictConfig, node: dict, error: OSError) -> str:
    """One line naming the config key whose path failed (`dataset.root=...`) and the file."""
    import os

    section = cfg._key() if hasattr(cfg, "_key") and cfg._key() else "config"
    failed = str(error.filename or "")
    keys = [
        (k, v)
        for k, v in node.items()
        if isinstance(v, str) and v and failed.startswith(os.path.expanduser(v).rstrip("/"))
    ]
    what = error.strerror or type(error).__name__
    if keys:
        k, v = max(keys, key=lambda kv: len(kv[1]))
        return f"{section}.{k}={v}: cannot use {failed}: {what}"
    return f"{section}: cannot use {failed or 'a path'}: {what}"
