"""stdout and stderr that outlive their reader. `dlrun ... 2>&1 | tee log` and Ctrl-C: the terminal
sends SIGINT to tee as well, tee exits, and dlrun's next line would raise BrokenPipeError in the
middle of stopping cleanly, turning an interrupted run into a failed one. Once a stream's pipe is
closed, its output goes to /dev/null and the run ends as it would have (the run folder and
dlrun.log still tell the story)."""

import os
import sys


class OutlivesReader:
    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self):
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_devnull()
            self._stream.flush()  # what was buffered goes to /dev/null

    def _to_devnull(self):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())  # for this process and the children it starts
        os.close(devnull)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def outlive_readers() -> None:
    """Wrap sys.stdout and sys.stderr (once) so that a closed pipe never ends the process."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, OutlivesReader):
            setattr(sys, name, OutlivesReader(stream))
