"""Intra-op threads while a model runs beside ViennaRNA worker processes.

``rnalm fold`` with a model that reads ViennaRNA base-pair probabilities folds them in worker
processes (:mod:`rnalm.structure.bpp`) while the model runs. Each worker keeps one core busy, so
the model runs on the cores left (at least one): torch's threads and the workers never wait for
each other's cores. A parallel region whose threads the scheduler has not yet run stalls until
they are (measured on 2 shared cores with other work running: the shipped 128-wide encoder ran
15,200 tokens/s on one thread and 1,800 on two). Without workers torch keeps its own setting
(``OMP_NUM_THREADS``, ``torch.set_num_threads``). The setting is restored when the call returns.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Optional

import torch


def threads_beside(workers: int, cores: int) -> Optional[int]:
    """Threads for a model running beside ``workers`` busy processes on ``cores`` cores (``None``
    when there are no workers: torch's setting)."""
    return max(1, cores - workers) if workers > 0 else None


@contextlib.contextmanager
def inference_threads(n: Optional[int]) -> Iterator[None]:
    """Run the block on at most ``n`` intra-op threads (``None``: unchanged), then restore the setting."""
    old = torch.get_num_threads()
    if n is None or n >= old:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


__all__ = ["inference_threads", "threads_beside"]
