"""`dataset.sampler=balanced`: each training epoch draws as many samples as the training split
holds, with replacement, each with probability proportional to 1 / (its class's count), so every
class is drawn equally often in expectation (PyTorch's WeightedRandomSampler recipe, on the index
path of batches.py). Validation and test are untouched. `random` (the default): a permutation."""

import torch

from dlrun.errors import DlrunError


def sample_weights(sampler: str, data) -> torch.Tensor | None:
    """Per-sample drawing weights (float64, on the CPU, where the generator draws), or None."""
    if sampler == "random":
        return None
    if not data.is_classification:
        raise DlrunError("dataset.sampler=balanced needs a classification dataset (this one is regression)")
    y = data.train.y.cpu()
    counts = torch.bincount(y, minlength=data.num_classes).double()
    return (1.0 / counts)[y]
