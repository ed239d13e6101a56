import sys


class DlrunError(Exception):
    """A problem the user can fix (bad config, missing data, no such device): reported as one line."""


def print_error(message: str) -> None:
    """The one line a user sees for a problem they can fix."""
    print(f"dlrun: error: {message}", file=sys.stderr)


class RunStopped(Exception):
    """Raised by a training callback (e.g. a search's pruner) to end a run early with its own
    `status` (e.g. "pruned"); the trainer records it in summary.json, tests best.pt, and the run
    counts as finished, not as an error."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


def print_warning(message: str) -> None:
    """A problem dlrun worked around (e.g. a skipped file): one line on stderr, also logged."""
    import logging

    log = logging.getLogger("dlrun")
    if log.hasHandlers():  # a run's dlrun.log (before logging is set up, Python's fallback would echo it)
        log.warning(message)
    print(f"dlrun: warning: {message}", file=sys.stderr)
