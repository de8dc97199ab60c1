"""Helpers shared by the embed tests (sequence files, reference forwards)."""

from __future__ import annotations

import random
from pathlib import Path

import torch


def write_fasta(path: Path, records) -> Path:
    path.write_text("".join(f">{rid}\n{seq}\n" for rid, seq in records))
    return path


def random_records(n: int, lo: int, hi: int, seed: int = 0, letters: str = "ACGU", prefix: str = "r"):
    rng = random.Random(seed)
    return [(f"{prefix}{i}", "".join(rng.choice(letters) for _ in range(rng.randint(lo, hi)))) for i in range(n)]


def direct(model, alphabet, seq: str, layers=None, **kw) -> dict:
    """Forward of one sequence alone (no padding): the reference for batched outputs."""
    layers = layers or [model.num_layers]
    _, _, tokens = alphabet.get_batch_converter(check_length=False)([("x", seq)])
    with torch.no_grad():
        return model(tokens, repr_layers=layers, **kw)
