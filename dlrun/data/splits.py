"""Which training samples validate: a seeded random fraction (trainer.val_fraction; 0 = none, the
MNIST-1D paper's protocol), or fold i of K for cross-validation (dataset.folds=K, dataset.fold=i:
scikit-learn's StratifiedKFold for classification, KFold for regression, shuffled with the seed).
`check_folds` is the check of K against the data that runs before a run folder exists."""

import json

import numpy as np
import torch

from dlrun.errors import DlrunError


def split_indices(
    y: torch.Tensor, val_fraction: float, seed: int, classification: bool, folds: int | None = None, fold: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """(train_idx, val_idx) into the training samples; train_idx in a seeded random order, so that
    its first N are a seeded random subset (dataset.train_subset)."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(y), generator=generator)
    if not folds:
        n_val = max(1, round(val_fraction * len(y))) if val_fraction > 0 else 0
        return order[n_val:], order[:n_val]
    from sklearn.model_selection import KFold, StratifiedKFold

    labels = y.numpy()
    check_fold_sizes(labels, folds, classification)
    splitter = (StratifiedKFold if classification else KFold)(folds, shuffle=True, random_state=seed)
    train, val = list(splitter.split(np.zeros(len(labels)), labels if classification else None))[fold]
    train = torch.as_tensor(train)
    return train[torch.randperm(len(train), generator=generator)], torch.as_tensor(val)


def check_fold_sizes(labels: np.ndarray, folds: int, classification: bool) -> None:
    if classification:
        classes, counts = np.unique(labels, return_counts=True)
        smallest = int(counts.argmin())
        if folds > counts[smallest]:
            raise DlrunError(
                f"dataset.folds={folds} is larger than the smallest class (class {classes[smallest]} "
                f"has {counts[smallest]} training samples): use at most {counts[smallest]} folds"
            )
    elif folds > len(labels):
        raise DlrunError(f"dataset.folds={folds} is larger than the {len(labels)} training samples")


_checked: set[str] = set()


def check_folds(dataset_cfg) -> None:
    """Load the dataset's training labels and check dataset.folds against them (once per dataset
    config in this process: a sweep over dataset.fold checks its data once)."""
    from omegaconf import OmegaConf

    from dlrun.config.instantiate import instantiate_without
    from dlrun.config.schema import dataset_keys

    key = json.dumps(OmegaConf.to_container(dataset_cfg, resolve=True), sort_keys=True, default=str)
    if key in _checked:
        return
    raw = instantiate_without(dataset_cfg, dataset_keys())
    labels = np.asarray(raw.y_train)
    check_fold_sizes(labels, dataset_cfg.folds, raw.num_classes > 0)
    _checked.add(key)
