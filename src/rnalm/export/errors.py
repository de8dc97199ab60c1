"""The error every export raises, and the message for a missing optional dependency."""

from __future__ import annotations

from rnalm.errors import RnalmError


class ExportError(RnalmError):
    """A model cannot be exported as asked (target format, missing extra, output path)."""


def missing_extra(target: str, packages: str, extra: str) -> ExportError:
    """``--to TARGET`` needs ``packages``, installed with ``pip install 'rnalm[EXTRA]'``."""
    return ExportError(f"exporting to {target} needs {packages}: pip install 'rnalm[{extra}]'")


__all__ = ["ExportError", "missing_extra"]
