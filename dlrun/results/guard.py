"""What a run's folder says when the run ends other than by completing, whatever the phase:

- `signals_raise()`: outside the trainer's own epoch loop (which stops at a batch boundary and
  saves last.pt), SIGINT/SIGTERM raise `Interrupted` at once: during set-up, the final test of
  best.pt and the last file writes, a signal no longer kills the process with summary.json still
  saying `running` (SIGTERM's default) or escape as a bare KeyboardInterrupt;
- `settle(run_dir, status, message)`: the status a run folder is left with: a run whose summary
  still says `running` (or has none) becomes `status`; a `completed` one stays completed;
- `created_folders` / `remove_created(run_dir)`: a single run refused during set-up (bad data path,
  a split with no sample) leaves no folder behind, when this process created it."""

import json
import shutil
import signal
import threading
from contextlib import contextmanager
from pathlib import Path

# run folders this process saw created (ConfigCheck records them, before Hydra creates them): the
# outermost folder that did not exist yet, by run folder
created_folders: dict[Path, Path] = {}


def note_new_folder(run_dir: str) -> None:
    """Before Hydra creates `run_dir`: remember it, and its outermost missing parent, as ours."""
    path = Path(run_dir).resolve()
    if path.exists():
        return
    top = path
    while not top.parent.exists():
        top = top.parent
    created_folders[path] = top


def remove_created(run_dir: str) -> bool:
    """Remove `run_dir` (and the parents created with it) if this process created it."""
    path = Path(run_dir).resolve()
    top = created_folders.pop(path, None)
    if top is None or not path.is_dir():
        return False
    shutil.rmtree(path, ignore_errors=True)
    folder = path.parent
    while folder != top.parent and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
    return True


@contextmanager
def signals_raise():
    """SIGINT/SIGTERM raise trainer.Interrupted in the main thread while this is open (the trainer's
    own handler takes over during its epoch loop and hands back at its end)."""
    from dlrun.training.trainer import Interrupted

    def handler(signum, frame):
        raise Interrupted(signum, clean=False)

    with on_signals(handler):
        yield


@contextmanager
def on_signals(handler):
    """`handler` for SIGINT and SIGTERM while open, the previous handlers after. Only the main
    thread can handle signals: elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def read_status(run_dir: str) -> dict:
    try:
        return json.loads((Path(run_dir) / "summary.json").read_text())
    except (OSError, ValueError):
        return {}


def settle(run_dir: str, status: str, message: str) -> str:
    """Record `status` and `message` in summary.json unless the run already ended with a status of
    its own (completed, interrupted, diverged, ...). Returns the status the folder now has."""
    summary = read_status(run_dir)
    if summary.get("status") not in (None, "running"):
        return summary["status"]
    from dlrun.results.run_folder import RunFolder

    summary.update(status=status, error=message)
    summary.setdefault("epochs_completed", 0)
    RunFolder(run_dir).write_summary(summary)
    return status


def ignore_signals() -> None:
    """From here on the process only records how it ended and exits: further signals wait."""
    if threading.current_thread() is threading.main_thread():
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, signal.SIG_IGN)
