"""`logger=[csv,tensorboard]`: TensorBoard event files in the run folder itself, so
`tensorboard --logdir outputs` shows every run side by side. Per epoch: the metrics.csv columns
as scalars (`loss/train`, `loss/val`, `acc/val`, `lr`, `time/epoch_s`, ...), with a custom-scalars
chart per metric overlaying train and val. At the end: the run's hyperparameters (the flattened
config) and its final metrics (`hparam/val_*` of the best epoch, `hparam/test_*`) for the HParams
dashboard. tensorboard is imported only when this logger is selected."""

from omegaconf import DictConfig, OmegaConf

from dlrun.metrics import LR, column, split_column

CURVES = ("train", "val")  # the splits a custom-scalars chart overlays


def scalar_tag(name: str) -> str:
    """metrics.csv column -> TensorBoard tag: train_loss -> loss/train; lr -> lr; epoch_s -> time/epoch_s."""
    split, metric = split_column(name)
    if split is not None:
        return f"{metric}/{split}"
    return name if name == LR else f"time/{name}"


def _hparam_value(value):
    return value if isinstance(value, (int, float, str, bool)) else str(value)


def flat_hparams(cfg: DictConfig, choices: dict | None = None) -> dict:
    """The config as {dotted.key: scalar} (lists as text; `_target_`-style keys and the logger
    group left out), preceded by the config-group choices (model=cnn, regularization=l2+dropout)."""
    flat = {
        group: _hparam_value(choice)
        for group, choice in (choices or {}).items()
        if choice is not None and not group.startswith("hydra/")
    }
    flat["regularization"] = "+".join(cfg.get("regularization") or {}) or "none"

    def walk(prefix: str, node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if not str(key).startswith("_"):
                    walk(f"{prefix}.{key}" if prefix else str(key), value)
        else:
            flat[prefix] = _hparam_value(node)

    config = OmegaConf.to_container(cfg, resolve=True)
    config.pop("logger", None)
    walk("", config)
    return flat


def final_metrics(summary: dict) -> dict[str, float]:
    metrics = {f"hparam/val_{k}": v for k, v in (summary.get("val") or {}).items()}
    metrics |= {
        f"hparam/test_{k}": v
        for k, v in (summary.get("test") or {}).items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    return metrics


def _hydra_choices() -> dict:
    from hydra.core.hydra_config import HydraConfig

    return dict(HydraConfig.get().runtime.choices) if HydraConfig.initialized() else {}


class TensorBoardLogger:
    """Trainer callback writing the run's TensorBoard events into its run folder."""

    def __init__(self):
        self.writer = None  # made at the start of the run
        self.has_layout = False

    def on_fit_start(self, trainer) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(trainer.folder.path))

    def on_epoch_end(self, trainer, row: dict) -> None:
        if not self.has_layout:
            self.writer.add_custom_scalars(self.layout(row))
            self.has_layout = True
        for name, value in row.items():
            if name != "epoch" and value is not None:  # None: not validated this epoch
                self.writer.add_scalar(scalar_tag(name), value, row["epoch"])
        self.writer.flush()  # an epoch is on disk (and in TensorBoard) as soon as it is done

    @staticmethod
    def layout(row: dict) -> dict:
        """One chart per metric with its train and val curves together (Custom Scalars tab)."""
        metrics = [m for split, m in map(split_column, row) if split == "train"]
        return {
            "train vs val": {m: ["Multiline", [f"{m}/{s}" for s in CURVES]] for m in metrics if column("val", m) in row}
        }

    def on_fit_end(self, trainer, summary: dict) -> None:
        if summary["status"] != "interrupted":  # an interrupted run gets its HParams when resumed to the end
            self.writer.add_hparams(
                flat_hparams(trainer.cfg, _hydra_choices()),
                final_metrics(summary),
                run_name=".",
                global_step=trainer.epoch,
            )
        self.writer.close()
