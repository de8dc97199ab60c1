"""Seeded k-fold and hold-out splits, stratified by class and/or kept whole by group.

Written here rather than taken from scikit-learn so that the folds of a given seed are the same
on every scikit-learn version (a recipe's figures must be reproducible). Stratification deals each
class's shuffled members round-robin over the folds; grouping shuffles the groups and assigns
each, largest first, to the currently smallest fold, so groups never straddle folds. With both,
a group counts as its majority class and is balanced within that class (homology groups of a
classification set are nearly always of one class), so folds keep the class proportions too.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from rnalm.runs.errors import DataError


def _group_members(groups: Sequence) -> list[list[int]]:
    """Row indices of each group, in order of first appearance; a row with group None is alone."""
    uniq: dict = {}
    for i, g in enumerate(groups):
        uniq.setdefault(("\0row", i) if g is None else ("g", g), []).append(i)
    return list(uniq.values())


def _majority(members: list[list[int]], strata: Sequence) -> list[str]:
    """Each group's most common stratum (ties: the first in sorted order)."""
    out = []
    for m in members:
        counts: dict = {}
        for i in m:
            counts[str(strata[i])] = counts.get(str(strata[i]), 0) + 1
        top = max(counts.values())
        out.append(min(c for c, v in counts.items() if v == top))
    return out


def _fold_of(
    n: int, k: int, seed: int, strata: Optional[Sequence] = None, groups: Optional[Sequence] = None
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    fold = np.empty(n, dtype=np.int64)
    if groups is not None and any(g is not None for g in groups):
        members = _group_members(groups)
        if len(members) < k:
            raise DataError(f"{len(members)} groups cannot fill {k} folds")
        label = _majority(members, strata) if strata is not None else [""] * len(members)
        perm = rng.permutation(len(members))
        # Largest first (stable on the shuffled order) into the fold with the fewest rows of the
        # group's class (then the fewest rows overall).
        order = sorted(perm, key=lambda j: -len(members[j]))
        sizes = np.zeros(k, dtype=np.int64)
        per_class: dict = {}
        for j in order:
            cls = per_class.setdefault(label[j], np.zeros(k, dtype=np.int64))
            f = int(np.lexsort((sizes, cls))[0])
            fold[members[j]] = f
            sizes[f] += len(members[j])
            cls[f] += len(members[j])
        return fold
    if strata is not None:
        strata = list(strata)
        offset = 0
        for c in sorted(set(strata), key=str):
            idx = np.flatnonzero(np.asarray([s == c for s in strata]))
            idx = idx[rng.permutation(idx.size)]
            fold[idx] = (np.arange(idx.size) + offset) % k
            offset = (offset + idx.size) % k  # keep fold sizes balanced across classes
        return fold
    perm = rng.permutation(n)
    fold[perm] = np.arange(n) % k
    return fold


def kfold(
    n: int, k: int, seed: int, strata: Optional[Sequence] = None, groups: Optional[Sequence] = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` pairs of (train indices, held-out indices), sorted, covering ``range(n)`` once."""
    if k < 2:
        raise DataError(f"k-fold needs at least 2 folds, got {k}")
    if n < k:
        raise DataError(f"{n} rows cannot be split into {k} folds")
    fold = _fold_of(n, k, seed, strata, groups)
    out = []
    for f in range(k):
        test = np.flatnonzero(fold == f)
        train = np.flatnonzero(fold != f)
        if test.size == 0:
            raise DataError(f"fold {f} of {k} is empty; use fewer folds")
        out.append((train, test))
    return out


def holdout(
    n: int, fraction: float, seed: int, strata: Optional[Sequence] = None, groups: Optional[Sequence] = None
) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, held-out indices) with about ``fraction`` of the rows (or groups) held out."""
    if not 0 < fraction < 1:
        raise DataError(f"hold-out fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    held = np.zeros(n, dtype=bool)
    if groups is not None and any(g is not None for g in groups):
        members = _group_members(groups)
        label = _majority(members, strata) if strata is not None else [""] * len(members)
        # Within each class (all rows when unstratified), shuffled groups until the class's share is held.
        order = rng.permutation(len(members))
        for c in sorted(set(label)):
            mine = [j for j in order if label[j] == c]
            target = fraction * sum(len(members[j]) for j in mine)
            taken = 0
            for j in mine:
                if taken >= target:
                    break
                held[members[j]] = True
                taken += len(members[j])
    elif strata is not None:
        strata = list(strata)
        for c in sorted(set(strata), key=str):
            idx = np.flatnonzero(np.asarray([s == c for s in strata]))
            m = int(round(fraction * idx.size))
            if idx.size >= 2:
                m = min(max(m, 1), idx.size - 1)
            else:
                m = 0
            held[idx[rng.permutation(idx.size)[:m]]] = True
    else:
        m = max(1, int(round(fraction * n)))
        held[rng.permutation(n)[:m]] = True
    if held.all() or not held.any():
        raise DataError(f"cannot hold out {fraction:.0%} of {n} rows for validation; give a data.valid file")
    return np.flatnonzero(~held), np.flatnonzero(held)


__all__ = ["holdout", "kfold"]
