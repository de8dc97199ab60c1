"""``torch.load`` restricted to tensors, containers and an explicit allow-list of classes.

Published checkpoints are pickles, and unpickling runs arbitrary code. rnalm never does a bare
unpickle: everything goes through ``weights_only=True`` with only the classes listed here allowed
(RNA-FM and fair-esm store their fairseq arguments as an ``argparse.Namespace``).
"""
from __future__ import annotations

import argparse
import collections
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from rnalm.errors import CheckpointError

#: Classes a published checkpoint may contain besides tensors and builtin containers.
ALLOWED_GLOBALS: list[Any] = [argparse.Namespace, collections.OrderedDict]


def safe_torch_load(path: str | Path) -> Any:
    """Load a torch checkpoint without executing code; clear errors for truncated/foreign files."""
    path = Path(path)
    try:
        with torch.serialization.safe_globals(ALLOWED_GLOBALS):
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path}: refused to unpickle: the file holds objects outside rnalm's allow-list "
            f"({', '.join(c.__module__ + '.' + c.__qualname__ for c in ALLOWED_GLOBALS)}). "
            f"Details: {str(exc).splitlines()[0]}"
        ) from exc
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CheckpointError(
            f"{path}: not a readable PyTorch checkpoint (truncated or corrupted?): {str(exc).splitlines()[0]}"
        ) from exc
