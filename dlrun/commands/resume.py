"""`dlrun resume RUN_DIR [overrides]`: rerun a run's own config in its own folder; the trainer then
continues from checkpoints/last.pt. Extra overrides (e.g. trainer.epochs=50) are applied on top."""

import json
from pathlib import Path

from omegaconf import OmegaConf

from dlrun.errors import DlrunError


def resume_argv(args: list[str]) -> list[str]:
    """The command-line arguments that rebuild the run in RUN_DIR."""
    if not args or args[0].startswith("-"):
        raise DlrunError("usage: dlrun resume RUN_DIR [overrides...]")
    run_dir, extra = Path(args[0]).resolve(), args[1:]
    if not (run_dir / ".hydra" / "overrides.yaml").is_file():
        raise DlrunError(f"{args[0]} is not a dlrun run folder (no .hydra/overrides.yaml)")
    if not (run_dir / "checkpoints" / "last.pt").is_file():
        raise DlrunError(f"{args[0]} has no checkpoint to resume from (checkpoints/last.pt is missing)")
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    if summary.get("status") == "completed" and not any(a.startswith("trainer.epochs=") for a in extra):
        raise DlrunError(f"{args[0]} already completed {summary.get('epochs_completed')} epochs; "
                         "to train longer: dlrun resume RUN_DIR trainer.epochs=N")
    overrides = list(OmegaConf.load(run_dir / ".hydra" / "overrides.yaml"))
    hydra_cfg = OmegaConf.load(run_dir / ".hydra" / "hydra.yaml").hydra
    config_dirs = [s.path.removeprefix("file://") for s in hydra_cfg.runtime.config_sources
                   if s.provider == "command-line"]
    argv = [f"--config-dir={d}" for d in config_dirs]
    # .hydra/ is rewritten only once the checkpoint has loaded (record_resumed_config)
    return [*argv, *overrides, *extra, f"hydra.run.dir='{run_dir}'", "hydra.output_subdir=null"]


def record_resumed_config(run_dir: str, cfg, overrides: list[str]) -> None:
    """After a successful resume: the run's .hydra/ shows the config it now continues with."""
    from dlrun.results.run_folder import atomic_write

    hydra_dir = Path(run_dir) / ".hydra"
    for name, node in (("config.yaml", cfg), ("overrides.yaml", overrides)):
        text = OmegaConf.to_yaml(OmegaConf.create(node) if isinstance(node, list) else node)
        atomic_write(hydra_dir / name, lambda f, t=text: f.write(t.encode()))
