"""Errors of runs: bad data, bad configuration, a run directory that cannot be used
(``rnalm finetune`` / ``rnalm predict``).

They derive from :class:`rnalm.errors.RnalmError`, so the command line prints the message alone and
exits with status 2. Messages name the file, the row (1-based, header = row 1) and the column.
"""

from __future__ import annotations

from rnalm.configfile import ConfigError
from rnalm.errors import RnalmError


class DataError(RnalmError, ValueError):
    """A data file is missing, empty, malformed, or its labels cannot be used for the task."""


class RunDirError(RnalmError):
    """A run directory is missing files, incomplete, or would be overwritten."""


__all__ = ["ConfigError", "DataError", "RunDirError"]
