"""Every error a user can cause derives from `TfEquivError`."""
from __future__ import annotations


class TfEquivError(Exception):
    """Base of the errors tf-equiv reports to its users."""


class UsageError(TfEquivError):
    """Bad command line or configuration: nothing was run (exit status 2)."""


class RecordsError(TfEquivError):
    """Records that cannot be used: a stored path outside its store, an unreadable array."""
