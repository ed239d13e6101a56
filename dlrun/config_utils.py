"""Small helpers over OmegaConf/Hydra configs."""

from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf


def instantiate_without(cfg: DictConfig, drop: tuple[str, ...], **kwargs: Any) -> Any:
    """`hydra.utils.instantiate` on `cfg` minus dlrun's own keys (`drop`), which the target does not take."""
    node = OmegaConf.to_container(cfg, resolve=True)
    for key in drop:
        node.pop(key, None)
    return instantiate(node, **kwargs)
