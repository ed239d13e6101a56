"""A sweep job's body in a process of its own, so that a job killed by a signal (SIGKILL, the
out-of-memory killer, a segfault) ends only that run, not the launcher's worker.

Under the joblib launcher a dead worker makes joblib raise TerminatedWorkerError and cancel the
sweep; under submitit a dead job process makes the launcher's `result()` raise: either way later
jobs never start and no summary.csv is written. So with those launchers the Hydra job (in the
worker) starts `python -m dlrun.results.job_process JOB_FILE`, which trains the run exactly as the
job would have, and waits for it: when it dies by a signal, the worker records the run as
`failed` ("killed by signal 9 (SIGKILL)") and returns like any failed run. The launcher, Hydra's
callbacks (summary.csv) and the sweep go on untouched. The cost: one extra Python start per job.
SIGINT/SIGTERM sent to the worker are passed on to the run, which stops cleanly (interrupted)."""

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

CHILD = "DLRUN_JOB_PROCESS"  # set in the job's own process
ISOLATED_LAUNCHERS = ("hydra_joblib_launcher", "hydra_submitit_launcher")


def isolated(hc: DictConfig) -> bool:
    """Whether this job runs under a launcher whose worker must outlive the run."""
    from hydra.types import RunMode

    target = str(OmegaConf.select(hc, "launcher._target_") or "")
    return (
        hc.mode == RunMode.MULTIRUN and not os.environ.get(CHILD) and any(name in target for name in ISOLATED_LAUNCHERS)
    )


def _die_with_parent() -> None:  # in the child, before exec: SIGTERM when the worker dies
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG (Linux)
    except Exception:
        pass


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"killed by signal {-code}"
    return f"its process exited with status {code}"


def run_in_child(cfg: DictConfig, hc: DictConfig) -> float | None:
    """Train the run in a child process; the run's objective, or None when it did not complete."""
    from dlrun.results.guard import settle

    run_dir = str(hc.runtime.output_dir)
    with tempfile.TemporaryDirectory(prefix="dlrun-job-") as tmp:
        job, result = Path(tmp) / "job.yaml", Path(tmp) / "result.json"
        # as YAML: the job's config as it was given, Hydra's node resolved (plain values)
        job.write_text(
            OmegaConf.to_yaml({"cfg": cfg, "hydra": OmegaConf.to_container(hc, resolve=True), "result": str(result)})
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "dlrun.results.job_process", str(job)],
            env={**os.environ, CHILD: "1"},
            preexec_fn=_die_with_parent,
        )
        code = _wait_passing_signals(proc)
        if code == 0 and result.exists():
            return json.loads(result.read_text())
    if code < 0 or code not in (130, 143):  # 130/143: interrupted, and the run folder says so
        status = settle(run_dir, "failed", describe_exit(code))
        print(f"dlrun: run {run_dir} {status}: {describe_exit(code)}", file=sys.stderr)
        from dlrun.results import lock

        try:  # the dead run's lock is free (the kernel released it): clear the file it left
            lock.acquire(run_dir, warn=False)
            lock.release(run_dir)
        except Exception:
            pass
    return None


def _wait_passing_signals(proc: subprocess.Popen) -> int:
    from dlrun.results.guard import on_signals

    def forward(signum, frame):
        proc.send_signal(signum)

    with on_signals(forward):
        while True:
            try:
                return proc.wait()
            except InterruptedError:
                continue


def _child(job_file: str) -> None:
    from hydra.core.hydra_config import HydraConfig

    from dlrun.streams import outlive_readers

    outlive_readers()
    from hydra.core.utils import configure_log

    job = OmegaConf.load(job_file)
    from hydra.types import RunMode

    full = OmegaConf.create({"hydra": job.hydra})
    full.hydra.mode = RunMode[str(job.hydra.mode)]  # an enum, as Hydra has it
    HydraConfig.instance().cfg = full  # what HydraConfig.get() returns in the worker, as plain values
    configure_log(full.hydra.job_logging, full.hydra.verbose)
    cfg = job.cfg
    OmegaConf.set_struct(cfg, True)

    from dlrun.cli import run_task

    value = run_task(cfg)
    Path(job["result"]).write_text(json.dumps(value))


if __name__ == "__main__":
    _child(sys.argv[1])
