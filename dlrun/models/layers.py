"""Small building blocks shared by the models."""

from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
    "silu": nn.SiLU,
}


def make_activation(name: str) -> nn.Module:
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation '{name}' (choose from: {', '.join(ACTIVATIONS)})") from None


def dense_block(
    in_features: int, out_features: int, activation: str, dropout: float, batch_norm: bool
) -> nn.Sequential:
    """Linear -> [BatchNorm] -> activation -> [Dropout]."""
    layers: list[nn.Module] = [nn.Linear(in_features, out_features)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(out_features))
    layers.append(make_activation(activation))
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def mlp_head(
    in_features: int, hidden, num_outputs: int, activation: str, dropout: float, batch_norm: bool = False
) -> nn.Sequential:
    """One dense block per hidden width, then a linear output layer."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers.append(dense_block(in_features, width, activation, dropout, batch_norm))
        in_features = width
    layers.append(nn.Linear(in_features, num_outputs))
    return nn.Sequential(*layers)
