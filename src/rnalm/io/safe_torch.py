"""``torch.load`` restricted to tensors, containers and an explicit allow-list of classes.

Published checkpoints are pickles, and unpickling runs arbitrary code. rnalm never does a bare
unpickle: everything goes through ``weights_only=True`` with only the classes listed here allowed
(RNA-FM and fair-esm store their fairseq arguments as an ``argparse.Namespace``). Zip checkpoints
are size-checked before anything is inflated (:mod:`rnalm.io.sizecap`).

A refusal says which file and what is safe to do about it. It never passes on PyTorch's own
advice to switch the restriction off: that advice runs the file's code, which is what the
restriction exists to prevent. :func:`torch_reason` keeps only PyTorch's statement of what was found.
"""

from __future__ import annotations

import argparse
import collections
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch

from rnalm.errors import CheckpointError
from rnalm.io.sizecap import check_zip_inflation

#: Classes a published checkpoint may contain besides tensors and builtin containers.
ALLOWED_GLOBALS: list[Any] = [argparse.Namespace, collections.OrderedDict]

#: What a user can do about a refused pickle without running its code.
SAFE_ADVICE = (
    "Nothing in it was run. If the file comes from a source you trust, convert it with the tool "
    "that wrote it (e.g. save its state_dict as safetensors), or run `rnalm convert SRC DST` on a "
    "trusted copy of the original checkpoint; otherwise do not use it."
)

#: Sentences of PyTorch's messages that give advice rather than facts (switching the restriction
#: off, allow-listing globals, documentation links).
_ADVICE = re.compile(
    r"weights_only|safe_globals|allowlist|add_safe_globals|documentation|trusted source|"
    r"Weights only load failed|will likely succeed|arbitrary code",
    re.IGNORECASE,
)
_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def allowed_names() -> str:
    return ", ".join(c.__module__ + "." + c.__qualname__ for c in ALLOWED_GLOBALS)


def torch_reason(exc: BaseException) -> str:
    """The factual part of a PyTorch load error, without its advice (see the module docstring)."""
    text = str(exc)
    found = _GLOBAL.search(text)
    if found:
        return f"it refers to {found.group(1)}"
    sentences = re.split(r"(?<=[.!?])\s+|\n+", text)
    kept = [s.strip() for s in sentences if s.strip() and not _ADVICE.search(s)]
    return " ".join(kept)[:300] or type(exc).__name__


def safe_torch_load(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """Load a torch checkpoint without executing code; clear errors naming ``path`` for truncated,
    foreign, hostile or oversized files."""
    path = Path(path)
    try:
        check_zip_inflation(path)
        with torch.serialization.safe_globals(ALLOWED_GLOBALS):
            return torch.load(str(path), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path}: refused to unpickle: {torch_reason(exc)}, which is outside rnalm's allow-list (tensors, "
            f"builtin containers, {allowed_names()}). {SAFE_ADVICE}"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CheckpointError(
            f"{path}: not a readable PyTorch checkpoint (truncated or corrupted?): {torch_reason(exc)}"
        ) from None
