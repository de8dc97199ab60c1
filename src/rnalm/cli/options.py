"""The options every command that reads sequences shares, spelled and explained once.

``-i/--input``, ``--input-format``, ``--seq-column``, ``--id-column``, ``--unknown``,
``-o/--output``, ``--overwrite``, ``--resume``, ``--device``, ``-q/--quiet`` and ``--progress``
mean the same thing in ``predict``, ``fold``, ``embed`` and ``demo``; a command adds only those
it supports, so an error can name only options that exist on it (:func:`rnalm.errors.option`).
"""

from __future__ import annotations

import argparse
from typing import Optional, Sequence

from rnalm.io.seqio import FORMATS
from rnalm.precision import CHOICES


def add_input(
    p: argparse.ArgumentParser,
    *,
    required: bool = True,
    default: Optional[str] = None,
    unknown: bool = True,
    unknown_help: Optional[str] = None,
) -> None:
    """``-i/--input`` and how to read it: ``--input-format``, ``--seq-column``, ``--id-column``, ``--unknown``
    (``unknown_help``: what the command does without it, when that is not stopping)."""
    p.add_argument(
        "-i",
        "--input",
        required=required,
        default=default,
        metavar="FILE",
        help="sequences: FASTA (plain or gzip), CSV or TSV with a header row"
        + (f" (default: {default})" if default else ""),
    )
    p.add_argument(
        "--input-format",
        choices=FORMATS,
        default=None,
        help="input format (default: detected from the content, then the file name)",
    )
    p.add_argument(
        "--seq-column",
        default=None,
        metavar="NAME",
        help="CSV/TSV column holding the sequences (default: the first of sequence, seq, ...)",
    )
    p.add_argument(
        "--id-column",
        default=None,
        metavar="NAME",
        help="CSV/TSV column holding record ids (default: the first of id, name, ...; without one, rows "
        "are named <file stem>_<row>, the same in every command)",
    )
    if unknown:
        p.add_argument(
            "--unknown",
            default=None,
            metavar="LETTER|mask|unk",
            help=unknown_help
            or "replace letters the model cannot read instead of stopping (default: stop, naming the "
            "record and position)",
        )


def add_output(p: argparse.ArgumentParser, help: str, *, required: bool = True, default: Optional[str] = None) -> None:
    """``-o/--output``."""
    p.add_argument("-o", "--output", required=required, default=default, metavar="PATH", help=help)


def add_overwrite(p: argparse.ArgumentParser, *, resume: bool = False) -> None:
    """``--overwrite`` (and, for commands that can continue an interrupted output, ``--resume``)."""
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --output, only if rnalm wrote it as this command's output (never a "
        "folder of other files, nor the input); the new output is built aside and swapped in",
    )
    if resume:
        g.add_argument("--resume", action="store_true", help="finish an interrupted --output instead of starting again")


def add_device(p: argparse.ArgumentParser) -> None:
    """``--device``."""
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda when available, else cpu)")


DTYPE_HELP = (
    "auto: bfloat16 where the device computes it natively (CPUs with AMX or AVX512-BF16, CUDA GPUs with bf16), "
    "else float32"
)


def add_dtype(
    p: argparse.ArgumentParser, note: str = "", choices: Sequence[str] = CHOICES, default: Optional[str] = "auto"
) -> None:
    """``--dtype`` (default auto: :func:`rnalm.precision.resolve`), the same on every command that runs a model
    (training commands pass ``default=None``: the config's setting, itself auto unless it says otherwise)."""
    p.add_argument("--dtype", choices=choices, default=default, help=DTYPE_HELP + (f" ({note})" if note else ""))


def add_quiet(p: argparse.ArgumentParser) -> None:
    """``-q/--quiet`` and ``--progress``."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary line")
    g.add_argument(
        "--progress", action="store_true", help="show the progress bar even when standard error is not a terminal"
    )


def progress_choice(args: argparse.Namespace) -> Optional[bool]:
    """``False`` under ``-q``, ``True`` with ``--progress``, else ``None`` (a bar only on a terminal)."""
    if getattr(args, "quiet", False):
        return False
    return True if getattr(args, "progress", False) else None


__all__ = ["add_device", "add_input", "add_output", "add_overwrite", "add_quiet", "progress_choice"]
