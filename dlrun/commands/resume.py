"""`dlrun resume RUN_DIR [overrides]`: rerun a run's own config in its own folder; the trainer then
continues from checkpoints/last.pt. Extra overrides (e.g. trainer.epochs=50) are applied on top.

The run folder is data, not code (dlrun.config.trust): its overrides may not set Hydra's options or
command-line flags, and every `_target_` of the rebuilt config must be dlrun's or named on this
command line. A refused or failed resume leaves the folder as it was (`unchanged_on_failure`)."""

import json
import os
import re
from contextlib import contextmanager
from pathlib import Path

from omegaconf import OmegaConf

from dlrun.errors import DlrunError


def hydra_quote(value: str) -> str:
    """`value` as a quoted Hydra override value that parses back to exactly `value` (spaces, quotes,
    `=`, commas, brackets, `${`, backslashes, non-ASCII)."""
    value = re.sub(r"(\\+)(?='|$)", lambda m: m.group(1) * 2, value)
    return "'" + value.replace("'", "\\'").replace("${", "\\${") + "'"


def _untrusted_override(item) -> str | None:
    """Why an entry of a folder's overrides.yaml cannot be replayed, or None."""
    if not isinstance(item, str):
        return f"{item!r} is not an override"
    key = item.split("=", 1)[0].lstrip("+~")
    if item.startswith("-"):
        return f"{item!r} is a command-line flag"
    if key == "hydra" or key.startswith(("hydra.", "hydra/")):
        return f"{item!r} sets Hydra's own options"
    return None


def check_loadable(checkpoint: Path) -> None:
    """A damaged checkpoint (truncated, not a torch file) is refused before anything runs."""
    import zipfile

    import torch

    if not zipfile.is_zipfile(checkpoint):  # a torch file is a zip archive, its index at the end
        raise DlrunError(f"{checkpoint} cannot be read: truncated or damaged (not a complete torch archive)")
    try:  # mmap: reads the archive's index, not the tensors
        state = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
    except Exception as e:
        first = (str(e).splitlines() or [type(e).__name__])[0]
        raise DlrunError(f"{checkpoint} cannot be read (truncated or damaged?): {first}") from e
    if not isinstance(state, dict) or "model" not in state:
        raise DlrunError(f"{checkpoint} is not a dlrun checkpoint (no model state)")


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
    try:
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    except (OSError, ValueError) as e:
        raise DlrunError(f"{summary_path} cannot be read: {e}") from e
    if summary.get("status") == "completed" and not any(a.startswith("trainer.epochs=") for a in extra):
        raise DlrunError(
            f"{args[0]} already completed {summary.get('epochs_completed')} epochs; "
            "to train longer: dlrun resume RUN_DIR trainer.epochs=N"
        )
    overrides_path = run_dir / ".hydra" / "overrides.yaml"
    try:
        overrides = list(OmegaConf.to_container(OmegaConf.load(overrides_path)))
    except Exception as e:
        raise DlrunError(f"{overrides_path} cannot be read as a list of overrides") from e
    for item in overrides:
        why = _untrusted_override(item)
        if why:
            raise DlrunError(f"{overrides_path}: {why}; a run folder cannot set those")

    from hydra._internal.utils import get_args_parser

    given = get_args_parser().parse_args(extra)  # this command line: trusted
    config_dirs = [given.config_dir] if given.config_dir else []
    recorded = _recorded_config_dirs(run_dir)
    if recorded and not config_dirs:
        raise DlrunError(
            f"{args[0]} was run with --config-dir={recorded[0]}; a run folder cannot choose "
            f"code to run, so name it again: dlrun resume RUN_DIR --config-dir={recorded[0]}"
        )
    check_loadable(run_dir / "checkpoints" / "last.pt")
    check_trusted(run_dir, overrides, given.overrides, config_dirs)
    # .hydra/ is rewritten only once the checkpoint has loaded (record_resumed_config)
    return [
        *[f"--config-dir={d}" for d in config_dirs],
        *overrides,
        *given.overrides,
        f"hydra.run.dir={hydra_quote(str(run_dir))}",
        "hydra.output_subdir=null",
    ]


def _recorded_config_dirs(run_dir: Path) -> list[str]:
    try:
        hydra_cfg = OmegaConf.load(run_dir / ".hydra" / "hydra.yaml").hydra
        return [
            s.path.removeprefix("file://") for s in hydra_cfg.runtime.config_sources if s.provider == "command-line"
        ]
    except Exception:
        return []


def check_trusted(run_dir: Path, overrides: list[str], given: list[str], config_dirs: list[str]) -> None:
    """Compose the run as it will be rebuilt and check every `_target_` in it, before anything may
    import one (the schema's checks of a user's own target look at its signature: they come after)."""
    import os

    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from dlrun.cli import CONFIG_MODULE, CONFIG_NAME, _explain, check_config, full_errors
    from dlrun.config.trust import check_targets, trusted_targets

    search = [f"hydra.searchpath=[file://{os.path.abspath(d)}]" for d in config_dirs[:1]]
    try:
        with initialize_config_module(CONFIG_MODULE, version_base="1.3"):
            try:
                cfg = compose(CONFIG_NAME, overrides=[*overrides, *given, *search])
            except Exception as e:
                if full_errors():
                    raise
                raise DlrunError(_explain(e)) from e
    finally:
        GlobalHydra.instance().clear()
    check_targets(cfg, trusted_targets(config_dirs, given), f"{run_dir}/.hydra/overrides.yaml")
    check_config(cfg, device=False)


@contextmanager
def unchanged_on_failure(run_dir: str):
    """Until a resume has taken effect: on any exception, the run folder is put back as it was
    (files created meanwhile are removed, grown logs cut back); then the exception propagates."""
    root = Path(run_dir)

    def files() -> dict[Path, int]:
        return {p: p.stat().st_size for p in root.rglob("*") if p.is_file()}

    before = files()
    dirs = {p for p in root.rglob("*") if p.is_dir()}
    try:
        yield
    except BaseException:
        for p, size in files().items():
            if p not in before:
                p.unlink(missing_ok=True)
            elif size > before[p] and p.suffix == ".log":
                os.truncate(p, before[p])
        for d in sorted({p for p in root.rglob("*") if p.is_dir()} - dirs, reverse=True):
            try:
                d.rmdir()
            except OSError:
                pass
        raise


def record_resumed_config(run_dir: str, cfg, overrides: list[str]) -> None:
    """After a successful resume: the run's .hydra/ shows the config it now continues with."""
    from dlrun.results.run_folder import atomic_write

    hydra_dir = Path(run_dir) / ".hydra"
    for name, node in (("config.yaml", cfg), ("overrides.yaml", overrides)):
        text = OmegaConf.to_yaml(OmegaConf.create(node) if isinstance(node, list) else node)
        atomic_write(hydra_dir / name, lambda f, t=text: f.write(t.encode()))
