"""`regularization=[mixup]` and `[cutmix]` (timm's Mixup in "batch" mode), on whole training batches
on the device. Each batch is mixed with itself reversed (x.flip(0)) with one lam ~ Beta(alpha, alpha):
mixup blends the inputs, x = lam * x + (1 - lam) * x.flip(0); cutmix (images) pastes a random box
of area about 1 - lam from the reversed batch, and lam becomes the share actually kept. The targets
are mixed the same way, lam * onehot(y) + (1 - lam) * onehot(y.flip(0)), for a soft-target
cross-entropy (torch's CrossEntropyLoss takes class probabilities; label smoothing and class
weights apply as usual). With both chosen each batch uses one of them, with probability 1/2.

Train accuracy under mixing: a prediction counts as right when it is the label with the larger
share of the mixed sample (its own label when lam >= 0.5, else the reversed batch's).

The random draws (lam, the choice, the box) come from a seeded CPU generator (the trainer's
augmentation stream, saved in last.pt), so a resumed run mixes exactly as an uninterrupted one."""

import math

import numpy as np
import torch

from dlrun.errors import DlrunError


class BatchMix:
    def __init__(
        self, mixup_alpha: float | None, cutmix_alpha: float | None, num_classes: int, generator: torch.Generator
    ):
        self.mixup_alpha, self.cutmix_alpha = mixup_alpha, cutmix_alpha
        self.num_classes, self.generator = num_classes, generator

    def _beta(self, alpha: float) -> float:
        seed = int(torch.randint(2**31 - 1, (1,), generator=self.generator))
        return float(np.random.default_rng(seed).beta(alpha, alpha))

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(mixed inputs, soft targets, the label with the larger share of each sample)."""
        use_cutmix = self.cutmix_alpha is not None and (
            self.mixup_alpha is None or float(torch.rand(1, generator=self.generator)) < 0.5
        )
        if use_cutmix:
            lam = self._beta(self.cutmix_alpha)
            x, lam = cutmix(x, lam, self.generator)
        else:
            lam = self._beta(self.mixup_alpha)
            x = x * lam + x.flip(0) * (1 - lam)
        onehot = torch.nn.functional.one_hot(y, self.num_classes).float()
        target = onehot * lam + onehot.flip(0) * (1 - lam)
        return x, target, y if lam >= 0.5 else y.flip(0)


def cutmix(x: torch.Tensor, lam: float, generator: torch.Generator) -> tuple[torch.Tensor, float]:
    """Paste a box of x.flip(0) into x (timm's rand_bbox: side sqrt(1 - lam) of the image's, a
    uniform centre, clipped at the border); returns the batch and the share of x kept."""
    h, w = x.shape[-2:]
    ratio = math.sqrt(1 - lam)
    ch, cw = int(h * ratio), int(w * ratio)
    cy, cx = (int(v) for v in torch.randint(0, 1 << 30, (2,), generator=generator) % torch.tensor([h, w]))
    y0, y1 = max(cy - ch // 2, 0), min(cy + ch // 2, h)
    x0, x1 = max(cx - cw // 2, 0), min(cx + cw // 2, w)
    x = x.clone()
    x[..., y0:y1, x0:x1] = x.flip(0)[..., y0:y1, x0:x1]
    return x, 1 - (y1 - y0) * (x1 - x0) / (h * w)


def build_mix(reg, data, generator: torch.Generator) -> BatchMix | None:
    mixup, cut = reg.get("mixup"), reg.get("cutmix")
    if mixup is None and cut is None:
        return None
    if not data.is_classification:
        raise DlrunError("regularization=[mixup]/[cutmix] needs a classification dataset (this one is regression)")
    if cut is not None and len(data.input_shape) != 3:
        raise DlrunError(
            f"regularization=[cutmix] needs image data (C, H, W); this dataset gives "
            f"{tuple(data.input_shape)} (mixup works on any input)"
        )
    return BatchMix(mixup.alpha if mixup else None, cut.alpha if cut else None, data.num_classes, generator)
