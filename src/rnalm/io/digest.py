"""Digests: the sha256 of a file, and the identity of a model's weights.

The weights identity is a sha256 over a module's state (names, dtypes, shapes, bytes). It does not
depend on the file the weights came from, so a fine-tuning run, an embedding output and a shipped
model's manifest that record it for the same weights record the same id.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

CHUNK_BYTES = 1 << 20


def sha256_file(path: str | Path, chunk: int = CHUNK_BYTES) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def state_sha256(module: nn.Module) -> str:
    """sha256 over a module's state (names, dtypes, shapes, bytes): the weights' identity."""
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


__all__ = ["CHUNK_BYTES", "sha256_file", "state_sha256"]
