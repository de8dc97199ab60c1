"""The ``rnalm`` command: a thin layer over the Python API.

Each sub-command lives in its own module of this package exposing ``register(subparsers)``;
modules are discovered, so adding a command is adding a file. Errors caused by input (:class:`rnalm.RnalmError`) print one line and
exit with status 2; anything else is a bug and keeps its traceback. Before any sub-command runs,
:func:`rnalm.numerics.reproducible` fixes the math libraries' numerical mode (``--fast-math`` or
``RNALM_FAST_MATH=1`` opts out), so identical commands give bit-identical results.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

from rnalm import numerics
from rnalm.errors import RnalmError



def command_modules() -> list[str]:
    """Names of the sub-command modules in this package (those defining ``register``)."""
    import pkgutil

    import rnalm.cli as pkg

    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))


def build_parser() -> argparse.ArgumentParser:
    from rnalm import __version__

    parser = argparse.ArgumentParser(prog="rnalm", description="RNA language models: load, embed, fine-tune, fold.")
    parser.add_argument("--version", action="version", version=f"rnalm {__version__}")
    parser.add_argument("--fast-math", action="store_true",
                        help="leave the math libraries in their default mode: faster on some CPUs, but identical "
                             f"runs may differ in the last bits (same as {numerics.FAST_MATH_ENV}=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in command_modules():
        module = importlib.import_module(f"rnalm.cli.{name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    numerics.reproducible(fast_math=args.fast_math)  # before the sub-command's first matrix product
    try:
        return int(args.func(args) or 0)
    except RnalmError as exc:
        print(f"rnalm {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rnalm {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
