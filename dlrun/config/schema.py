"""The typed schema of a dlrun config: one dataclass per config-group choice, checked against the
composed config before anything runs. OmegaConf checks types (`optim.lr=abc` fails) and unknown
keys; each dataclass's `__post_init__` checks ranges. `validate(cfg)` raises DlrunError with one
line naming the key."""

import math
import re
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

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

    shift: int = MISSING  # random shifts of up to this many pixels (pad, then crop)
    hflip: bool = MISSING  # random horizontal flips

    def __post_init__(self):
        _non_negative(self, "shift")


@dataclass
class DatasetOptions:
    """dlrun's own keys of every dataset (their defaults: `dataset:` in conf/config.yaml); the
    loader named by `_target_` gets the rest."""

    _target_: str = MISSING
    train_subset: int | None = MISSING
    class_weights: Any = MISSING
    max_memory_gb: float = MISSING
    augment: Augment | None = MISSING  # the dataset's recipe for regularization=[augment]
    folds: int | None = MISSING  # K-fold cross-validation: fold `fold` of `folds` validates (data/splits.py)
    fold: int = MISSING
    sampler: str = MISSING  # random | balanced (inverse class frequency, with replacement)

    def __post_init__(self):
        _one_of(self, "sampler", ("random", "balanced"))
        if self.train_subset is not None and self.train_subset < 1:
            raise Invalid("train_subset", f"must be >= 1 or null (got {self.train_subset})")
        if self.folds is not None and self.folds < 2:
            raise Invalid("folds", f"must be >= 2 or null (got {self.folds})")
        if not 0 <= self.fold < (self.folds or 1):
            raise Invalid(
                "fold",
                f"must be in 0..{self.folds - 1} for folds={self.folds} (got {self.fold})"
                if self.folds
                else f"needs dataset.folds (got fold={self.fold} without folds)",
            )
        _positive(self, "max_memory_gb")
        w = self.class_weights
        if not (w is None or w == "balanced" or isinstance(w, list)):
            raise Invalid("class_weights", f"must be balanced, a list of weights or null (got {w!r})")


@dataclass
class MNIST1D(DatasetOptions):
    root: str = MISSING
    seed: int = MISSING


@dataclass
class SklearnSplit(DatasetOptions):
    root: str = MISSING
    test_fraction: float = MISSING
    seed: int = MISSING

    def __post_init__(self):
        super().__post_init__()
        _fraction(self, "test_fraction", low_open=True)


@dataclass
class TorchvisionImages(DatasetOptions):
    root: str = MISSING
    download: bool = MISSING


@dataclass
class IdxImages(TorchvisionImages):
    search: list[str] = MISSING


@dataclass
class _OwnData(DatasetOptions):
    """A dataset from the user's files: the loader's own check runs here, so a bad file is one
    line before any run folder exists (dlrun.data.tabular / image_folder / arrays)."""

    path: str = MISSING

    def __post_init__(self):
        super().__post_init__()
        try:
            self.check_files()
        except DlrunError as e:
            raise Invalid("path", str(e)) from e


@dataclass
class CSVTable(_OwnData):
    target: str = MISSING
    task: str = MISSING
    categorical: list[str] = MISSING
    test_path: str | None = MISSING
    test_fraction: float = MISSING
    seed: int = MISSING

    def check_files(self):
        _one_of(self, "task", ("auto", "classification", "regression"))
        _fraction(self, "test_fraction", low_open=True)
        from dlrun.data.tabular import check_csv

        check_csv(self.path, self.target, self.task, self.categorical, self.test_path)


@dataclass
class ImageFolder(_OwnData):
    root: str = MISSING
    size: Any = MISSING
    mode: str = MISSING
    test_fraction: float = MISSING
    seed: int = MISSING

    def check_files(self):
        _fraction(self, "test_fraction", low_open=True)
        from dlrun.data.image_folder import check_image_folder

        check_image_folder(self.path, self.size, self.mode)


@dataclass
class NPZArrays(_OwnData):
    task: str = MISSING

    def check_files(self):
        _one_of(self, "task", ("auto", "classification", "regression"))
        from dlrun.data.arrays import check_npz

        check_npz(self.path, self.task)


# -- model -----------------------------------------------------------------------------------------
ACTIVATIONS = ("relu", "gelu", "tanh", "sigmoid", "leaky_relu", "silu")


@dataclass
class ModelOptions:
    """dlrun's own keys of every model (their defaults: `model:` in conf/config.yaml); the model
    class named by `_target_` gets the rest (and input_shape, num_outputs from the data)."""

    _target_: str = MISSING
    init_from: str | None = MISSING  # fine-tuning (dlrun.training.init): a run folder or a .pt
    freeze: list[str] = MISSING  # parameter-name prefixes not trained

    def __post_init__(self):
        from dlrun.training.init import check_init

        try:
            check_init(self.init_from, self.freeze)
        except DlrunError as e:
            raise Invalid("init_from" if self.init_from else "freeze", str(e)) from e


@dataclass
class _Model(ModelOptions):
    dropout: float = MISSING

    def __post_init__(self):
        super().__post_init__()
        _fraction(self, "dropout")
        if self.init_from is not None or self.freeze:
            from dlrun.training.init import check_init

            try:
                check_init(self.init_from, self.freeze)
            except DlrunError as e:
                raise Invalid("init_from", str(e)) from e


@dataclass
class MLP(_Model):
    hidden: list[int] = MISSING
    activation: str = MISSING
    residual: bool = MISSING
    batch_norm: bool = MISSING

    def __post_init__(self):
        super().__post_init__()
        _one_of(self, "activation", ACTIVATIONS)
        if any(h < 1 for h in self.hidden):
            raise Invalid("hidden", f"widths must be >= 1 (got {self.hidden})")


@dataclass
class CNN(_Model):
    channels: list[int] = MISSING
    kernel_size: Any = MISSING
    stride: Any = MISSING
    padding: Any = MISSING
    pool: str = MISSING
    hidden: list[int] = MISSING
    activation: str = MISSING
    batch_norm: bool = MISSING

    def __post_init__(self):
        super().__post_init__()
        _one_of(self, "activation", ACTIVATIONS)
        _one_of(self, "pool", ("max", "avg", "none"))
        if not self.channels or any(c < 1 for c in self.channels):
            raise Invalid("channels", f"needs at least one block, each >= 1 channel (got {self.channels})")


@dataclass
class RNN(_Model):
    cell: str = MISSING
    hidden_size: int = MISSING
    num_layers: int = MISSING
    bidirectional: bool = MISSING
    readout: str = MISSING

    def __post_init__(self):
        super().__post_init__()
        _one_of(self, "cell", ("rnn", "lstm", "gru"))
        _one_of(self, "readout", ("last", "mean", "all"))
        _positive(self, "hidden_size", "num_layers")


# -- optimizer -------------------------------------------------------------------------------------
@dataclass
class _Optim:
    _target_: str
    _partial_: bool = MISSING
    lr: float = MISSING
    weight_decay: float = MISSING

    def __post_init__(self):
        _positive(self, "lr")
        _non_negative(self, "weight_decay")


@dataclass
class _Fusable(_Optim):
    """An optimizer torch.optim has a fused implementation of."""

    fused: bool = MISSING


@dataclass
class SGD(_Fusable):
    momentum: float = MISSING
    nesterov: bool = MISSING
    dampening: float = MISSING

    def __post_init__(self):
        super().__post_init__()
        _non_negative(self, "momentum")
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise Invalid("nesterov", "needs momentum > 0 and dampening 0")


@dataclass
class Adam(_Fusable):
    betas: list[float] = MISSING
    eps: float = MISSING
    amsgrad: bool = MISSING

    def __post_init__(self):
        super().__post_init__()
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise Invalid("betas", f"must be two values in [0, 1) (got {self.betas})")


@dataclass
class RMSprop(_Optim):
    alpha: float = MISSING
    momentum: float = MISSING
    eps: float = MISSING
    centered: bool = MISSING

    def __post_init__(self):
        super().__post_init__()
        _non_negative(self, "momentum")
        _fraction(self, "alpha")


@dataclass
class Adagrad(_Fusable):
    lr_decay: float = MISSING
    eps: float = MISSING
    initial_accumulator_value: float = MISSING


# -- schedule --------------------------------------------------------------------------------------
@dataclass
class Constant:
    """dlrun's own keys of every schedule (their defaults: `sched:` in conf/config.yaml)."""

    interval: str = MISSING
    warmup_steps: int = MISSING

    def __post_init__(self):
        _one_of(self, "interval", ("epoch", "step"))
        _non_negative(self, "warmup_steps")


@dataclass
class _Sched(Constant):
    _target_: str = MISSING
    _partial_: bool = MISSING


@dataclass
class StepLR(_Sched):
    step_size: int = MISSING
    gamma: float = MISSING

    def __post_init__(self):
        super().__post_init__()
        _positive(self, "step_size", "gamma")


@dataclass
class MultiStepLR(_Sched):
    milestones: list[int] = MISSING
    gamma: float = MISSING

    def __post_init__(self):
        super().__post_init__()
        _positive(self, "gamma")


@dataclass
class ExponentialLR(_Sched):
    gamma: float = MISSING

    def __post_init__(self):
        super().__post_init__()
        _positive(self, "gamma")


@dataclass
class CosineAnnealingLR(_Sched):
    T_max: int | None = MISSING
    eta_min: float = MISSING

    def __post_init__(self):
        super().__post_init__()
        _non_negative(self, "eta_min")


@dataclass
class ReduceLROnPlateau(_Sched):
    mode: str = MISSING
    factor: float = MISSING
    patience: int = MISSING
    threshold: float = MISSING
    min_lr: float = MISSING
    cooldown: int = MISSING

    def __post_init__(self):
        super().__post_init__()
        _one_of(self, "mode", ("min", "max"))
        _fraction(self, "factor", low_open=True)
        _non_negative(self, "patience", "min_lr", "cooldown")


@dataclass
class OneCycleLR(_Sched):
    max_lr: float = MISSING
    total_steps: int | None = MISSING
    pct_start: float = MISSING
    anneal_strategy: str = MISSING
    div_factor: float = MISSING
    final_div_factor: float = MISSING
    cycle_momentum: bool = MISSING
    three_phase: bool = MISSING

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
    weight: float = MISSING

    def __post_init__(self):
        _non_negative(self, "weight")


@dataclass
class L2(L1):
    pass


@dataclass
class Dropout:
    p: float = MISSING

    def __post_init__(self):
        _fraction(self, "p")


@dataclass
class BatchNorm:
    enabled: bool = MISSING


@dataclass
class LabelSmoothing:
    eps: float = MISSING

    def __post_init__(self):
        _fraction(self, "eps")


@dataclass
class EarlyStopping:
    monitor: str = MISSING
    mode: str = MISSING
    patience: int = MISSING
    min_delta: float = MISSING

    def __post_init__(self):
        _one_of(self, "mode", ("min", "max"))
        _non_negative(self, "patience", "min_delta")


@dataclass
class GradClip:
    max_norm: float = MISSING

    def __post_init__(self):
        _positive(self, "max_norm")


@dataclass
class EMA:
    decay: float = MISSING
    warmup: bool = MISSING

    def __post_init__(self):
        _fraction(self, "decay", low_open=True)


@dataclass
class SWA:
    start: float = MISSING
    lr: float | None = MISSING
    anneal_epochs: int = MISSING

    def __post_init__(self):
        _fraction(self, "start")
        if self.lr is not None:
            _positive(self, "lr")
        _non_negative(self, "anneal_epochs")


@dataclass
class Mix:
    """regularization.mixup and regularization.cutmix."""

    alpha: float = MISSING

    def __post_init__(self):
        _positive(self, "alpha")


REGULARIZATION = {
    "l1": L1,
    "l2": L2,
    "dropout": Dropout,
    "batchnorm": BatchNorm,
    "label_smoothing": LabelSmoothing,
    "early_stopping": EarlyStopping,
    "grad_clip": GradClip,
    "augment": Augment,
    "ema": EMA,
    "swa": SWA,
    "mixup": Mix,
    "cutmix": Mix,
}


def parse_duration(text: str) -> float:
    """trainer.max_time: "HH:MM:SS" (hours may exceed 24; "DD:HH:MM:SS" too) -> seconds."""
    m = re.fullmatch(r"(?:(\d+):)?(\d+):([0-5]?\d):([0-5]?\d)", str(text).strip())
    if not m:
        raise ValueError(f"must be HH:MM:SS, e.g. 01:30:00 (got {text!r})")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in m.groups())
    return float(((days * 24 + hours) * 60 + minutes) * 60 + seconds)


# -- trainer ---------------------------------------------------------------------------------------
@dataclass
class Trainer:
    epochs: int = MISSING
    batch_size: Any = MISSING
    val_fraction: float = MISSING
    device: str = MISSING
    precision: str = MISSING
    seed: int = MISSING
    progress: bool = MISSING
    monitor: str = MISSING
    checkpoint_every_steps: int = MISSING
    strategy: str = MISSING
    compile: bool = MISSING
    compile_backend: str = MISSING
    accumulate: int = MISSING
    limit_batches: int | None = MISSING
    overfit_batches: int = MISSING
    fast_dev_run: bool = MISSING
    profile: bool = MISSING
    save_top_k: int = MISSING
    max_time: str | None = MISSING
    val_every: int = MISSING

    def __post_init__(self):
        _one_of(self, "strategy", ("single", "ddp"))
        if self.accumulate < 1:
            raise Invalid("accumulate", f"must be >= 1 (got {self.accumulate})")
        if self.save_top_k < 1:
            raise Invalid("save_top_k", f"must be >= 1 (got {self.save_top_k})")
        if self.limit_batches is not None and self.limit_batches < 1:
            raise Invalid("limit_batches", f"must be >= 1 or null (got {self.limit_batches})")
        _non_negative(self, "overfit_batches")
        _positive(self, "val_every")
        if self.max_time is not None:
            try:
                parse_duration(self.max_time)
            except ValueError as e:
                raise Invalid("max_time", str(e)) from e
        _positive(self, "epochs")
        _non_negative(self, "checkpoint_every_steps")
        if self.batch_size != "full" and not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            raise Invalid("batch_size", f"must be an integer >= 1 or 'full' (got {self.batch_size!r})")
        _fraction(self, "val_fraction")  # 0: no validation split (train on every training sample)
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", self.device):
            raise Invalid("device", f"must be auto, cpu, cuda, cuda:N or mps (got {self.device!r})")
        _one_of(self, "precision", ("fp32", "bf16", "fp16"))
        if not re.fullmatch(r"auto|(val|train)_\w+", self.monitor):
            raise Invalid("monitor", f"must be auto or a metric such as val_acc or val_loss (got {self.monitor!r})")


# -- the whole config ------------------------------------------------------------------------------
def _by_target(*classes, module: str):
    return {f"{module}.{c.__name__}": c for c in classes}


SCHEMAS = {
    "dataset": {
        "dlrun.data.mnist1d.load_mnist1d": MNIST1D,
        "dlrun.data.sklearn_sets.load_digits": SklearnSplit,
        "dlrun.data.sklearn_sets.load_diabetes": SklearnSplit,
        "dlrun.data.vision.load_mnist": IdxImages,
        "dlrun.data.vision.load_fashion_mnist": IdxImages,
        "dlrun.data.vision.load_cifar10": TorchvisionImages,
        "dlrun.data.tabular.load_csv": CSVTable,
        "dlrun.data.image_folder.load_image_folder": ImageFolder,
        "dlrun.data.arrays.load_npz": NPZArrays,
    },
    "model": {"dlrun.models.MLP": MLP, "dlrun.models.CNN": CNN, "dlrun.models.RNN": RNN},
    "optim": {
        "torch.optim.SGD": SGD,
        "torch.optim.Adam": Adam,
        "torch.optim.AdamW": Adam,
        "torch.optim.RMSprop": RMSprop,
        "torch.optim.Adagrad": Adagrad,
    },
    "sched": {
        None: Constant,
        **_by_target(
            StepLR,
            MultiStepLR,
            ExponentialLR,
            CosineAnnealingLR,
            ReduceLROnPlateau,
            OneCycleLR,
            module="torch.optim.lr_scheduler",
        ),
    },
}


def _check(node: Any, schema: type, where: str) -> None:
    """`node` against `schema`: types, unknown keys, missing keys (defaults live in the YAML only),
    ranges (each dataclass's __post_init__)."""
    try:
        typed = OmegaConf.merge(OmegaConf.structured(schema), node)
        check_finite(OmegaConf.to_object(typed), where)  # builds the dataclass: runs __post_init__
    except Invalid as e:
        raise DlrunError(f"{where}.{e.key}: {e.message}") from e
    except MissingMandatoryValue as e:  # a `???` in the YAML: the user gives it
        key = getattr(e, "full_key", None) or ""
        raise DlrunError(f"{where}.{key} is required: add {where}.{key}=...") from e
    except OmegaConfBaseException as e:
        key = getattr(e, "full_key", None) or ""
        msg = str(e).splitlines()[0]
        if "not in struct" in msg or "Key '" in msg and "not" in msg:
            known = ", ".join(f.name for f in fields(schema) if not f.name.startswith("_"))
            raise DlrunError(f"unknown key {where}.{key} (known: {known})") from e
        raise DlrunError(f"{where}.{key}: {msg}" if key else f"{where}: {msg}") from e


def dataset_keys() -> tuple[str, ...]:
    """The keys of a dataset config that are dlrun's, not the loader's."""
    return tuple(f.name for f in fields(DatasetOptions) if not f.name.startswith("_"))


def model_keys() -> tuple[str, ...]:
    """The keys of a model config that are dlrun's, not the model class's."""
    return tuple(f.name for f in fields(ModelOptions) if not f.name.startswith("_"))


def sched_keys() -> tuple[str, ...]:
    """The keys of a schedule config that are dlrun's, not the torch scheduler's."""
    return tuple(f.name for f in fields(Constant))


# What dlrun passes to a group's `_target_` itself (not from the config), and the dlrun keys it drops
SUPPLIED = {"dataset": (), "model": ("input_shape", "num_outputs"), "optim": (), "sched": ()}
DROPPED = {"dataset": dataset_keys, "model": model_keys, "sched": sched_keys}
from dlrun.reporting.callbacks import CALLBACK_GROUPS  # noqa: E402  (the groups of `_target_` nodes)

OWN_KEYS = {"dataset": DatasetOptions, "model": ModelOptions, "sched": Constant}


def fields_of(schema: type) -> set[str]:
    return {f.name for f in fields(schema)}  # dicts of `_target_` nodes (dlrun/reporting/callbacks.py)


def check_target(node: dict, where: str, supplied: tuple = (), dropped: tuple = ()) -> None:
    """A `_target_` without a dlrun schema (a user's own model, dataset, logger, ...) against its
    signature: every key must be a parameter, every parameter without a default must be given."""
    import inspect

    from hydra._internal.utils import _locate

    target = node.get("_target_")
    try:
        fn = _locate(str(target))
        params = inspect.signature(fn).parameters
    except Exception as e:  # an import error, or a name that is not there
        raise DlrunError(
            f"{where}._target_: cannot load {target} ({str(e).splitlines()[0] if str(e) else type(e).__name__})"
        ) from e
    given = [k for k in node if not str(k).startswith("_") and k not in dropped]
    named = [n for n, p in params.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
        unknown = [k for k in given if k not in params]
        if unknown:
            raise DlrunError(f"unknown key {where}.{unknown[0]} ({target} takes: {', '.join(named) or 'nothing'})")
    required = [
        n for n, p in params.items() if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    if node.get("_partial_") and required:
        required = required[1:]  # a partial's first argument comes at run time (params, optimizer)
    missing = [n for n in required if n not in given and n not in supplied]
    if missing:
        raise DlrunError(f"{where}.{missing[0]} is required by {target}: add +{where}.{missing[0]}=...")


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
        if target in schemas:
            _check(node, schemas[target], group)
        elif target is not None:  # a user's own component (from --config-dir): its signature
            dropped = DROPPED[group]() if group in DROPPED else ()
            if group in OWN_KEYS:  # dlrun's keys a user's dataset or schedule carries too
                _check(
                    {k: node[k] for k in ("_target_", *dropped) if k in fields_of(OWN_KEYS[group])},
                    OWN_KEYS[group],
                    group,
                )
            check_target(OmegaConf.to_container(node), group, SUPPLIED[group], dropped)
    for name, node in (resolved.get("regularization") or {}).items():  # multi-select
        if name not in REGULARIZATION:
            raise DlrunError(f"unknown regularization '{name}' (choose from: {', '.join(REGULARIZATION)})")
        _check(node, REGULARIZATION[name], f"regularization.{name}")
    for group in CALLBACK_GROUPS:
        for name, node in (resolved.get(group) or {}).items():
            if not isinstance(node, DictConfig) or "_target_" not in node:  # e.g. +logger.x.y=1 alone
                key = next(iter(node), "_target_") if isinstance(node, DictConfig) else "_target_"
                raise DlrunError(
                    f"unknown key {group}.{name}.{key}: {group} '{name}' is not chosen "
                    f"(choose it first, e.g. {group}=[{name}]) or has no _target_"
                )
            check_target(OmegaConf.to_container(node), f"{group}.{name}")
    _check(resolved.trainer, Trainer, "trainer")
    _check_without_validation(resolved)
    _check_task_options(resolved)


# -- checks over the whole config, whatever its schema (issue 13) ---------------------------------
SECTIONS = (*SCHEMAS, "regularization", *CALLBACK_GROUPS, "trainer")  # the top-level keys dlrun reads


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


def _check_without_validation(cfg: DictConfig) -> None:
    """trainer.val_fraction=0 (and no dataset.folds) leaves no val_ metric to watch."""
    if cfg.trainer.val_fraction != 0 or cfg.dataset.get("folds"):
        return
    for key in ("trainer.monitor", "regularization.early_stopping.monitor"):
        monitor = OmegaConf.select(cfg, key)
        if isinstance(monitor, str) and monitor.startswith("val_"):
            raise DlrunError(
                f"{key}={monitor} needs a validation split and trainer.val_fraction=0 has none: "
                f"watch a train metric (e.g. train_loss) or set trainer.val_fraction > 0"
            )


# loaders dlrun ships whose targets are numbers (regression); a user's own loader is checked when
# its data is loaded (dlrun/data/sampling.py)
REGRESSION_LOADERS = ("dlrun.data.sklearn_sets.load_diabetes",)


def _check_task_options(cfg: DictConfig) -> None:
    """Options that only make sense for classification, against the datasets dlrun knows."""
    if cfg.dataset.get("_target_") not in REGRESSION_LOADERS:
        return
    if cfg.dataset.get("sampler") == "balanced":
        raise DlrunError("dataset.sampler=balanced needs a classification dataset (this one is regression)")
    for name in ("mixup", "cutmix"):
        if name in (cfg.get("regularization") or {}):
            raise DlrunError(f"regularization=[{name}] needs a classification dataset (this one is regression)")
