"""Image augmentation on whole training batches, on the device: a random shift of up to `shift`
pixels each way (the same as torchvision's RandomCrop with `padding=shift`: pad, then crop back)
and a horizontal flip with probability 1/2. The random draws are small CPU tensors from a seeded
generator (the trainer's), so a run is reproducible on any device."""

import torch

from dlrun.errors import DlrunError


class BatchAugment:
    def __init__(self, shift: int, hflip: bool, fill: torch.Tensor, generator: torch.Generator):
        """`fill`: the per-channel value padding takes, shaped (1, C, 1, 1): a raw 0 (black),
        normalized, as torchvision pads before normalizing."""
        self.shift, self.hflip, self.fill, self.generator = shift, hflip, fill, generator

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.shift:
            x = random_shift(x, self.shift, self.fill, self.generator)
        if self.hflip:
            flip = (torch.rand(len(x), generator=self.generator) < 0.5).to(x.device)
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
        return x


def random_shift(x: torch.Tensor, shift: int, fill: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Pad (N, C, H, W) by `shift` with `fill`, then crop each sample back to H x W at a random offset."""
    n, c, h, w = x.shape
    hp, wp = h + 2 * shift, w + 2 * shift
    padded = fill.expand(n, c, hp, wp).contiguous()
    padded[:, :, shift : shift + h, shift : shift + w] = x
    dy, dx = torch.randint(0, 2 * shift + 1, (2, n, 1, 1), generator=generator).to(x.device)
    rows = torch.arange(h, device=x.device).view(h, 1)
    cols = torch.arange(w, device=x.device)
    flat = ((dy + rows) * wp + dx + cols).view(n, 1, h * w)  # where each output pixel comes from
    return padded.flatten(2).gather(2, flat.expand(n, c, h * w)).view(n, c, h, w)


def build_augment(cfg, data, generator: torch.Generator) -> BatchAugment | None:
    """The training-batch augmentation chosen by `regularization=[augment]` (None without it)."""
    if cfg is None:
        return None
    if len(data.input_shape) != 3:
        raise DlrunError(
            f"regularization=[augment] needs image data (C, H, W); this dataset gives {tuple(data.input_shape)}"
        )
    if not (cfg.shift or cfg.hflip):
        raise DlrunError(
            "regularization=[augment] does nothing here: this dataset has no augmentation "
            "recipe (dataset.augment); set regularization.augment.shift=N and/or hflip=true"
        )
    fill = (0 - data.mean) / data.std
    return BatchAugment(int(cfg.shift), bool(cfg.hflip), fill, generator)
