"""An on-disk cache of decoded tensors: a dataset is decoded once, later runs load one file."""

import logging
import sys
import warnings
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
            with warnings.catch_warnings():  # garbage can look like an unusual pickle protocol
                warnings.simplefilter("ignore")
                return torch.load(path, weights_only=True)
        except Exception as e:  # an unreadable cache is rebuilt, never fatal
            warn_rebuilding(path, e)
    tensors = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: torch.save(tensors, f))
    log.info("decoded tensors cached in %s", path)
    return tensors


def warn_rebuilding(path: Path, error: BaseException) -> None:
    """A damaged cache file is rebuilt: said on the terminal and in the run's log, with a reason
    a user can act on (not the unpickler's own words, often a bare number)."""
    why = unreadable_reason(path, error)
    print(f"dlrun: warning: rebuilding the damaged cache {path} ({why})", file=sys.stderr)
    log.warning("rebuilding the damaged cache %s (%s)", path, why)


def unreadable_reason(path: Path, error: BaseException) -> str:
    """Why a cache file could not be read, in a user's words: the system's reason for a file that
    cannot be opened, else what the file is not (a .pt torch file, an .npz archive)."""
    if isinstance(error, OSError) and error.strerror:  # permission denied, ...
        return error.strerror.lower()
    what = {".pt": "torch file", ".npz": ".npz archive"}.get(Path(path).suffix.lower(), "cache file")
    return f"not a readable {what}: truncated or overwritten"
