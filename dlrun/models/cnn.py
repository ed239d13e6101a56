import torch
from torch import nn

from dlrun.models.layers import make_activation, mlp_head


def _per_block(value, n: int, name: str) -> list:
    values = list(value) if isinstance(value, (list, tuple)) else [value] * n
    if len(values) != n:
        raise ValueError(f"model.{name} has {len(values)} entries but model.channels has {n}")
    return values


class CNN(nn.Module):
    """Conv blocks (conv -> [batch norm] -> activation -> [2x pool]) then a fully-connected head.
    Conv1d for (channels, length) inputs such as signals, Conv2d for (channels, H, W) images."""

    def __init__(
        self,
        input_shape,
        num_outputs,
        channels=(32, 64),
        kernel_size=5,
        stride=1,
        padding="same",
        pool="max",
        hidden=(128,),
        activation="relu",
        dropout=0.0,
        batch_norm=False,
    ):
        super().__init__()
        if len(input_shape) not in (2, 3):
            raise ValueError(
                f"model=cnn needs signal (C, L) or image (C, H, W) inputs; this dataset "
                f"gives {tuple(input_shape)}: use model=mlp or model=rnn"
            )
        two_d = len(input_shape) == 3
        Conv = nn.Conv2d if two_d else nn.Conv1d
        Norm = nn.BatchNorm2d if two_d else nn.BatchNorm1d
        Pool = {
            "max": nn.MaxPool2d if two_d else nn.MaxPool1d,
            "avg": nn.AvgPool2d if two_d else nn.AvgPool1d,
            "none": None,
        }[pool]
        n = len(channels)
        kernels, strides = _per_block(kernel_size, n, "kernel_size"), _per_block(stride, n, "stride")
        layers: list[nn.Module] = []
        in_ch, size = input_shape[0], list(input_shape[1:])  # spatial size, tracked block by block
        for i, (out_ch, k, s) in enumerate(zip(channels, kernels, strides), 1):
            pad = k // 2 if padding == "same" else int(padding)
            size = [(n + 2 * pad - k) // s + 1 for n in size]
            if min(size) < 1:
                raise ValueError(
                    f"model=cnn: conv block {i} (kernel {k}, padding {pad}) does not fit the "
                    f"{tuple(input_shape[1:])} input: use padding=same or fewer blocks"
                )
            layers.append(Conv(in_ch, out_ch, k, stride=s, padding=pad))
            if batch_norm:
                layers.append(Norm(out_ch))
            layers.append(make_activation(activation))
            if Pool is not None and min(size) >= 2:  # small inputs (8x8 digits): stop pooling at 1 pixel
                layers.append(Pool(2))
                size = [n // 2 for n in size]
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        with torch.no_grad():
            flat = self.features(torch.zeros(1, *input_shape)).numel()
        self.head = mlp_head(flat, list(hidden), num_outputs, activation, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))
