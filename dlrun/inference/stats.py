"""data.json in a run folder: what a trained model needs to see new inputs as it saw its training
inputs: the input shape, the class count, the per-channel mean/std the inputs were standardized
with (training statistics), the target's mean/std (regression) and the loader's `meta` (a table's
column encoding, class names, image size and mode)."""

import json
import math
from pathlib import Path

from dlrun.results.run_folder import atomic_write

DATA_STATS = "data.json"


def save_data_stats(run_dir, data) -> None:
    stats = {
        "input_shape": list(data.input_shape),
        "num_classes": data.num_classes,
        "mean": data.mean.flatten().tolist(),
        "std": data.std.flatten().tolist(),
        "target_mean": data.target_mean,
        "target_std": data.target_std,
        "meta": data.meta,
    }
    text = json.dumps(stats, indent=1) + "\n"
    atomic_write(Path(run_dir) / DATA_STATS, lambda f: f.write(text.encode()))


def load_data_stats(run_dir) -> dict | None:
    p = Path(run_dir) / DATA_STATS
    return json.loads(p.read_text()) if p.is_file() else None


def normalizer(stats: dict, device="cpu"):
    """A function: raw inputs (N, *input_shape) -> standardized float32, as in training."""
    import torch

    shape = stats["input_shape"]
    bshape = [1, shape[0], *[1] * (len(shape) - 1)] if shape else [1]
    assert math.prod(bshape) == len(stats["mean"])
    mean = torch.tensor(stats["mean"], device=device).view(bshape)
    std = torch.tensor(stats["std"], device=device).view(bshape)
    return lambda x: torch.sub(x.to(device, torch.float32), mean).div_(std)
