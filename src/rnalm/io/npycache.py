"""Cache entries as ``.npy`` files: read back or recomputed, never trusted when torn.

Shared by the frozen-embedding cache (:mod:`rnalm.runs.embedding_cache`) and the ViennaRNA base-pair
probability cache (:mod:`rnalm.structure.bpp`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from rnalm.io.atomic import atomic_write_with


def load_cached_npy(path: Path) -> Optional[np.ndarray]:
    """A cache entry, or ``None`` when it is missing, torn or foreign (the caller recomputes it)."""
    if not path.is_file():
        return None
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None


def save_cached_npy(path: Path, value: np.ndarray) -> None:
    """Write a cache entry atomically (temporary file + rename; no fsync: an entry lost in a crash
    is recomputed, and caches write thousands of files)."""
    atomic_write_with(path, lambda fh: np.save(fh, value, allow_pickle=False), fsync=False)


__all__ = ["load_cached_npy", "save_cached_npy"]
