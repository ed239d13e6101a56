"""Datasets. A dataset config names a loader (`_target_`) that returns `RawData`: numpy or torch
arrays for train and test. `prepare` turns that into a `Data`: a seeded validation split,
normalization with training statistics, float tensors on the training device.

Add a dataset by writing a loader function and a YAML file in conf/dataset/ that points at it."""

from dlrun.data.batches import iterate_batches
from dlrun.data.core import Data, RawData, Split, prepare

__all__ = ["Data", "RawData", "Split", "prepare", "iterate_batches"]
