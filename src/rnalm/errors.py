"""Exceptions raised by rnalm.

Every error a user can provoke with bad input derives from :class:`RnalmError`, so command-line
entry points can print the message alone (no traceback) and exit non-zero.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator, Optional

#: How an option is spelled in messages: a function of its Python keyword name (``seq_column``) and
#: an optional value. Errors are raised deep below the command that reports them, so they name an
#: option through :func:`option` and the entry point in force decides the spelling.
Spelling = Callable[[str, Optional[str]], str]


def python_spelling(name: str, value: Optional[str] = None) -> str:
    """``seq_column=...`` / ``unknown='mask'``: the keyword of the Python function that was called."""
    return f"{name}=" if value is None else f"{name}={value!r}"


def cli_spelling(name: str, value: Optional[str] = None) -> str:
    """``--seq-column`` / ``--unknown mask``: the flag of the command that was run."""
    flag = "--" + name.replace("_", "-")
    return flag if value is None else f"{flag} {value}"


_SPELLING: ContextVar[Spelling] = ContextVar("rnalm_option_spelling", default=python_spelling)


def option(name: str, value: Optional[str] = None) -> str:
    """``name`` (a Python keyword such as ``seq_column``) spelled as the running entry point spells it."""
    return _SPELLING.get()(name, value)


@contextmanager
def spelled(spelling: Spelling) -> Iterator[None]:
    """Within the block, :func:`option` spells options with ``spelling`` (the CLI uses :func:`cli_spelling`)."""
    token = _SPELLING.set(spelling)
    try:
        yield
    finally:
        _SPELLING.reset(token)


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
            f"Pass {option('unknown', 'mask')} (or another replacement) to replace such characters instead."
        )


class SequenceLengthError(RnalmError, ValueError):
    """A sequence is empty, too long for the model, or not a whole number of codons."""


class ConfigError(RnalmError):
    """A config file or override does not match the command's schema."""


class CheckpointError(RnalmError):
    """A checkpoint file is truncated, foreign or inconsistent with its declared format."""


class DownloadError(RnalmError):
    """A checkpoint could not be downloaded or failed verification."""
