"""The `dlrun` command: `dlrun [overrides]` trains one run, `dlrun -m ...` sweeps (Hydra multirun),
`dlrun compare PATH...` and `dlrun resume RUN_DIR` are subcommands.

A typo costs a one-line `dlrun: error: ...` and no run folder: a single run's config is composed
once, by Hydra, and checked by the `ConfigCheck` callback before Hydra creates the run folder (Hydra
is told to raise its errors, which are turned into that one line here); a sweep's compositions
are all checked before its first run. Set HYDRA_FULL_ERROR=1 for full tracebacks."""

import copy
import os
import re
import secrets
import signal
import sys
import traceback
from contextlib import contextmanager

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from dlrun.errors import DlrunError, print_error
from dlrun.metrics import optuna_direction

CONFIG_MODULE = "dlrun.conf"
CONFIG_NAME = "config"
RUN_ID = secrets.token_hex(2)  # one per process: keeps folders of runs started in the same second apart
RESUME = False  # set by `dlrun resume`: the run continues from its own checkpoints/last.pt

OmegaConf.register_new_resolver("dlrun_run_id", lambda: RUN_ID, replace=True)
# the Optuna direction that optimizes a monitored metric (conf/hparams_search/optuna.yaml)
OmegaConf.register_new_resolver("dlrun_direction", optuna_direction, replace=True)
_SCRATCH: list[str] = []  # trainer.fast_dev_run's temporary folder, one per process


def scratch_dir(fast_dev_run) -> str:
    """The `dlrun_scratch` resolver that prefixes hydra.run.dir/sweep.dir: a temporary folder (with
    a trailing slash) for trainer.fast_dev_run=true, else ''."""
    if str(fast_dev_run).lower() != "true":
        return ""
    if not _SCRATCH:
        import tempfile

        _SCRATCH.append(tempfile.mkdtemp(prefix="dlrun-fast-dev-run-"))
    return _SCRATCH[0] + "/"


OmegaConf.register_new_resolver("dlrun_scratch", scratch_dir, replace=True)


FULL_ERRORS = os.environ.get("HYDRA_FULL_ERROR") == "1"  # the user's choice, read before dlrun sets it


def full_errors() -> bool:
    return FULL_ERRORS


def fail(message: str, code: int = 2):
    print_error(message)
    sys.exit(code)


def root_cause(e: BaseException) -> BaseException:
    while e.__cause__ is not None or e.__context__ is not None:
        e = e.__cause__ or e.__context__
    return e


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
            hint = (
                f"; pick it first, e.g. {group}=[{choice.split('.')[0]}]"
                if (group in ("regularization", "logger") and choice)
                else ""
            )
            return f"unknown key '{key}'{hint}"
        if e.__cause__ is not None:
            return one_line(e.__cause__)
    if isinstance(e, OverrideParseException):
        return f"cannot parse the overrides: {msg.splitlines()[0]}"
    return one_line(e)


@contextmanager
def composing(config_dir: str | None):
    """A function that composes overrides as Hydra will and checks them against the schema,
    raising DlrunError; usable while this context is open."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    extra = [f"hydra.searchpath=[file://{os.path.abspath(config_dir)}]"] if config_dir else []

    def check(
        overrides: list[str], config_name: str, device: bool = True, sweeper: list[str] | None = None, trusted=None
    ) -> DictConfig:
        """`sweeper` (the sweep's command line): also resolve hydra.sweeper (e.g. the search direction
        from trainer.monitor) and check a search's space, sampler and pruner (dlrun.tuning.check).
        `trusted(cfg)`: called on the composed config before it is validated (validation imports a
        user's own targets to read their signatures), e.g. to refuse targets a run folder chose."""
        try:
            cfg = compose(config_name, overrides=overrides + extra, return_hydra_config=sweeper)
        except Exception as e:
            if full_errors():
                raise
            raise DlrunError(_explain(e)) from e
        if sweeper is not None:
            try:
                OmegaConf.to_container(cfg.hydra.sweeper, resolve=True)
            except Exception as e:
                raise DlrunError(f"hydra.sweeper: {one_line(root_cause(e))}") from e
            from dlrun.tuning.check import check_search

            check_search(cfg.hydra.sweeper, cfg.trainer.monitor, sweeper, cfg.hydra.sweep.dir)
            with open_dict(cfg):
                del cfg["hydra"]
        if trusted is not None:
            trusted(cfg)
        check_config(cfg, device)
        return cfg

    try:
        with initialize_config_module(CONFIG_MODULE, version_base="1.3"):
            yield check
    finally:
        GlobalHydra.instance().clear()


def check_config(cfg: DictConfig, device: bool = True) -> None:
    """The composed run config against the schema (and the device, where it is not cpu/auto)."""
    from dlrun.config.schema import validate

    validate(cfg)
    if cfg.dataset.get("folds"):  # K against the data's smallest class, before a run folder exists
        from dlrun.data.splits import check_folds

        check_folds(cfg.dataset)
    if device and cfg.trainer.device not in ("cpu", "auto"):
        from dlrun.training.device import select_device

        select_device(cfg.trainer.device)


class ConfigCheck(Callback):
    """Registered in conf/config.yaml: checks a single run's config after Hydra composed it and
    before Hydra creates its folder (a sweep is checked up front by preflight_sweep). Hydra turns
    a callback's exceptions into warnings, so a bad config ends the process here."""

    checked = False  # set once a single run's config passed: run_task need not check it again

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        task = copy.deepcopy(config)  # the run's own config, as Hydra's run_job derives it
        with read_write(task), open_dict(task):
            del task["hydra"]
        try:
            check_config(task)
            claim_run_folder(config)
        except DlrunError as e:
            if full_errors():
                traceback.print_exc()
            fail(str(e))
        ConfigCheck.checked = True


def claim_run_folder(config: DictConfig) -> None:
    """Before Hydra writes in a single run's folder: an existing folder is locked (one writer per
    folder, dlrun.results.lock); a new one is noted as this process's (removed if set-up refuses)."""
    from dlrun.results import guard, lock

    try:
        HydraConfig.instance().set_config(config)  # as Hydra does next: ${hydra:...} in the folder name
        run_dir = str(config.hydra.run.dir)
    except Exception:  # cannot be resolved yet: run_task locks it once Hydra has made it
        return
    if os.path.isdir(run_dir):
        lock.acquire(run_dir)
    else:
        guard.note_new_folder(run_dir)


@contextmanager
def hydra_raises(enabled: bool):
    """Let Hydra's own errors (a bad override, an unknown choice) reach dlrun as exceptions
    instead of being printed by Hydra, so that dlrun can report them in one line."""
    if not enabled:
        yield
        return
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield
    finally:
        del os.environ["HYDRA_FULL_ERROR"]


@contextmanager
def composed_once(enabled: bool):
    """Hydra composes a run's config twice: first only to read `hydra.mode` (Hydra.get_mode), then
    to run it. dlrun's config leaves hydra.mode unset (null), so for a single run whose command
    line does not set it either, the first composition is skipped: about 0.2 s of start-up."""
    if not enabled:
        yield
        return
    from hydra._internal.hydra import Hydra

    get_mode = Hydra.get_mode
    Hydra.get_mode = lambda self, config_name, overrides: None  # null: what the composition gives
    try:
        yield
    finally:
        Hydra.get_mode = get_mode


LOCAL_LAUNCHERS = ("basic", "joblib", "submitit_local")  # jobs run on this machine


def preflight_sweep(overrides: list[str], config_dir: str | None, config_name: str) -> None:
    """Check a sweep's compositions (see dlrun.config.sweep_check) before any of its runs starts; the
    device is checked only where the jobs run here."""
    from dlrun.config.sweep_check import compositions_to_check

    launcher = next((o.split("=", 1)[1] for o in overrides if o.startswith("hydra/launcher=")), "basic")
    with composing(config_dir) as check:
        try:
            combos = compositions_to_check(overrides, is_group=lambda key: bool(_group_options(key)))
        except Exception as e:
            if full_errors():
                raise
            raise DlrunError(_explain(e)) from e
        for i, combo in enumerate(combos):
            check(combo, config_name, device=launcher in LOCAL_LAUNCHERS, sweeper=overrides if i == 0 else None)


# -- the Hydra task: one run --------------------------------------------------------------------
def run_task(cfg: DictConfig) -> float | None:
    """Train one run in its run folder. Returns what a sweeper optimizes: the run's best monitored
    val metric (e.g. val_acc); see dlrun.metrics.objective for runs that did not complete."""
    hc = HydraConfig.get()
    run_dir = hc.runtime.output_dir
    multirun = hc.mode == RunMode.MULTIRUN
    from dlrun.results import lock
    from dlrun.results.job_process import isolated, run_in_child

    if isolated(hc):  # joblib/submitit: a job killed by a signal must not take the worker with it
        return run_in_child(cfg, hc)
    try:
        lock.acquire(run_dir)
    except DlrunError as e:
        if not multirun:
            fail(str(e))
        print(f"dlrun: run {run_dir} not started: {e}", file=sys.stderr)
        return None
    try:
        return _run(cfg, hc, run_dir, multirun)
    finally:
        lock.release(run_dir)


def _run(cfg: DictConfig, hc, run_dir: str, multirun: bool) -> float | None:
    from dlrun.results import guard
    from dlrun.training.trainer import Interrupted

    phase = "set-up"  # -> "resumed" once a resume took effect, "fit" once training started
    try:
        from dlrun.config.schema import validate
        from dlrun.metrics import objective
        from dlrun.results.sweep import share_cores
        from dlrun.training.trainer import Trainer

        with guard.signals_raise():
            if multirun or not ConfigCheck.checked:  # Optuna's sampled values, configs without ConfigCheck
                validate(cfg)
            if multirun:
                share_cores(hc)
            if RESUME:
                from dlrun.commands.resume import record_resumed_config, unchanged_on_failure

                with unchanged_on_failure(run_dir):  # a refused resume leaves the run as it was
                    trainer = Trainer(cfg, run_dir)
                    trainer.resume()
                    if trainer.folder.writable:  # rank 0 under DDP
                        record_resumed_config(str(trainer.folder.path), cfg, list(hc.overrides.task))
                phase = "resumed"
            else:
                trainer = Trainer(cfg, run_dir)
            phase = "fit"
            summary = trainer.fit()
    except Exception as e:
        stop = next((c for c in causes(e) if isinstance(c, (Interrupted, KeyboardInterrupt))), None)
        if stop is None:  # an error
            return _failed(e, run_dir, multirun, phase)
        _stopped(stop, run_dir, phase, _search_dir(hc, multirun))  # e.g. a signal inside a loader
    except KeyboardInterrupt as e:
        _stopped(e, run_dir, phase, _search_dir(hc, multirun))
    if summary["status"] == "diverged" and not multirun:
        fail(f"run diverged: {summary['error']}", code=1)
    return objective(summary)


def causes(e: BaseException):
    """`e`, then what caused it, and so on (each once: a re-raised cause can make a cycle)."""
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


def _search_dir(hc, multirun: bool) -> str | None:
    """The sweep folder of an Optuna search (continued by running its command again), else None."""
    from dlrun.tuning.study import SWEEPER

    return hc.sweep.dir if multirun and hc.sweeper.get("_target_") == SWEEPER else None


def _stopped(e: BaseException, run_dir: str, phase: str, search_dir: str | None = None):
    """SIGINT/SIGTERM: the folder says interrupted (or completed, if it was), then exit 128+signal."""
    from dlrun.results import guard

    guard.ignore_signals()
    signum = getattr(e, "signum", signal.SIGINT)
    name = signal.Signals(signum).name
    # a resume stopped while setting up was put back as it was; otherwise the folder tells
    status = None if RESUME and phase == "set-up" else guard.settle(run_dir, "interrupted", f"interrupted by {name}")
    how = (
        f"continue the search: run the same command with hydra.sweep.dir={search_dir} "
        "(an interrupted trial is run again from the start)"
        if search_dir
        else "the run had completed"
        if status == "completed"
        else f"continue with: dlrun resume {run_dir}"
        if os.path.isfile(os.path.join(run_dir, "checkpoints", "last.pt"))
        else "it stopped before its first checkpoint"
    )
    print(f"dlrun: interrupted by {name}; {how}", file=sys.stderr)
    sys.exit(128 + signum)


def _failed(e: Exception, run_dir: str, multirun: bool, phase: str) -> None:
    """An error: one line (a single run exits with it) and, where a run began, status failed."""
    from dlrun.results import guard

    if full_errors():
        raise e
    code = 2 if isinstance(e, DlrunError) else 1
    if RESUME and phase == "set-up":
        fail(one_line(e), code=code)  # the folder was put back as it was
    if not multirun and phase == "set-up" and isinstance(e, DlrunError) and guard.remove_created(run_dir):
        fail(one_line(e), code=2)  # bad input found while setting up: no run folder is left
    guard.settle(run_dir, "failed", one_line(e))
    if not multirun:
        fail(one_line(e), code=code)
    print(f"dlrun: run {run_dir} failed: {one_line(e)}", file=sys.stderr)
    return None


hydra_main = hydra.main(config_path=f"pkg://{CONFIG_MODULE}", config_name=CONFIG_NAME, version_base="1.3")(run_task)


# `dlrun NAME ...` -> the module whose main(argv) -> exit code runs it (dlrun/commands/)
SUBCOMMANDS = {
    "compare": "dlrun.commands.compare",
    "eval": "dlrun.commands.eval",
    "predict": "dlrun.commands.predict",
    "export": "dlrun.commands.export",
    "report": "dlrun.commands.report",
    "lr-find": "dlrun.commands.lr_find",
}


def main() -> None:
    from dlrun.streams import outlive_readers

    outlive_readers()  # `dlrun ... | tee log` and Ctrl-C: a run still ends interrupted, not failed
    argv = sys.argv[1:]
    if argv[:1] and argv[0] in SUBCOMMANDS:  # a command that does not train: its own argparse
        import importlib

        sys.exit(importlib.import_module(SUBCOMMANDS[argv[0]]).main(argv[1:]))
    if argv[:1] == ["resume"]:
        from dlrun.commands.resume import resume_argv

        global RESUME
        try:
            argv, RESUME = resume_argv(argv[1:]), True
        except DlrunError as e:
            fail(str(e))
    from hydra._internal.utils import get_args_parser

    args = get_args_parser().parse_args(argv)
    if args.help and not args.config_dir:  # dlrun's groups only: no composition needed
        from dlrun.config.groups import help_text

        print(help_text())
        return
    runs = not (
        args.help or args.hydra_help or args.cfg or args.info or args.shell_completion or args.experimental_rerun
    )  # a run or a sweep, not a query
    if runs and args.multirun:
        try:
            preflight_sweep(args.overrides, args.config_dir, args.config_name or CONFIG_NAME)
        except DlrunError as e:
            if full_errors():
                raise
            fail(str(e))
        from dlrun.tuning.study import register_sweeper

        register_sweeper()
    sys.argv = [sys.argv[0], *argv, *_other_rank_overrides()]
    try:
        single = runs and not args.multirun
        with (
            hydra_raises(single and not full_errors()),
            composed_once(single and not any(o.lstrip("+").startswith("hydra.mode") for o in args.overrides)),
        ):
            hydra_main()
    except BrokenPipeError:  # `dlrun --help | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except Exception as e:  # Hydra's, raised because of hydra_raises: explained in one line
        if full_errors():
            raise
        with composing(args.config_dir):  # the config's groups, to list the valid choices
            fail(_explain(e))
    if runs and args.multirun:
        from dlrun.results.sweep import incomplete_runs

        problem = incomplete_runs()
        if problem:
            fail(f"{problem}; see the table above", code=1)


def _other_rank_overrides() -> list[str]:
    """Under torchrun, ranks other than 0 write nothing: Hydra gets a scratch folder (removed at
    exit) and no log; the Trainer takes rank 0's run folder."""
    from dlrun.training import torchrun_rank

    if not torchrun_rank():
        return []
    import atexit
    import shutil
    import tempfile

    scratch = tempfile.mkdtemp(prefix="dlrun-rank-")
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    return [f"hydra.run.dir={scratch}", "hydra.output_subdir=null", "hydra/job_logging=disabled"]
