"""Atomic file output: write to a private temporary file in the target directory, then ``os.replace``.

The one writer for every file rnalm replaces in place. A crash or a full disk while ``rnalm fold``
writes thousands of files must never leave a truncated ``.ct`` that a later step reads as a real
(shorter) structure; and the temporary name comes from ``mkstemp`` (created exclusively, never a
fixed ``NAME.tmp``), so a file or link someone left beside the target is never written through or
replaced. The result gets the permissions the umask asks for, not ``mkstemp``'s 0600.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Callable, Union

import numpy as np

from rnalm.io.permissions import honour_umask

PathLike = Union[str, Path]


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    return atomic_write_with(path, lambda fh: fh.write(data))


def atomic_write_text(path: PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save_npy(path: PathLike, array: np.ndarray) -> Path:
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return atomic_write_bytes(path, buf.getvalue())


def atomic_write_with(path: PathLike, writer: Callable[[io.BufferedWriter], object], fsync: bool = True) -> Path:
    """Call ``writer(fh)`` on a temporary binary file next to ``path``, then move it into place.
    ``fsync=False`` skips the flush to disk, for caches that write thousands of files whose loss
    in a crash costs only a recomputation."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            writer(fh)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        honour_umask(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_save_npy", "atomic_write_with"]
