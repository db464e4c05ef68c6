"""Every error a user can cause derives from `TfEquivError`."""
from __future__ import annotations


class TfEquivError(Exception):
    """Base of the errors tf-equiv reports to its users."""


class UsageError(TfEquivError):
    """Bad command line or configuration: nothing was run (exit status 2)."""


class DiscoveryError(TfEquivError):
    """A module could not be read or parsed."""
