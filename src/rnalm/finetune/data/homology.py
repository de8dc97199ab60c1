"""Groups of training sequences that share an exact k-mer, for hold-outs that do not reward memorising.

Many published RNA datasets hold families of near-copies: IRES libraries test dozens of mutants of
one element, and a random 10 % hold-out of LAMAR's IRES file shares a 40-mer with the training
rows for 40 % of its sequences. A model then scores by recognising relatives, not by generalising,
and a one-hot CNN looks as good as anything. ``data.homology_kmer: K`` joins every two sequences
that share a K-mer (single linkage, so groups are the connected components) and the splitter keeps
each group whole (:mod:`rnalm.runs.splits`).

Sequences are compared after upper-casing and U -> T; k-mers that contain a letter other than
A/C/G/T (N, IUPAC codes) are skipped, so an ambiguous stretch never joins two sequences. K-mers are
2-bit packed into one ``uint64`` each (so ``K <= 32``) and matched by sorting, not by a dict of
strings: memory is 8 bytes per position.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from rnalm.runs.config import MAX_K, MIN_K
from rnalm.runs.errors import DataError

_CODE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate("ACGT"):
    _CODE[ord(_c)] = _i
_CODE[ord("U")] = _CODE[ord("T")]


def kmer_codes(seq: str, k: int) -> np.ndarray:
    """The distinct packed k-mers of ``seq`` (upper-cased, U as T), skipping k-mers with other letters."""
    raw = np.frombuffer(seq.upper().encode("ascii", "replace"), dtype=np.uint8)
    if raw.size < k:
        return np.empty(0, dtype=np.uint64)
    vals = _CODE[raw]
    win = np.lib.stride_tricks.sliding_window_view(vals, k)
    ok = (win >= 0).all(axis=1)
    weights = np.uint64(4) ** np.arange(k - 1, -1, -1, dtype=np.uint64)
    codes = (win[ok].astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
    return np.unique(codes)


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = np.arange(n)

    def find(self, x: int) -> int:
        p = self.parent
        root = x
        while p[root] != root:
            root = p[root]
        while p[x] != root:  # path compression
            p[x], x = root, p[x]
        return int(root)

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _check_k(k: object, option: str) -> None:
    if not (isinstance(k, int) and MIN_K <= k <= MAX_K):
        raise DataError(f"{option}={k!r} must be an integer in [{MIN_K}, {MAX_K}]")


def shared_kmer_groups(seqs: Sequence[str], k: int, groups: Optional[Sequence] = None) -> list[str]:
    """One group name per sequence: rows sharing any ``k``-mer, directly or through others, share it.

    ``groups`` (e.g. a ``group_column``) are merged in: rows already in one group stay together.
    Group names are ``"h<first row>"`` (the lowest row index of the component), so they are
    stable for a given file whatever the split seed.
    """
    _check_k(k, "data.homology_kmer")
    n = len(seqs)
    uf = _UnionFind(n)
    per_seq = [kmer_codes(s, k) for s in seqs]
    if n:
        codes = np.concatenate(per_seq)
        owner = np.repeat(np.arange(n), [c.size for c in per_seq])
        order = np.argsort(codes, kind="stable")
        codes, owner = codes[order], owner[order]
        same = np.flatnonzero(codes[1:] == codes[:-1])  # consecutive rows holding the same k-mer
        for pos in same:
            uf.union(int(owner[pos]), int(owner[pos + 1]))
    if groups is not None:
        first: dict = {}
        for i, g in enumerate(groups):
            if g is not None:
                if g in first:
                    uf.union(first[g], i)
                else:
                    first[g] = i
    return [f"h{uf.find(i)}" for i in range(n)]


def shares_kmer(seqs: Sequence[str], others: Sequence[str], k: int) -> np.ndarray:
    """A boolean per sequence of ``seqs``: does it hold any ``k``-mer that one of ``others`` holds?

    Used to keep relatives of held-out rows out of extra training data (``data.extra_train``)."""
    _check_k(k, "data.extra_train_kmer")
    theirs = [kmer_codes(s, k) for s in others]
    pool = np.unique(np.concatenate(theirs)) if theirs else np.empty(0, dtype=np.uint64)
    return np.array([bool(np.isin(kmer_codes(s, k), pool, assume_unique=True).any()) for s in seqs], dtype=bool)


def group_summary(groups: Sequence[str]) -> str:
    """``"1,188 groups (largest 69, 1,072 singletons)"`` for a run's notes."""
    sizes: dict = {}
    for g in groups:
        sizes[g] = sizes.get(g, 0) + 1
    counts = sorted(sizes.values(), reverse=True)
    return (
        f"{len(counts):,} groups (largest {counts[0] if counts else 0:,}, "
        f"{sum(1 for c in counts if c == 1):,} singletons)"
    )


__all__ = ["group_summary", "kmer_codes", "shared_kmer_groups"]
