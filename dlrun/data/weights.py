"""Class weights for the loss (`dataset.class_weights`), from the training split's labels."""

import torch

from dlrun.errors import DlrunError


def class_weights(spec, data, device: torch.device) -> torch.Tensor | None:
    """None, `balanced` (inverse class frequency, n / (k * count_c), as scikit-learn's
    class_weight="balanced"), or an explicit list of k weights."""
    if spec is None:
        return None
    if not data.is_classification:
        raise DlrunError("dataset.class_weights needs a classification dataset")
    k = data.num_classes
    if spec == "balanced":
        y = data.train.y.cpu()
        counts = torch.bincount(y, minlength=k).clamp_min(1).double()  # an absent class: no samples to weigh
        weights = len(y) / (k * counts)
    elif isinstance(spec, str):
        raise DlrunError(f"dataset.class_weights must be balanced or a list of {k} weights (got {spec!r})")
    else:
        weights = torch.tensor(list(spec), dtype=torch.float64)
        if len(weights) != k or (weights < 0).any():
            raise DlrunError(f"dataset.class_weights needs {k} non-negative weights (got {list(spec)})")
    return weights.float().to(device)
