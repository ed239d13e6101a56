"""Fine-tuning: `model.init_from=RUN_DIR` (its checkpoints/best.pt) or `=FILE.pt` copies a trained
model's weights into the new run's model before training. Tensors whose name and shape match are
copied; the others (e.g. a new output layer for another class count) keep their fresh
initialization and are listed. `model.freeze=[prefix, ...]` stops training the parameters whose
names start with a prefix (`blocks.0` freezes blocks.0.*). These are dlrun's keys, not the model
class's: `build_model` leaves them out."""

import logging
from pathlib import Path

from dlrun.errors import DlrunError

log = logging.getLogger("dlrun")


def build_model(model_cfg, input_shape, num_outputs: int):
    """The model a `model` config describes (without dlrun's own keys), for inputs of
    `input_shape` and `num_outputs` outputs: the one way dlrun builds a model from a config."""
    from dlrun.config.instantiate import instantiate_without
    from dlrun.config.schema import model_keys

    return instantiate_without(
        model_cfg, model_keys(), input_shape=tuple(input_shape), num_outputs=num_outputs, _convert_="all"
    )


def checkpoint_path(init_from: str) -> Path:
    p = Path(init_from).expanduser()
    if p.is_dir():
        for name in ("best.pt", "last.pt"):
            if (p / "checkpoints" / name).is_file():
                return p / "checkpoints" / name
        raise DlrunError(f"{init_from} has no checkpoints/best.pt or last.pt to initialize from")
    if not p.is_file():
        raise DlrunError(f"{init_from}: no such run folder or .pt file")
    return p


def check_init(init_from: str | None, freeze) -> None:
    """Before the run folder exists: the source exists (its contents are checked when loading)."""
    if init_from is not None:
        checkpoint_path(init_from)
    if any(not isinstance(f, str) or not f for f in freeze):
        raise DlrunError(f"model.freeze takes parameter-name prefixes (got {list(freeze)})")


def _shape(t) -> str:
    return "x".join(map(str, t.shape)) or "scalar"


def init_model(model, cfg) -> None:
    import torch

    init_from, freeze = cfg.get("init_from"), list(cfg.get("freeze") or [])
    if init_from:
        path = checkpoint_path(init_from)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:
            why = e.strerror.lower() if isinstance(e, OSError) and e.strerror else "not a PyTorch checkpoint"
            raise DlrunError(f"model.init_from: {path}: {why} (give a dlrun run folder or a .pt checkpoint)") from e
        source = state.get("model", state) if isinstance(state, dict) else None
        if not isinstance(source, dict):
            raise DlrunError(f"model.init_from: {path} holds no state dict")
        own = model.state_dict()
        loaded = {k: v for k, v in source.items() if k in own and v.shape == own[k].shape}
        if not loaded:
            raise DlrunError(f"model.init_from: no tensor of {path} fits this model (names or shapes differ)")
        fresh = [
            f"{k} ({_shape(source[k])} -> {_shape(v)})" if k in source else f"{k} (not in the source)"
            for k, v in own.items()
            if k not in loaded
        ]
        model.load_state_dict({**own, **loaded})
        note = f"initialized from {path}: {len(loaded)} of {len(own)} tensors"
        if fresh:
            note += "; re-initialized: " + ", ".join(fresh)
        log.info(note)
        print(note, flush=True)
    if freeze:
        named = dict(model.named_parameters())
        for prefix in freeze:
            hits = [n for n in named if n == prefix or n.startswith(prefix.rstrip(".") + ".")]
            if not hits:
                tops = sorted({n.split(".")[0] for n in named})
                raise DlrunError(f"model.freeze: no parameter starts with '{prefix}' (top-level: {', '.join(tops)})")
            for n in hits:
                named[n].requires_grad_(False)
        frozen = sum(p.numel() for p in named.values() if not p.requires_grad)
        note = f"frozen: {', '.join(freeze)} ({frozen:,} of {sum(p.numel() for p in named.values()):,} parameters)"
        log.info(note)
        print(note, flush=True)
