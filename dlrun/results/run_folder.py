"""The run folder contract: metrics.csv (a row per epoch), summary.json, checkpoints/{last,best}.pt.
Every file is replaced atomically (write a temporary file in the same folder, fsync, rename), so a
kill at any moment leaves the previous complete version."""

import csv
import io
import json
import os
import tempfile
from pathlib import Path

import torch

_UMASK = os.umask(0)
os.umask(_UMASK)

METRICS = "metrics.csv"
SUMMARY = "summary.json"


def atomic_write(path: Path, write) -> None:
    """Call write(file) on a temporary file beside `path`, fsync it, then rename it over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give it an ordinary file's mode
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RunFolder:
    def __init__(self, path: str | os.PathLike, writable: bool = True):
        """`writable=False` (DDP ranks other than 0): reads work, writes do nothing."""
        self.path = Path(path)
        self.writable = writable
        self.checkpoints = self.path / "checkpoints"
        if writable:
            self.checkpoints.mkdir(parents=True, exist_ok=True)

    # metrics.csv ------------------------------------------------------------------------------
    def read_metrics(self) -> list[dict]:
        p = self.path / METRICS
        if not p.exists():
            return []
        with open(p, newline="") as f:
            return list(csv.DictReader(f))

    def write_metrics(self, rows: list[dict]) -> None:
        """Rewrite the whole file (it is small: a row per epoch), so it is never half a row."""
        if not self.writable:
            return
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write(self.path / METRICS, lambda f: f.write(buf.getvalue().encode()))

    # summary.json -----------------------------------------------------------------------------
    def read_summary(self) -> dict:
        p = self.path / SUMMARY
        return json.loads(p.read_text()) if p.exists() else {}

    def write_summary(self, summary: dict) -> None:
        if not self.writable:
            return
        text = json.dumps(summary, indent=2, default=str) + "\n"
        atomic_write(self.path / SUMMARY, lambda f: f.write(text.encode()))

    # checkpoints ------------------------------------------------------------------------------
    def save_checkpoint(self, name: str, state: dict) -> None:
        if not self.writable:
            return
        atomic_write(self.checkpoints / f"{name}.pt", lambda f: torch.save(state, f))

    def load_checkpoint(self, name: str, map_location=None) -> dict:
        return torch.load(self.checkpoints / f"{name}.pt", map_location=map_location, weights_only=True)
