"""The ``rnalm`` command: argument parsing over the Python API.

Each sub-command lives in its own module of this package exposing ``register(subparsers)``; they are
listed in :data:`COMMANDS`, in the order ``rnalm --help`` shows them, so adding a command is adding a
module and a line there. Errors caused by input (:class:`rnalm.RnalmError`) print one line and exit
with status 2; anything else is a bug and keeps its traceback. A reader that stops early
(``rnalm models -v | head``) ends the command quietly with status 141, as a shell pipeline expects.
Before any sub-command runs, :func:`rnalm.numerics.reproducible` fixes the math libraries'
numerical mode (``--fast-math`` or ``RNALM_FAST_MATH=1`` opts out), so identical commands give
bit-identical results.

A command line names its sub-command, so :func:`main` imports only that command's module: ``rnalm
predict`` does not pay for the libraries ``rnalm map`` or ``rnalm demo`` import. ``rnalm --help``, a
misspelt command and :func:`build_parser` without a command import them all.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import import_module
from typing import Optional, Sequence

from rnalm import numerics
from rnalm.errors import RnalmError, cli_spelling, spelled
from rnalm.version import __version__

#: the sub-command modules of this package, in help order
COMMANDS: tuple[str, ...] = (
    "convert",
    "corpus",
    "demo",
    "design",
    "download",
    "embed",
    "export",
    "finetune",
    "fold",
    "map",
    "models",
    "predict",
    "pretrain",
    "serve",
)
#: sub-commands registered by another command's module
REGISTERED_BY = {"embed-merge": "embed", "worker": "serve"}


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The ``rnalm`` parser; with ``command`` (a sub-command's name), only that sub-command's module is
    imported and registered, otherwise every module in :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(prog="rnalm", description="RNA language models: load, embed, fine-tune, fold.")
    parser.add_argument("--version", action="version", version=f"rnalm {__version__}")
    parser.add_argument(
        "--fast-math",
        action="store_true",
        help="leave the math libraries in their default mode: faster on some CPUs, but identical "
        f"runs may differ in the last bits (same as {numerics.FAST_MATH_ENV}=1)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    module = REGISTERED_BY.get(command or "", command)
    for name in [module] if module in COMMANDS else COMMANDS:
        import_module(f"{__name__}.{name}").register(sub)
    return parser


#: top-level options that end the command line's parsing before any sub-command's (all parsers needed)
WHOLE_PARSER_OPTIONS = ("-h", "--help", "--version")


def command_of(argv: Sequence[str]) -> Optional[str]:
    """The sub-command ``argv`` names: its first word that is not an option (the top-level options
    take no value); None when there is none or a help or version option comes first."""
    for arg in argv:
        if arg in WHOLE_PARSER_OPTIONS:
            return None
        if not arg.startswith("-"):
            return arg
    return None


def main(argv: Optional[Sequence[str]] = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(command_of(words)).parse_args(words)
    numerics.reproducible(fast_math=args.fast_math)  # before the sub-command's first matrix product
    try:
        with spelled(getattr(args, "spelling", cli_spelling)):  # a command may set its own (finetune: config keys)
            status = int(args.func(args) or 0)
            sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit flush
            return status
    except RnalmError as exc:
        print(f"rnalm {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rnalm {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return closed_stdout()


#: exit status of a command whose reader went away (128 + SIGPIPE), as a shell reports it
BROKEN_PIPE_STATUS = 141


def closed_stdout() -> int:
    """Stop writing to a pipe whose reader has gone: stdout is pointed at /dev/null so that Python's
    final flush at exit does not raise a second time (the recipe of Python's ``signal`` documentation)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a file (captured in-process): nothing left to flush
        pass
    return BROKEN_PIPE_STATUS


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
