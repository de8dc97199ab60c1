"""Length bucketing and collation for pair-map training.

A batch of ``B`` sequences padded to length ``L`` costs ``B * L^2`` cells in every 2-D layer, so
batches are formed by that budget rather than by a fixed batch size (:mod:`rnalm.training.batching`
with a cell budget): sequences are sorted by length and cut into consecutive runs whose
``len(run) * max_len(run)^2`` stays within ``max_cells``. Sorting also keeps padding waste small.
A single sequence whose ``L^2`` alone is
over the budget gets a batch of its own (the budget cannot be met; it is never dropped silently
-- filter by length beforehand if it must not run).
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch

from rnalm.structure.pairs import Structure
from rnalm.training.batching import Budget, budget_batches


def length_buckets(
    lengths: Sequence[int], max_cells: int, max_batch_size: Optional[int] = None, shuffle: bool = False, seed: int = 0
) -> list[list[int]]:
    """Indices grouped into batches with ``batch_size * max_length^2 <= max_cells``.

    With ``shuffle``, lengths are sorted with random tie-breaking and the batch order is shuffled
    (reproducibly from ``seed``); otherwise batches come shortest first, ties in input order.
    """
    if max_cells <= 0:
        raise ValueError("max_cells must be positive")
    return budget_batches(lengths, Budget(cells=max_cells, max_rows=max_batch_size), shuffle, seed, ties="draw")


def target_maps(structures: Sequence[Structure], length: Optional[int] = None) -> torch.Tensor:
    """``(B, L, L)`` float 0/1 contact maps, zero-padded to ``length`` (default: the longest)."""
    length = length or max(len(s) for s in structures)
    t = torch.zeros(len(structures), length, length)
    for b, s in enumerate(structures):
        if s.pairs:
            ij = torch.tensor(s.pairs, dtype=torch.long)
            t[b, ij[:, 0], ij[:, 1]] = 1
            t[b, ij[:, 1], ij[:, 0]] = 1
    return t


__all__ = ["length_buckets", "target_maps"]
