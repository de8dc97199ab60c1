"""From an ``L x L`` base-pair probability matrix to a valid set of pairs.

The rules, each optional, applied in this order:

1. the matrix is symmetrised, ``(P + P^T) / 2`` (a learned head is symmetric already; this makes
   the function safe on anything else), and only ``i < j`` is considered;
2. **no sharp hairpins**: pairs with ``j - i <= min_loop`` are excluded (``min_loop=3``: at least
   three unpaired bases close a hairpin, i.e. ``|i - j| < 4`` is forbidden);
3. **canonical only**: with ``canonical_only``, only AU, GC and GU (either order; T read as U,
   any case) may pair; other letters (N, ...) never pair;
4. **threshold**: a pair is a candidate when its probability is ``> threshold``;
5. **one partner per base**: ``"greedy"`` accepts candidates by decreasing probability while both
   bases are free (ties: smaller ``i`` then smaller ``j`` first); ``"matching"`` picks the set of
   candidates with the largest *total probability* in which no base pairs twice, by Edmonds'
   blossom algorithm for maximum-weight matching in a general graph (networkx). A bipartite
   solver such as scipy's ``linear_sum_assignment`` is not enough: it may return ``i -> j`` and
   ``j -> k`` at once, since it cannot force the assignment to be symmetric. ``None`` skips the
   step (the result may then give a base several partners; :class:`Structure` will refuse it).
   ``"nested"`` picks the pseudoknot-free set of candidates with the largest total ``p - threshold``
   (Nussinov's dynamic programme, ``O(L^3)`` in vectorised numpy): every base has one partner and no
   two pairs cross, as in the structures ViennaRNA predicts.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from rnalm.errors import RnalmError
from rnalm.structure.pairs import canonical_mask

ONE_PARTNER_METHODS = ("greedy", "matching", "nested")


def candidate_mask(
    length: int, sequence: Optional[str] = None, min_loop: int = 3, canonical_only: bool = False
) -> np.ndarray:
    """``(L, L)`` bool, True on ``i < j`` cells that rules 2 and 3 allow."""
    i, j = np.triu_indices(length, k=min_loop + 1)
    m = np.zeros((length, length), dtype=bool)
    m[i, j] = True
    if canonical_only:
        if sequence is None:
            raise ValueError("canonical_only needs the sequence")
        if len(sequence) != length:
            raise ValueError(f"sequence of length {len(sequence)} for a {length} x {length} matrix")
        m &= canonical_mask(sequence)
    return m


def greedy_pairs(scores: np.ndarray, candidates: np.ndarray) -> list[tuple[int, int]]:
    """Accept candidate cells by decreasing score while both bases are still free."""
    ii, jj = np.nonzero(candidates)
    if ii.size == 0:
        return []
    vals = scores[ii, jj]
    order = np.lexsort((jj, ii, -vals))  # last key is primary: score desc, then i, then j
    used = np.zeros(scores.shape[0], dtype=bool)
    out = []
    for k in order:
        i, j = int(ii[k]), int(jj[k])
        if not used[i] and not used[j]:
            used[i] = used[j] = True
            out.append((i, j))
    return sorted(out)


def matching_pairs(scores: np.ndarray, candidates: np.ndarray) -> list[tuple[int, int]]:
    """Maximum-weight matching over candidate cells (weights = scores, all must be > 0)."""
    ii, jj = np.nonzero(candidates)
    if ii.size == 0:
        return []
    try:
        import networkx as nx
    except ImportError:
        raise RnalmError(
            "one-partner method 'matching' needs networkx: `pip install networkx`, or use the 'greedy' method"
        ) from None
    g = nx.Graph()
    for i, j in zip(ii.tolist(), jj.tolist()):
        w = float(scores[i, j])
        if w <= 0:
            continue  # a non-positive edge never increases the total weight
        g.add_edge(i, j, weight=w)
    return sorted((min(a, b), max(a, b)) for a, b in nx.max_weight_matching(g, maxcardinality=False))


def nested_pairs(weights: np.ndarray, candidates: np.ndarray) -> list[tuple[int, int]]:
    """The pseudoknot-free set of candidate cells with the largest total weight (weights > 0 count).

    ``best[i, d]`` is the best total inside ``[i, i + d]``: either ``i`` pairs with ``i + d`` around the
    best of ``[i + 1, i + d - 1]``, or the span splits after some ``i + m`` (``m = 0`` and ``m = d - 1``
    leave ``i`` or ``i + d`` unpaired). One numpy step per span length.
    """
    n = weights.shape[0]
    if n < 2 or not candidates.any():
        return []
    w = np.where(candidates, weights, 0.0)
    best = np.zeros((n, n))  # best[i, d] for the span [i, i + d]
    split = np.zeros((n, n), dtype=np.int64)  # -1: i pairs with i + d; else the split offset m
    for d in range(1, n):
        starts = np.arange(n - d)
        offsets = np.arange(d)
        totals = best[starts[:, None], offsets[None, :]] + best[starts[:, None] + offsets[None, :] + 1, d - 1 - offsets]
        arg = totals.argmax(axis=1)
        score = totals[starts, arg]
        inner = best[starts + 1, d - 2] if d >= 2 else np.zeros(n - d)
        ends = starts + d
        pair_score = np.where(w[starts, ends] > 0, inner + w[starts, ends], -np.inf)  # w is 0 off the candidates
        take = pair_score > score
        best[starts, d] = np.where(take, pair_score, score)
        split[starts, d] = np.where(take, -1, arg)
    out: list[tuple[int, int]] = []
    stack = [(0, n - 1)]
    while stack:
        i, j = stack.pop()
        d = j - i
        if d < 1:
            continue
        m = int(split[i, d])
        if m < 0:
            out.append((i, j))
            stack.append((i + 1, j - 1))
        else:
            stack += [(i, i + m), (i + m + 1, j)]
    return sorted(out)


def postprocess(
    probs: np.ndarray,
    sequence: Optional[str] = None,
    threshold: float = 0.5,
    min_loop: int = 3,
    canonical_only: bool = False,
    one_partner: Optional[str] = "greedy",
) -> list[tuple[int, int]]:
    """0-based pairs ``(i, j)``, ``i < j``, from a probability matrix (rules in the module docstring)."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != p.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {p.shape}")
    if one_partner is not None and one_partner not in ONE_PARTNER_METHODS:
        raise ValueError(f"one_partner must be one of {ONE_PARTNER_METHODS} or None, got {one_partner!r}")
    p = (p + p.T) / 2
    cand = candidate_mask(p.shape[0], sequence, min_loop, canonical_only) & (p > threshold)
    if one_partner == "greedy":
        return greedy_pairs(p, cand)
    if one_partner == "matching":
        return matching_pairs(p, cand)
    if one_partner == "nested":
        return nested_pairs(p - threshold, cand)
    ii, jj = np.nonzero(cand)
    return list(zip(ii.tolist(), jj.tolist()))


__all__ = ["postprocess", "candidate_mask", "greedy_pairs", "matching_pairs", "nested_pairs", "ONE_PARTNER_METHODS"]
