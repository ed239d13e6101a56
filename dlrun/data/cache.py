"""An on-disk cache of decoded tensors: a dataset is decoded once, later runs load one file."""

import logging
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from dlrun.results.run_folder import atomic_write

log = logging.getLogger("dlrun")

CACHE_DIR = "dlrun-cache"  # under a dataset's root: what dlrun decoded or split once


def cached_tensors(path: Path, build: Callable[[], dict]) -> dict:
    """The dict of tensors saved at `path`, or `build()`'s result, saved there atomically first."""
    if path.exists():
        try:
            return torch.load(path, weights_only=True)
        except Exception as e:  # an unreadable cache is rebuilt, never fatal
            warn_rebuilding(path, e)
    tensors = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: torch.save(tensors, f))
    log.info("decoded tensors cached in %s", path)
    return tensors


def warn_rebuilding(path: Path, error: BaseException) -> None:
    """A damaged cache file is rebuilt: said on the terminal and in the run's log."""
    why = (str(error).splitlines() or [type(error).__name__])[0]
    print(f"dlrun: warning: rebuilding the damaged cache {path} ({why})", file=sys.stderr)
    log.warning("rebuilding the damaged cache %s (%s)", path, why)
