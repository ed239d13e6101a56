"""Models. Each takes the dataset's `input_shape` (per sample) and `num_outputs` from dlrun,
the rest from its config group (conf/model/*.yaml)."""

from dlrun.models.cnn import CNN
from dlrun.models.mlp import MLP
from dlrun.models.rnn import RNN

__all__ = ["MLP", "CNN", "RNN"]
