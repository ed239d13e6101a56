"""`trainer.profile=true`: torch.profiler over a few training steps of the first epoch of this
session (skip WAIT, warm up WARMUP, record ACTIVE). When they are recorded, the table of the top
ops by self time goes to dlrun.log and a Chrome trace (open in chrome://tracing or
https://ui.perfetto.dev) to profile/trace.json in the run folder."""

import logging
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, schedule

log = logging.getLogger("dlrun")

WAIT, WARMUP, ACTIVE = 1, 1, 3
TOP_OPS = 15
TRACE = "profile/trace.json"


class StepProfiler:
    def __init__(self, run_dir: Path, device: torch.device):
        self.run_dir, self.device = Path(run_dir), device
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
        self.prof = profile(
            activities=activities,
            record_shapes=True,
            schedule=schedule(wait=WAIT, warmup=WARMUP, active=ACTIVE, repeat=1),
            on_trace_ready=self.report,
        )
        self.prof.start()
        self.running, self.steps, self.reported = True, 0, False

    def step(self) -> None:
        """After each optimizer step; stops the profiler once its steps are recorded."""
        if not self.running:
            return
        self.prof.step()
        self.steps += 1
        if self.steps >= WAIT + WARMUP + ACTIVE:
            self.close()

    def report(self, prof) -> None:
        sort = "self_cuda_time_total" if self.device.type == "cuda" else "self_cpu_time_total"
        table = prof.key_averages().table(sort_by=sort, row_limit=TOP_OPS)
        trace = self.run_dir / TRACE
        trace.parent.mkdir(exist_ok=True)
        prof.export_chrome_trace(str(trace))
        log.info(
            "profile of %d training steps (after %d warm-up), top %d ops by self time; trace: %s\n%s",
            ACTIVE,
            WARMUP,
            TOP_OPS,
            trace,
            table,
        )
        self.reported = True

    def close(self) -> None:
        """Once the steps are recorded, or at the end of the session."""
        if self.running:
            self.running = False
            self.prof.stop()
            if not self.reported:
                log.warning(
                    "trainer.profile: the run took %d of the %d steps the profile needs; no profile",
                    self.steps,
                    WAIT + WARMUP + ACTIVE,
                )
