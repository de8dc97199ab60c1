"""Cache entries as ``.npy`` files: read back or recomputed, never trusted when torn.

Shared by the frozen-embedding cache (:mod:`rnalm.runs.embedding_cache`) and the ViennaRNA base-pair
probability cache (:mod:`rnalm.structure.bpp`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

from rnalm.io.permissions import honour_umask


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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp", suffix=".npy", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, value, allow_pickle=False)
        honour_umask(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["load_cached_npy", "save_cached_npy"]
