"""The typed schema of a dlrun config: one dataclass per config-group choice, checked against the
composed config before anything runs. OmegaConf checks types (`optim.lr=abc` fails) and unknown
keys; each dataclass's `__post_init__` checks ranges. `validate(cfg)` raises DlrunError with one
line naming the key."""

import math
import re
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Optional

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from dlrun.errors import DlrunError


class Invalid(ValueError):
    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key, self.message = key, message


def _positive(obj, *names):
    for n in names:
        if getattr(obj, n) <= 0:
            raise Invalid(n, f"must be > 0 (got {getattr(obj, n)})")


def _non_negative(obj, *names):
    for n in names:
        if getattr(obj, n) < 0:
            raise Invalid(n, f"must be >= 0 (got {getattr(obj, n)})")


def _fraction(obj, name, low_open=False):
    v = getattr(obj, name)
    if not ((0 < v) if low_open else (0 <= v)) or not v < 1:
        raise Invalid(name, f"must be in {'(' if low_open else '['}0, 1) (got {v})")


def _one_of(obj, name, choices):
    if getattr(obj, name) not in choices:
        raise Invalid(name, f"must be one of {', '.join(map(str, choices))} (got {getattr(obj, name)!r})")


# -- dataset ---------------------------------------------------------------------------------------
@dataclass
class Augment:
    """regularization.augment, and an image dataset's recipe for it (dataset.augment)."""
    shift: int = 0       # random shifts of up to this many pixels (pad, then crop)
    hflip: bool = False  # random horizontal flips

    def __post_init__(self):
        _non_negative(self, "shift")


@dataclass
class _Dataset:
    """dlrun's own keys of every dataset (train.DATASET_KEYS); the loader gets the rest."""
    _target_: str = ""
    train_subset: Optional[int] = None
    class_weights: Any = None
    max_memory_gb: float = 4.0

    def __post_init__(self):
        if self.train_subset is not None and self.train_subset < 1:
            raise Invalid("train_subset", f"must be >= 1 or null (got {self.train_subset})")
        _positive(self, "max_memory_gb")
        w = self.class_weights
        if not (w is None or w == "balanced" or isinstance(w, list)):
            raise Invalid("class_weights", f"must be balanced, a list of weights or null (got {w!r})")


@dataclass
class MNIST1D(_Dataset):
    root: str = MISSING
    seed: int = 42


@dataclass
class SklearnSplit(_Dataset):
    test_fraction: float = 0.2
    seed: int = 0

    def __post_init__(self):
        super().__post_init__()
        _fraction(self, "test_fraction", low_open=True)


@dataclass
class Digits(SklearnSplit):
    augment: Augment = field(default_factory=Augment)


@dataclass
class TorchvisionImages(_Dataset):
    root: str = MISSING
    download: bool = True
    augment: Augment = field(default_factory=Augment)


@dataclass
class IdxImages(TorchvisionImages):
    search: list[str] = field(default_factory=list)


# -- model -----------------------------------------------------------------------------------------
ACTIVATIONS = ("relu", "gelu", "tanh", "sigmoid", "leaky_relu", "silu")


@dataclass
class _Model:
    _target_: str
    dropout: float = 0.0

    def __post_init__(self):
        _fraction(self, "dropout")


@dataclass
class MLP(_Model):
    hidden: list[int] = field(default_factory=list)
    activation: str = "relu"
    residual: bool = False
    batch_norm: bool = False

    def __post_init__(self):
        super().__post_init__()
        _one_of(self, "activation", ACTIVATIONS)
        if any(h < 1 for h in self.hidden):
            raise Invalid("hidden", f"widths must be >= 1 (got {self.hidden})")


@dataclass
class CNN(_Model):
    channels: list[int] = field(default_factory=list)
    kernel_size: Any = 3
    stride: Any = 1
    padding: Any = "same"
    pool: str = "max"
    hidden: list[int] = field(default_factory=list)
    activation: str = "relu"
    batch_norm: bool = False

    def __post_init__(self):
        super().__post_init__()
        _one_of(self, "activation", ACTIVATIONS)
        _one_of(self, "pool", ("max", "avg", "none"))
        if not self.channels or any(c < 1 for c in self.channels):
            raise Invalid("channels", f"needs at least one block, each >= 1 channel (got {self.channels})")


@dataclass
class RNN(_Model):
    cell: str = "lstm"
    hidden_size: int = 64
    num_layers: int = 1
    bidirectional: bool = False
    readout: str = "last"

    def __post_init__(self):
        super().__post_init__()
        _one_of(self, "cell", ("rnn", "lstm", "gru"))
        _one_of(self, "readout", ("last", "mean", "all"))
        _positive(self, "hidden_size", "num_layers")


# -- optimizer -------------------------------------------------------------------------------------
@dataclass
class _Optim:
    _target_: str
    _partial_: bool = True
    lr: float = 1e-3
    weight_decay: float = 0.0

    def __post_init__(self):
        _positive(self, "lr")
        _non_negative(self, "weight_decay")


@dataclass
class _Fusable(_Optim):
    """An optimizer torch.optim has a fused implementation of."""
    fused: bool = False


@dataclass
class SGD(_Fusable):
    momentum: float = 0.0
    nesterov: bool = False
    dampening: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        _non_negative(self, "momentum")
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise Invalid("nesterov", "needs momentum > 0 and dampening 0")


@dataclass
class Adam(_Fusable):
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    amsgrad: bool = False

    def __post_init__(self):
        super().__post_init__()
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise Invalid("betas", f"must be two values in [0, 1) (got {self.betas})")


@dataclass
class RMSprop(_Optim):
    alpha: float = 0.99
    momentum: float = 0.0
    eps: float = 1e-8
    centered: bool = False

    def __post_init__(self):
        super().__post_init__()
        _non_negative(self, "momentum")
        _fraction(self, "alpha")


@dataclass
class Adagrad(_Fusable):
    lr_decay: float = 0.0
    eps: float = 1e-10
    initial_accumulator_value: float = 0.0


# -- schedule --------------------------------------------------------------------------------------
@dataclass
class Constant:
    interval: str = "epoch"
    warmup_steps: int = 0

    def __post_init__(self):
        _one_of(self, "interval", ("epoch", "step"))
        _non_negative(self, "warmup_steps")


@dataclass
class _Sched(Constant):
    _target_: str = ""
    _partial_: bool = True


@dataclass
class StepLR(_Sched):
    step_size: int = 10
    gamma: float = 0.1

    def __post_init__(self):
        super().__post_init__()
        _positive(self, "step_size", "gamma")


@dataclass
class MultiStepLR(_Sched):
    milestones: list[int] = field(default_factory=list)
    gamma: float = 0.1

    def __post_init__(self):
        super().__post_init__()
        _positive(self, "gamma")


@dataclass
class ExponentialLR(_Sched):
    gamma: float = 0.95

    def __post_init__(self):
        super().__post_init__()
        _positive(self, "gamma")


@dataclass
class CosineAnnealingLR(_Sched):
    T_max: Optional[int] = None
    eta_min: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        _non_negative(self, "eta_min")


@dataclass
class ReduceLROnPlateau(_Sched):
    mode: str = "min"
    factor: float = 0.1
    patience: int = 5
    threshold: float = 1e-4
    min_lr: float = 0.0
    cooldown: int = 0

    def __post_init__(self):
        super().__post_init__()
        _one_of(self, "mode", ("min", "max"))
        _fraction(self, "factor", low_open=True)
        _non_negative(self, "patience", "min_lr", "cooldown")


@dataclass
class OneCycleLR(_Sched):
    max_lr: float = 1e-2
    total_steps: Optional[int] = None
    pct_start: float = 0.3
    anneal_strategy: str = "cos"
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    cycle_momentum: bool = True
    three_phase: bool = False

    def __post_init__(self):
        super().__post_init__()
        _positive(self, "max_lr", "div_factor", "final_div_factor")
        _fraction(self, "pct_start", low_open=True)
        _one_of(self, "anneal_strategy", ("cos", "linear"))
        if self.warmup_steps:
            raise Invalid("warmup_steps", "onecycle warms up on its own (pct_start); leave warmup_steps 0")


# -- regularization --------------------------------------------------------------------------------
@dataclass
class L1:
    weight: float = 1e-5

    def __post_init__(self):
        _non_negative(self, "weight")


@dataclass
class L2(L1):
    pass


@dataclass
class Dropout:
    p: float = 0.2

    def __post_init__(self):
        _fraction(self, "p")


@dataclass
class BatchNorm:
    enabled: bool = True


@dataclass
class LabelSmoothing:
    eps: float = 0.1

    def __post_init__(self):
        _fraction(self, "eps")


@dataclass
class EarlyStopping:
    monitor: str = "val_loss"
    mode: str = "min"
    patience: int = 5
    min_delta: float = 0.0

    def __post_init__(self):
        _one_of(self, "mode", ("min", "max"))
        _non_negative(self, "patience", "min_delta")


@dataclass
class GradClip:
    max_norm: float = 1.0

    def __post_init__(self):
        _positive(self, "max_norm")


REGULARIZATION = {"l1": L1, "l2": L2, "dropout": Dropout, "batchnorm": BatchNorm,
                  "label_smoothing": LabelSmoothing, "early_stopping": EarlyStopping,
                  "grad_clip": GradClip, "augment": Augment}


# -- logger ----------------------------------------------------------------------------------------
@dataclass
class CSVLogger:
    pass


@dataclass
class TensorBoardLogger:
    pass


LOGGERS = {"csv": CSVLogger, "tensorboard": TensorBoardLogger}


# -- trainer ---------------------------------------------------------------------------------------
@dataclass
class Trainer:
    epochs: int = 20
    batch_size: Any = 128
    val_fraction: float = 0.1
    device: str = "auto"
    precision: str = "fp32"
    seed: int = 0
    progress: bool = True
    monitor: str = "auto"
    checkpoint_every_steps: int = 0
    strategy: str = "single"
    compile: bool = False
    compile_backend: str = "inductor"

    def __post_init__(self):
        _one_of(self, "strategy", ("single", "ddp"))
        _positive(self, "epochs")
        _non_negative(self, "checkpoint_every_steps")
        if self.batch_size != "full" and not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            raise Invalid("batch_size", f"must be an integer >= 1 or 'full' (got {self.batch_size!r})")
        _fraction(self, "val_fraction", low_open=True)
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", self.device):
            raise Invalid("device", f"must be auto, cpu, cuda, cuda:N or mps (got {self.device!r})")
        _one_of(self, "precision", ("fp32", "bf16", "fp16"))
        if not re.fullmatch(r"auto|(val|train)_\w+", self.monitor):
            raise Invalid("monitor", f"must be auto or a metric such as val_acc or val_loss (got {self.monitor!r})")


# -- the whole config ------------------------------------------------------------------------------
def _by_target(*classes, module: str):
    return {f"{module}.{c.__name__}": c for c in classes}


SCHEMAS = {
    "dataset": {"dlrun.data.mnist1d.load_mnist1d": MNIST1D, "dlrun.data.sklearn_sets.load_digits": Digits,
                "dlrun.data.sklearn_sets.load_diabetes": SklearnSplit,
                "dlrun.data.vision.load_mnist": IdxImages, "dlrun.data.vision.load_fashion_mnist": IdxImages,
                "dlrun.data.vision.load_cifar10": TorchvisionImages},
    "model": {"dlrun.models.MLP": MLP, "dlrun.models.CNN": CNN, "dlrun.models.RNN": RNN},
    "optim": {"torch.optim.SGD": SGD, "torch.optim.Adam": Adam, "torch.optim.AdamW": Adam,
              "torch.optim.RMSprop": RMSprop, "torch.optim.Adagrad": Adagrad},
    "sched": {None: Constant, **_by_target(StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR,
                                           ReduceLROnPlateau, OneCycleLR, module="torch.optim.lr_scheduler")},
}


def _check(node: Any, schema: type, where: str) -> None:
    try:
        typed = OmegaConf.merge(OmegaConf.structured(schema), node)
        check_finite(OmegaConf.to_object(typed), where)  # builds the dataclass: runs __post_init__
    except Invalid as e:
        raise DlrunError(f"{where}.{e.key}: {e.message}") from e
    except OmegaConfBaseException as e:
        key = getattr(e, "full_key", None) or ""
        msg = str(e).splitlines()[0]
        if "not in struct" in msg or "Key '" in msg and "not" in msg:
            known = ", ".join(f.name for f in fields(schema) if not f.name.startswith("_"))
            raise DlrunError(f"unknown key {where}.{key} (known: {known})") from e
        raise DlrunError(f"{where}.{key}: {msg}" if key else f"{where}: {msg}") from e


def validate(cfg: DictConfig) -> None:
    """Check the composed config; raise DlrunError naming the first bad key."""
    try:
        resolved = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    except OmegaConfBaseException as e:
        raise DlrunError(str(e).splitlines()[0]) from e
    check_finite(OmegaConf.to_container(resolved), "")
    check_read(cfg)
    for group, schemas in SCHEMAS.items():
        node = resolved.get(group)
        if node is None:
            raise DlrunError(f"the config has no '{group}' section")
        target = node.get("_target_")
        if target in schemas:  # a user's own target (from --config-dir) is checked by itself
            _check(node, schemas[target], group)
    for group, schemas in (("regularization", REGULARIZATION), ("logger", LOGGERS)):  # multi-select
        for name, node in (resolved.get(group) or {}).items():
            if name not in schemas:
                raise DlrunError(f"unknown {group} '{name}' (choose from: {', '.join(schemas)})")
            _check(node, schemas[name], f"{group}.{name}")
    _check(resolved.trainer, Trainer, "trainer")


# -- checks over the whole config, whatever its schema (issue 13) ---------------------------------
SECTIONS = (*SCHEMAS, "regularization", "logger", "trainer")  # the top-level keys dlrun reads


def check_finite(value: Any, where: str) -> None:
    """No number anywhere (any field of any schema dataclass, any key of a user's own component,
    inside lists) may be nan or inf: such a value can never train. Raises DlrunError naming it."""
    if is_dataclass(value):
        items = ((f.name, getattr(value, f.name)) for f in fields(value))
    elif isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = ((f"[{i}]", v) for i, v in enumerate(value))
    else:
        if isinstance(value, float) and not math.isfinite(value):
            raise DlrunError(f"{where}: must be a finite number (got {value})")
        return
    for key, v in items:
        key = str(key)
        check_finite(v, f"{where}{key}" if key.startswith("[") or not where else f"{where}.{key}")


def check_read(cfg: DictConfig) -> None:
    """A top-level key (e.g. added with `+foo=1`) that dlrun does not read and no interpolation
    refers to would be silently ignored: refused."""
    text = None
    for key in cfg:
        if key in SECTIONS:
            continue
        text = text if text is not None else OmegaConf.to_yaml(cfg)
        if not re.search(r"\$\{[^}]*\b" + re.escape(str(key)) + r"\b", text):
            raise DlrunError(f"unknown key {key}: nothing reads it (dlrun reads: {', '.join(SECTIONS)})")
