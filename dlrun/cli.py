"""The `dlrun` command: `dlrun [overrides]` trains one run, `dlrun -m ...` sweeps (Hydra multirun),
`dlrun compare PATH...` and `dlrun resume RUN_DIR` are subcommands.

Before Hydra starts a run, the overrides are composed and validated here, so a typo costs a
one-line `dlrun: error: ...` and no run folder. Set HYDRA_FULL_ERROR=1 for full tracebacks."""

import os
import re
import secrets
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from dlrun.errors import DlrunError

CONFIG_MODULE = "dlrun.conf"
CONFIG_NAME = "config"
RUN_ID = secrets.token_hex(2)
RESUME = False  # set by `dlrun resume`: the run continues from its own checkpoints/last.pt  # one per process: keeps folders of runs started in the same second apart

OmegaConf.register_new_resolver("dlrun_run_id", lambda: RUN_ID, replace=True)


def full_errors() -> bool:
    return os.environ.get("HYDRA_FULL_ERROR") == "1"


def fail(message: str, code: int = 2):
    print(f"dlrun: error: {message}", file=sys.stderr)
    sys.exit(code)


def one_line(e: BaseException) -> str:
    text = " ".join(line.strip() for line in str(e).splitlines() if line.strip())
    return text or type(e).__name__


# -- preflight: compose + validate before Hydra creates anything --------------------------------
def _group_options(group: str) -> list[str]:
    from hydra.core.global_hydra import GlobalHydra

    return sorted(GlobalHydra.instance().config_loader().get_group_options(group))


def _explain(e: Exception) -> str:
    from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException

    msg = str(e)
    if isinstance(e, MissingConfigException):
        m = re.search(r"Could not (?:find|load) '([\w/]+)/([^'/]+)'", msg)
        if m:
            group, choice = m.groups()
            return f"unknown {group} '{choice}' (choose from: {', '.join(_group_options(group))})"
    if isinstance(e, ConfigCompositionException):
        m = re.search(r"Could not override '([^']+)'", msg)
        if m:
            key = m.group(1)
            group, _, choice = (key.rsplit(".", 1)[0] if "." in key else "").partition(".")
            hint = f"; pick it first, e.g. {group}=[{choice.split('.')[0]}]" if (
                group in ("regularization", "logger") and choice) else ""
            return f"unknown key '{key}'{hint}"
        if e.__cause__ is not None:
            return one_line(e.__cause__)
    if isinstance(e, OverrideParseException):
        return f"cannot parse the overrides: {msg.splitlines()[0]}"
    return one_line(e)


def preflight(overrides: list[str], config_dir: str | None, config_name: str) -> DictConfig:
    """Compose the config as Hydra will and check it against the schema; raise DlrunError."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from dlrun.schema import validate

    extra = [f"hydra.searchpath=[file://{os.path.abspath(config_dir)}]"] if config_dir else []
    try:
        with initialize_config_module(CONFIG_MODULE, version_base="1.3"):
            try:
                cfg = compose(config_name, overrides=overrides + extra)
            except Exception as e:
                if full_errors():
                    raise
                raise DlrunError(_explain(e)) from e
    finally:
        GlobalHydra.instance().clear()
    validate(cfg)
    device = cfg.trainer.device
    if device != "cpu" and device != "auto":
        from dlrun.device import select_device

        select_device(device)
    return cfg


# -- the Hydra task: one run --------------------------------------------------------------------
def run_task(cfg: DictConfig):
    hc = HydraConfig.get()
    run_dir = hc.runtime.output_dir
    multirun = hc.mode == RunMode.MULTIRUN
    from dlrun.train import Interrupted

    try:
        from dlrun.schema import validate
        from dlrun.train import train

        validate(cfg)
        summary = train(cfg, run_dir, resume=RESUME)
    except Interrupted as e:
        print(f"dlrun: {e}; continue with: dlrun resume {run_dir}", file=sys.stderr)
        sys.exit(128 + e.signum)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:
        if full_errors():
            raise
        from dlrun.run_folder import RunFolder

        folder = RunFolder(run_dir)
        summary = folder.read_summary()
        summary.update(status="failed", error=one_line(e))
        folder.write_summary(summary)
        if not multirun:
            fail(one_line(e), code=2 if isinstance(e, DlrunError) else 1)
        print(f"dlrun: run {run_dir} failed: {one_line(e)}", file=sys.stderr)
        return None
    return summary


hydra_main = hydra.main(config_path=f"pkg://{CONFIG_MODULE}", config_name=CONFIG_NAME, version_base="1.3")(run_task)


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["compare"]:
        from dlrun.compare import main as compare_main

        sys.exit(compare_main(argv[1:]))
    if argv[:1] == ["resume"]:
        from dlrun.resume import resume_argv

        global RESUME
        try:
            argv, RESUME = resume_argv(argv[1:]), True
        except DlrunError as e:
            fail(str(e))
    from hydra._internal.utils import get_args_parser

    args = get_args_parser().parse_args(argv)
    plain_run = not (args.multirun or args.help or args.hydra_help or args.cfg or args.info
                     or args.shell_completion or args.experimental_rerun)
    if plain_run:
        try:
            preflight(args.overrides, args.config_dir, args.config_name or CONFIG_NAME)
        except DlrunError as e:
            if full_errors():
                raise
            fail(str(e))
    sys.argv = [sys.argv[0], *argv]
    try:
        hydra_main()
    except BrokenPipeError:  # `dlrun --help | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
