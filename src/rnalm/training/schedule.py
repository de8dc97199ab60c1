"""The learning-rate schedule of every trainer: linear warm-up, then constant, linear or cosine decay.

One function, so that fine-tuning and pretraining agree on what ``warmup`` steps mean: the factor
rises as ``(step + 1) / (warmup + 1)`` over the first ``warmup`` steps (never 0, and the full rate is
first reached right after the warm-up), then decays over the remaining ``total - warmup`` steps.
"""

from __future__ import annotations

import math
from typing import Callable

#: The decay kinds after the warm-up.
SCHEDULES = ("linear", "constant", "cosine")


def lr_factor(kind: str, warmup: int, total: int) -> Callable[[int], float]:
    """The multiplier of the base learning rate at each optimizer step, for ``torch``'s ``LambdaLR``."""
    if kind not in SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {kind!r}; expected one of {', '.join(SCHEDULES)}")

    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / (warmup + 1)
        if kind == "constant":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        if kind == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * progress))
        return 1.0 - progress

    return factor


__all__ = ["SCHEDULES", "lr_factor"]
