import sys


class DlrunError(Exception):
    """A problem the user can fix (bad config, missing data, no such device): reported as one line."""


def print_error(message: str) -> None:
    """The one line a user sees for a problem they can fix."""
    print(f"dlrun: error: {message}", file=sys.stderr)
