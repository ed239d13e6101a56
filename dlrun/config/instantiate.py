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
            raise e.__cause__
        raise
