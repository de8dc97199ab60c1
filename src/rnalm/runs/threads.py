"""How many intra-op threads a small model's inference runs on.

A narrow model (``embed_dim`` or channels of a few hundred at most) does little work per operation:
a 128-wide product over a batch of 16 x 100 tokens takes tens of microseconds, less than waking,
splitting across and joining a second thread. On a machine whose cores are busy (other processes,
or ViennaRNA folding beside the model) each parallel region also waits for a thread the scheduler
has not yet run: measured on 2 shared cores, the shipped 128-wide encoder ran 15,200 tokens/s on
one thread and 1,800 on two. Such models therefore run on one thread, and the cores are left to
other work (ViennaRNA's base-pair probabilities for ``rnalm fold``: :mod:`rnalm.structure.bpp`);
wider models keep torch's setting. The setting is restored when the model call returns.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Optional

import torch

#: widths up to this run on one intra-op thread
NARROW_WIDTH = 256


def threads_for(width: Optional[int]) -> Optional[int]:
    """1 for a model of at most :data:`NARROW_WIDTH` features, else ``None`` (torch's setting)."""
    return 1 if width is not None and width <= NARROW_WIDTH else None


@contextlib.contextmanager
def inference_threads(n: Optional[int]) -> Iterator[None]:
    """Run the block on ``n`` intra-op threads (``None``: unchanged), then restore the setting."""
    old = torch.get_num_threads()
    if n is None or n >= old:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


__all__ = ["NARROW_WIDTH", "inference_threads", "threads_for"]
