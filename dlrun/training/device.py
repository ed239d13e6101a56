import torch

from dlrun.errors import DlrunError


def select_device(name: str) -> torch.device:
    """`auto` picks cuda, then mps, then cpu. An explicit device that is absent is an error, never a
    silent fallback."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DlrunError(
                f"trainer.device={name} but CUDA is not available on this machine (use trainer.device=cpu or auto)"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DlrunError(f"trainer.device={name} but this machine has {torch.cuda.device_count()} CUDA device(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise DlrunError(f"trainer.device={name} but MPS is not available on this machine")
    return device


AUTOCAST_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
