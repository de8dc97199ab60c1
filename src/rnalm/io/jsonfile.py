"""JSON files that rnalm writes (run metrics, run info, the shipped-model manifest): indented,
numpy scalars and paths allowed, and written atomically so a reader never sees half a file."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def json_default(o: Any) -> Any:
    """``json.dumps`` fallback: numpy scalars as Python numbers, paths as strings."""
    import numpy as np

    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` to ``path`` through ``path.tmp`` and a rename."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=json_default) + "\n", encoding="utf-8")
    tmp.replace(path)


__all__ = ["json_default", "write_json"]
