"""Array files rnalm writes and reads back (safetensors weights, ``.npy`` arrays), with errors that
name the file.

Both formats hold only numbers and names, never code: safetensors by design, ``.npy`` because it is
always read with ``allow_pickle=False``. What these readers add is the error: a run directory or an
output is untrusted input (a pickle planted as ``model.safetensors``, an object array planted as
``.npy``), and the user must learn which file is bad instead of reading a library's traceback.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file

from rnalm.errors import CheckpointError, RnalmError


class ArrayFileError(RnalmError):
    """An ``.npy`` file is missing, damaged, or holds Python objects instead of numbers."""


def _unreadable(path: Path, exc: Exception) -> CheckpointError:
    return CheckpointError(
        f"{path}: not a readable safetensors file ({exc}); it is truncated, damaged or another format "
        f"(rnalm never reads pickles as weights). Use a trusted copy of the run or checkpoint."
    )


def read_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file (on the CPU); :class:`CheckpointError` naming ``path``
    for anything that is not one (a pickle, a truncated file, a missing file)."""
    path = Path(path)
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise _unreadable(path, exc) from None


def safetensors_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape from a safetensors header; the tensor data is not read (so a config can
    be checked against the weights before anything is allocated)."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as fh:
            return {k: tuple(fh.get_slice(k).get_shape()) for k in fh.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise _unreadable(path, exc) from None


def read_npy(path: str | Path) -> np.ndarray:
    """One ``.npy`` array, never unpickled; :class:`ArrayFileError` naming ``path`` otherwise."""
    path = Path(path)
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise ArrayFileError(
                f"{path}: holds Python objects, not numbers; refused (rnalm never unpickles "
                f"arrays). Use a trusted copy of the file."
            ) from None
        raise ArrayFileError(f"{path}: not a readable .npy array: {exc}") from None
    except (OSError, EOFError) as exc:
        raise ArrayFileError(f"{path}: not a readable .npy array: {exc}") from None


__all__ = ["ArrayFileError", "read_npy", "read_safetensors", "safetensors_shapes"]
