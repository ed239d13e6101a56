"""dlrun: a command-line deep-learning experiment runner built on Hydra and PyTorch."""

__version__ = "0.1.0"
