"""Length-budget batching: group sequences of similar length so that a batch's padded size stays
within a budget.

A batch of ``rows`` sequences padded to ``width`` costs ``rows * width`` tokens in a sequence
model and ``rows * width^2`` cells in anything holding pair maps (attention maps, contact maps,
2-D layers); :class:`Budget` bounds either or both, plus the number of rows. Two ways of cutting a
length-sorted list of sequences into batches under a budget:

* :func:`budget_batches` (greedy, shortest first): fill a batch until the next sequence would
  break the budget. Seeded tie-breaking and batch order make the batches a function of the seed,
  which is what resumable training needs.
* :func:`least_padding_runs` (longest first): the cut with the least padding plus a fixed cost
  per batch, found by dynamic programming, for inference over long inputs.

A single sequence over the budget on its own still gets a batch (the budget cannot be met; it is
never dropped silently). The fixed-size batches of :func:`shuffled_batches` and
:func:`sorted_batches` serve trainers whose batch size is a number of sequences.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal, Optional, Sequence

import numpy as np
import torch

#: How equal lengths are ordered when shuffling: ``permute`` shuffles the indices, then sorts them
#: stably by length; ``draw`` sorts by (length, one random draw per sequence, index). They consume
#: the seeded generator differently, so each is kept for the trainer whose runs depend on it.
Ties = Literal["permute", "draw"]


@dataclass(frozen=True)
class Budget:
    """What one batch of ``rows`` sequences padded to ``width`` may cost (None: no bound).

    ``tokens`` bounds ``rows * width``; ``cells`` bounds ``rows * width^2 * cell_bytes`` (pair maps;
    ``cell_bytes`` is the cost of one query-key pair); ``max_rows`` bounds ``rows``.
    """

    tokens: Optional[int] = None
    cells: Optional[int] = None
    cell_bytes: int = 1
    max_rows: Optional[int] = None

    def fits(self, rows: int, width: int) -> bool:
        if self.max_rows is not None and rows > self.max_rows:
            return False
        if self.tokens is not None and rows * width > self.tokens:
            return False
        return self.cells is None or rows * width * width * self.cell_bytes <= self.cells


def ascending_order(lengths: Sequence[int], rng: Optional[random.Random] = None, ties: Ties = "permute") -> list[int]:
    """Indices sorted by length, shortest first; equal lengths in input order, or in an order drawn
    from ``rng`` (see :data:`Ties`)."""
    if rng is None:
        return sorted(range(len(lengths)), key=lambda i: lengths[i])
    if ties == "draw":
        keys = [(int(n), rng.random(), k) for k, n in enumerate(lengths)]
        return [k for _, _, k in sorted(keys)]
    order = list(range(len(lengths)))
    rng.shuffle(order)
    order.sort(key=lambda i: lengths[i])
    return order


def greedy_batches(order: Sequence[int], lengths: Sequence[int], budget: Budget) -> list[list[int]]:
    """Cut ``order`` (shortest first) into consecutive batches, each as full as ``budget`` allows."""
    batches: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        width = int(lengths[i])  # the longest so far: the order is ascending
        if cur and not budget.fits(len(cur) + 1, width):
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    return batches


def budget_batches(
    lengths: Sequence[int], budget: Budget, shuffle: bool = False, seed: int = 0, ties: Ties = "permute"
) -> list[list[int]]:
    """Indices in batches within ``budget``, similar lengths together.

    With ``shuffle``, equal lengths are ordered by a generator seeded with ``seed`` and the batch
    order is shuffled with it, so a given seed always yields the same batches; otherwise batches
    come shortest first, equal lengths in input order.
    """
    rng = random.Random(seed)
    batches = greedy_batches(ascending_order(lengths, rng if shuffle else None, ties), lengths, budget)
    if shuffle:
        rng.shuffle(batches)
    return batches


def least_padding_runs(widths: Sequence[int], budget: Budget, batch_cost: float) -> list[tuple[int, int]]:
    """``[(start, stop), ...]``: consecutive runs of ``widths`` (longest first) with the least padding.

    A run's first item sets its padded width. A dynamic program picks the runs minimising
    ``padded tokens + batch_cost * batches`` with every run within ``budget`` (a run of one always
    fits): greedy filling would pad a batch of 900-nt sequences to the one 1,000-nt sequence that
    happened to open it, while one batch per length would waste the matrix units on tiny batches.
    """
    n = len(widths)
    width = np.asarray(widths, dtype=np.int64).reshape(n)
    best = np.zeros(n + 1)
    start = np.zeros(n + 1, dtype=np.int64)
    lo = 0
    for i in range(1, n + 1):
        # the run items[j:i] fits iff (i - j) rows of width[j] fit the budget; widths fall with j,
        # so the feasible j form a range [lo, i) whose lo only moves forward
        while lo < i - 1 and not budget.fits(i - lo, int(width[lo])):
            lo += 1
        rows = i - np.arange(lo, i)
        cost = best[lo:i] + rows * width[lo:i] + batch_cost
        k = int(np.argmin(cost))
        best[i] = cost[k]
        start[i] = lo + k
    cuts = []
    i = n
    while i > 0:
        cuts.append((int(start[i]), i))
        i = int(start[i])
    return cuts[::-1]


def shuffled_batches(
    n: int, batch_size: int, seed: int, lengths: Optional[Sequence[int]] = None, group: int = 50
) -> list[list[int]]:
    """Batches of ``batch_size`` in an order drawn from ``seed`` (torch's generator).

    With ``lengths``, chunks of ``group`` batches are sorted by length (longest first), cut into
    batches, and the batches shuffled: less padding, still a function of the seed only.
    """
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=g)
    if lengths is None:
        idx = order.tolist()
        return [idx[i : i + batch_size] for i in range(0, len(idx), batch_size)]
    batches = []
    for i in range(0, len(order), batch_size * group):
        chunk = sorted(order[i : i + batch_size * group].tolist(), key=lambda j: -lengths[j])
        batches += [chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size)]
    return [batches[b] for b in torch.randperm(len(batches), generator=g).tolist()]


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Batches of ``batch_size`` in length order (ties in input order): little padding for evaluation."""
    order = np.argsort(lengths, kind="stable").tolist()
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


__all__ = [
    "Budget",
    "Ties",
    "ascending_order",
    "budget_batches",
    "greedy_batches",
    "least_padding_runs",
    "shuffled_batches",
    "sorted_batches",
]
