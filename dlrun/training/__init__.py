"""Training one run: set-up steps (setup.py), the resumable state (state.py), the loop (trainer.py)."""

import os


def torchrun_rank() -> int | None:
    """This process's rank when started by torchrun, else None (no torch import: the CLI asks)."""
    return int(os.environ["RANK"]) if "RANK" in os.environ and "WORLD_SIZE" in os.environ else None
