"""Shared by the sweep and compare tests: tiny sweep settings, reading sweep folders, and run
folders made by hand."""

import json
from pathlib import Path

import yaml

DIVERGES = "1e30"  # optim=sgd with this lr: the loss is non-finite at step 2, whatever the seed
TINY = ["dataset=digits", "trainer.epochs=1", "trainer.progress=false"]


def run_folders(sweep_dir: Path) -> list[Path]:
    return sorted(p for p in sweep_dir.iterdir() if (p / ".hydra").is_dir())


def status(run_dir: Path) -> str:
    return json.loads((run_dir / "summary.json").read_text())["status"]


def make_run(
    path: Path,
    *,
    model: str = "mlp",
    lr: float = 0.01,
    summary: dict | None = None,
    metrics: list[dict] | None = None,
    overrides: list[str] = (),
    epochs: int = 3,
    seed: int = 0,
    dataset: str = "digits",
) -> Path:
    """A run folder as dlrun writes it (the files compare reads), without training anything."""
    hydra_dir = path / ".hydra"
    hydra_dir.mkdir(parents=True)
    model_cfg = {
        "_target_": f"dlrun.models.{model.upper()}",
        "hidden": [64] if model == "mlp" else [32],
        "dropout": "${oc.select:regularization.dropout.p,0.0}",
    }
    if model == "cnn":
        model_cfg["channels"] = [8, 16]
    config = {
        "dataset": {"_target_": "dlrun.data.sklearn_sets.load_digits", "root": "${oc.env:NOPE_NOT_SET}"},
        "model": model_cfg,
        "optim": {"_target_": "torch.optim.Adam", "lr": lr},
        "trainer": {"epochs": epochs, "seed": seed},
        "regularization": {},
    }
    (hydra_dir / "config.yaml").write_text(yaml.safe_dump(config))
    choices = {"dataset": dataset, "model": model, "optim": "adam", "hydra/launcher": "basic"}
    (hydra_dir / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"runtime": {"choices": choices}}}))
    (hydra_dir / "overrides.yaml").write_text(yaml.safe_dump(list(overrides)))
    if summary is not None:
        (path / "summary.json").write_text(json.dumps(summary))
    if metrics:
        keys = list(metrics[0])
        lines = [",".join(keys)] + [",".join(str(row[k]) for k in keys) for row in metrics]
        (path / "metrics.csv").write_text("\n".join(lines) + "\n")
    return path


def completed_summary(val_acc: float, test_acc: float, epochs: int = 3, wall_s: float = 1.5) -> dict:
    return {
        "status": "completed",
        "epochs_completed": epochs,
        "best_epoch": epochs,
        "monitor": "val_acc",
        "num_params": 1000,
        "device": "cpu",
        "wall_s": wall_s,
        "val": {"loss": 1 - val_acc, "acc": val_acc},
        "test": {"loss": 1 - test_acc, "acc": test_acc, "macro_f1": test_acc - 0.01},
    }


def curve(final_acc: float, epochs: int = 3) -> list[dict]:
    return [
        {"epoch": e, "lr": 0.01, "train_loss": 1.0 / e, "val_loss": 1.0 / e, "val_acc": final_acc * e / epochs}
        for e in range(1, epochs + 1)
    ]
