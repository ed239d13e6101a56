class DlrunError(Exception):
    """A problem the user can fix (bad config, missing data, no such device): reported as one line."""
