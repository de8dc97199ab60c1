"""Exceptions raised by rnalm.

Every error a user can provoke with bad input derives from :class:`RnalmError`, so command-line
entry points can print the message alone (no traceback) and exit non-zero.
"""

from __future__ import annotations


class RnalmError(Exception):
    """Base class for errors caused by user input, files or configuration."""


class InvalidSequenceError(RnalmError, ValueError):
    """A sequence holds a character the model's alphabet cannot represent."""

    def __init__(self, record_id: str, position: int, char: str, model: str, allowed: str) -> None:
        self.record_id = record_id
        self.position = position
        self.char = char
        super().__init__(
            f"record {record_id!r}: invalid character {char!r} at position {position} "
            f"(1-based, after whitespace removal) for alphabet {model!r}; allowed letters: {allowed}. "
            f"Pass unknown='mask' (or another replacement) to replace such characters instead."
        )


class SequenceLengthError(RnalmError, ValueError):
    """A sequence is empty, too long for the model, or not a whole number of codons."""


class ConfigError(RnalmError):
    """A config file or override does not match the command's schema."""


class CheckpointError(RnalmError):
    """A checkpoint file is truncated, foreign or inconsistent with its declared format."""


class DownloadError(RnalmError):
    """A checkpoint could not be downloaded or failed verification."""
