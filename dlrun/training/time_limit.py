"""`trainer.max_time=HH:MM:SS`: the run stops once it has trained that long (all sessions of a
resumed run together, as summary.json's wall_s counts), at the next optimizer-step boundary, after
saving last.pt. summary.json then says status "interrupted" and names the limit in "error";
`dlrun resume RUN_DIR trainer.max_time=LONGER` (or `trainer.max_time=null`) continues it."""

from dlrun.config.schema import parse_duration
from dlrun.errors import RunStopped


class TimeLimit:
    def __init__(self, max_time: str | None):
        self.text = max_time
        self.seconds = parse_duration(max_time) if max_time is not None else None

    def expired(self, elapsed: float) -> bool:
        return self.seconds is not None and elapsed >= self.seconds

    def stop(self, run_dir, epoch: int, step: int) -> RunStopped:
        return RunStopped(
            "interrupted",
            f"trainer.max_time={self.text} reached after {epoch} epochs and "
            f"{step} steps; continue with: dlrun resume {run_dir} "
            f"trainer.max_time=<longer>",
        )
