"""Turning a device name from a config or a flag into a ``torch.device``."""

from __future__ import annotations

import os
from typing import Optional, Type

import torch

from rnalm.errors import RnalmError

NO_CUDA = "--device cuda: no CUDA GPU is available to this process"


def resolve_device(
    name: Optional[str],
    world_size: int = 1,
    *,
    setting: str = "--device",
    no_cuda: str = NO_CUDA,
    error: Type[Exception] = RnalmError,
) -> torch.device:
    """``auto`` (or None) picks CUDA when available; a bare ``cuda`` under ``torchrun`` with several
    processes means this process's GPU, ``cuda:$LOCAL_RANK``.

    The caller's words go into the errors: ``setting`` names the option for a malformed name,
    ``no_cuda`` is the message when CUDA is asked for but absent, raised as ``error``.
    """
    if name in (None, "auto"):
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(name)
    except RuntimeError as exc:
        raise error(f"{setting}: {exc}") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise error(no_cuda)
        if dev.index is None and world_size > 1:
            dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return dev


__all__ = ["NO_CUDA", "resolve_device"]
