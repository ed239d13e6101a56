import math

import torch
from torch import nn

from dlrun.models.layers import dense_block


class MLP(nn.Module):
    """Fully-connected net over the flattened input. With `residual`, a hidden layer whose input
    and output widths match computes h + f(h) (the MNIST-1D paper's MLP)."""

    def __init__(
        self,
        input_shape,
        num_outputs,
        hidden=(256, 128),
        activation="relu",
        residual=False,
        dropout=0.0,
        batch_norm=False,
    ):
        super().__init__()
        in_features = math.prod(input_shape)
        self.blocks = nn.ModuleList()
        self.skips: list[bool] = []
        for width in hidden:
            self.blocks.append(dense_block(in_features, width, activation, dropout, batch_norm))
            self.skips.append(residual and in_features == width)
            in_features = width
        self.out = nn.Linear(in_features, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.flatten(1)
        for block, skip in zip(self.blocks, self.skips):
            h = h + block(h) if skip else block(h)
        return self.out(h)
