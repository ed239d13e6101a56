"""A trained run, rebuilt from its folder: its config (.hydra/config.yaml), training statistics
(data.json) and checkpoint. A run folder is data, not code: only dlrun's own components
(dlrun.config.trust) are instantiated from it unless the user passes --trust-code (their own model)."""

import os
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from dlrun.errors import DlrunError
from dlrun.inference.stats import load_data_stats

CHECKPOINTS = ("best", "last")


def check_targets(node, where: str, trust: bool) -> None:
    """Refuse a `_target_` anywhere under `node` that is not one of dlrun's own components (the
    allowlist of dlrun.config.trust: the shipped config groups' targets), unless `trust`."""
    if trust or node is None:
        return
    from dlrun.config.trust import dlrun_targets, targets_in

    for key, target in targets_in(node, where):
        if not isinstance(target, str) or target not in dlrun_targets():
            raise DlrunError(
                f"{key} is {target}: a run folder is data, not code, so dlrun only builds "
                f"its own components from it; pass --trust-code if you trust this run "
                f"(e.g. your own model)"
            )


@dataclass
class TrainedRun:
    path: Path
    cfg: DictConfig  # the config it trained with
    stats: dict  # data.json
    checkpoint: Path

    @property
    def classification(self) -> bool:
        return self.stats["num_classes"] > 0

    @property
    def class_names(self) -> list[str]:
        meta = self.stats.get("meta") or {}
        names = meta.get("classes") or (meta.get("encoding") or {}).get("classes")
        return [str(c) for c in names] if names else [str(k) for k in range(self.stats["num_classes"])]

    def build_model(self, device="cpu"):
        """The model with the checkpoint's weights, in eval mode."""
        import torch

        from dlrun.training.init import build_model

        try:
            model = build_model(self.cfg.model, self.stats["input_shape"], self.stats["num_classes"] or 1)
        except Exception as e:
            raise DlrunError(
                f"cannot rebuild the model {self.cfg.model.get('_target_')} of {self.path}: {' '.join(str(e).split())}"
            ) from e
        state = torch.load(self.checkpoint, map_location="cpu", weights_only=True)
        try:
            model.load_state_dict(state["model"])
        except (RuntimeError, KeyError) as e:
            raise DlrunError(f"{self.checkpoint} does not match the run's model config") from e
        return model.to(device).eval()


def load_run(run_dir: str, checkpoint: str = "best", trust: bool = False) -> TrainedRun:
    path = Path(run_dir)
    config = path / ".hydra" / "config.yaml"
    if not config.is_file():
        raise DlrunError(f"{run_dir} is not a dlrun run folder (no .hydra/config.yaml)")
    ckpt = path / "checkpoints" / f"{checkpoint}.pt"
    if not ckpt.is_file():
        raise DlrunError(f"{run_dir} has no checkpoints/{checkpoint}.pt (did the run finish an epoch?)")
    stats = load_data_stats(path)
    if stats is None:
        raise DlrunError(
            f"{run_dir} has no data.json (the training statistics); it was trained by an older dlrun: train it again"
        )
    cfg = OmegaConf.load(config)
    check_targets(cfg.get("model"), "model", trust)
    return TrainedRun(path, cfg, stats, ckpt)


def compose_dataset(run: TrainedRun, overrides: list[str], trust: bool) -> DictConfig:
    """The dataset config: the run's own, or the run's overrides plus `overrides` composed as
    `dlrun` composes a run (and checked the same way: a bad file is one line)."""
    if not overrides:
        node = run.cfg.dataset
    else:
        from dlrun.cli import composing

        hydra_dir = run.path / ".hydra"
        base = list(OmegaConf.load(hydra_dir / "overrides.yaml")) if (hydra_dir / "overrides.yaml").is_file() else []
        config_dir = None
        if (hydra_dir / "hydra.yaml").is_file():
            sources = OmegaConf.load(hydra_dir / "hydra.yaml").hydra.runtime.config_sources
            config_dir = next((s.path.removeprefix("file://") for s in sources if s.provider == "command-line"), None)
        if config_dir and not os.path.isdir(config_dir):
            config_dir = None
        # a group choice given now replaces the run's (dataset=npz drops the run's dataset.* keys)
        chosen = {o.split("=", 1)[0] for o in overrides if "." not in o.split("=", 1)[0]}
        base = [o for o in base if o.split("=", 1)[0].split(".")[0].lstrip("+~") not in chosen]
        with composing(config_dir) as check:  # every target checked before validation imports any
            return check(
                base + overrides, "config", device=False, trusted=lambda cfg: check_targets(cfg, "config", trust)
            ).dataset
    check_targets(node, "dataset", trust)
    return node


def load_test_data(run: TrainedRun, dataset: DictConfig):
    """(x_test, y_test, num_classes) from the dataset config's loader, checked against the run."""
    from dlrun.config.instantiate import instantiate_without
    from dlrun.config.schema import dataset_keys

    raw = instantiate_without(dataset, dataset_keys())
    shape, want = list(raw.input_shape), run.stats["input_shape"]
    if shape != want:
        raise DlrunError(f"the data's inputs are {tuple(shape)}, the model of {run.path} takes {tuple(want)}")
    k, want_k = raw.num_classes, run.stats["num_classes"]
    if k != want_k:
        what = lambda n: f"{n} classes" if n else "a regression target"  # noqa: E731
        raise DlrunError(f"the data has {what(k)}, the model of {run.path} predicts {what(want_k)}")
    return raw.x_test, raw.y_test
