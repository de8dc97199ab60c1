"""Names of a package imported on first use (PEP 562), so that importing the package costs only what
the caller reads: ``import rnalm`` does not load torch, and ``rnalm.predict`` does not load the
scikit-learn and matplotlib that only ``rnalm.map`` needs.

A package lists ``{name: defining module}`` and takes the two module-level functions this returns;
its ``if TYPE_CHECKING:`` block imports the same names so that type checkers and editors see them.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Mapping, Sequence


def attach(
    package: str, names: Mapping[str, str], submodules: Sequence[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``names`` maps each public name to the module that
    defines it; ``submodules`` are the package's own modules read as attributes (``rnalm.pretrained``).
    A name read once is stored in the package, so later reads cost a dictionary look-up."""

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
        elif name in submodules:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(names) | set(submodules))

    return __getattr__, __dir__
