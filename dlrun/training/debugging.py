"""Settings for checking a config rather than training it: `trainer.limit_batches=N` (short
passes), `trainer.overfit_batches=N` (train and validate on the same N batches) and
`trainer.fast_dev_run=true` (one batch of each pass, one epoch, no checkpoints, in a temporary
folder). They act on the data (fewer samples in val/test, the same ones in train and val) and on
the number of training batches per epoch; the loop itself is the ordinary one."""

import copy
import dataclasses
import math

from omegaconf import DictConfig, open_dict

from dlrun.data.core import Data, HostSplit, Split


def dev_run_config(cfg: DictConfig) -> DictConfig:
    """fast_dev_run=true means one epoch of one batch per pass."""
    if not cfg.trainer.fast_dev_run:
        return cfg
    cfg = copy.deepcopy(cfg)  # the caller's config stays as it was
    with open_dict(cfg):
        cfg.trainer.epochs, cfg.trainer.limit_batches = 1, 1
    return cfg


def head(split: Split | HostSplit, n: int) -> Split | HostSplit:
    """The first `n` samples of a split (a view, no copy on the fast path)."""
    if isinstance(split, HostSplit):  # its rows of raw_x: the first n of its index, or of raw_x
        if split.index is not None:
            return dataclasses.replace(split, index=split.index[:n], y=split.y[:n])
        return dataclasses.replace(split, raw_x=split.raw_x[:n], y=split.y[:n])
    return Split(split.x[:n], split.y[:n])


def limit_data(data: Data, t: DictConfig) -> Data:
    """overfit_batches=N: train = val = the first N batches of the (already shuffled) training
    split; limit_batches=N: val and test keep their first N batches of batch_size."""
    batch = len(data.train) if t.batch_size == "full" else int(t.batch_size)
    if t.overfit_batches:
        same = head(data.train, t.overfit_batches * batch)
        data = dataclasses.replace(data, train=same, val=same)
    if t.limit_batches:
        n = t.limit_batches * batch
        data = dataclasses.replace(data, val=head(data.val, n), test=head(data.test, n))
    return data


def batches_per_epoch(shard_size: int, batch_size: int, limit: int | None) -> int:
    return min(math.ceil(shard_size / batch_size), limit or math.inf)
