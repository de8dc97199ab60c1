"""JSON files that rnalm writes (run metrics, run info, the shipped-model manifest): indented,
numpy scalars and paths allowed, and written atomically so a reader never sees half a file; read
back with :func:`read_json_object`, whose errors name the file (a run directory is untrusted input:
a damaged or hostile file, e.g. nested 100,000 levels deep, must not end in a traceback)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from rnalm.errors import RnalmError
from rnalm.io.atomic import atomic_write_text


class JsonFileError(RnalmError):
    """A JSON file rnalm reads back is missing, damaged or not the object it should hold."""


def json_default(o: Any) -> Any:
    """``json.dumps`` fallback: numpy scalars as Python numbers, paths as strings."""
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` to ``path`` atomically (:func:`rnalm.io.atomic.atomic_write_text`)."""
    atomic_write_text(path, json.dumps(obj, indent=2, default=json_default) + "\n")


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; :class:`JsonFileError` naming the file for anything else."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise JsonFileError(f"{path}: not a readable JSON file: {exc}") from None
    if not isinstance(obj, dict):
        raise JsonFileError(f"{path}: expected a JSON object, found {type(obj).__name__}")
    return obj


__all__ = ["JsonFileError", "json_default", "read_json_object", "write_json"]
