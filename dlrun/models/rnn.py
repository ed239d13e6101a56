import torch
from torch import nn

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def as_sequence(x: torch.Tensor) -> torch.Tensor:
    """(N, C, L) signal -> (N, L, C); (N, C, H, W) image -> rows (N, H, C*W); (N, F) -> (N, F, 1)."""
    if x.dim() == 2:
        return x.unsqueeze(-1)
    if x.dim() == 3:
        return x.transpose(1, 2)
    n, c, h, w = x.shape
    return x.permute(0, 2, 1, 3).reshape(n, h, c * w)


class RNN(nn.Module):
    """Recurrent net (vanilla RNN, LSTM or GRU) reading the input step by step, then a linear layer
    on the readout: the last hidden state, the mean over steps, or every step flattened (`all`)."""

    def __init__(
        self,
        input_shape,
        num_outputs,
        cell="lstm",
        hidden_size=64,
        num_layers=1,
        bidirectional=False,
        readout="last",
        dropout=0.0,
    ):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"unknown model.cell '{cell}' (choose from: {', '.join(CELLS)})")
        if readout not in ("last", "mean", "all"):
            raise ValueError(f"unknown model.readout '{readout}' (choose from: last, mean, all)")
        steps, features = as_sequence(torch.zeros(1, *input_shape)).shape[1:]
        self.rnn = CELLS[cell](
            features,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.readout = readout
        width = hidden_size * (2 if bidirectional else 1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.out = nn.Linear(width * steps if readout == "all" else width, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.rnn(as_sequence(x))
        if self.readout == "all":
            h = outputs.flatten(1)
        elif self.readout == "mean":
            h = outputs.mean(1)
        else:
            # last step forward; for a bidirectional net its backward half saw the whole sequence at step 0
            half = self.rnn.hidden_size
            h = (
                outputs[:, -1]
                if not self.rnn.bidirectional
                else torch.cat([outputs[:, -1, :half], outputs[:, 0, half:]], dim=1)
            )
        return self.out(self.dropout(h))
