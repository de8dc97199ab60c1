"""The one in-memory form of a secondary structure, and its conversions.

A :class:`Structure` stores base pairs as **0-based** ``(i, j)`` tuples with ``i < j``, sorted,
each position in at most one pair. Every file format (ct, bpseq, dot-bracket, the JSON-lines and
CSV dataset layouts, which are all 1-based) is converted to and from this form at the reader /
writer boundary, so nothing else in rnalm has to think about index bases.

Dot-bracket output splits the pairs into *pages* (sets of mutually non-crossing pairs): page 0 is
written with ``()``, the pseudoknotted remainder with ``[]``, then ``{}``, ``<>``, then the
letter pairs ``Aa``, ``Bb``, ... Page 0 is a **maximum** non-crossing subset of the pairs (the
largest nested structure contained in the pairs, found by dynamic programming); page 1 is a
maximum non-crossing subset of what is left, and so on. This "repeated maximum page" rule is
greedy across pages (it does not minimise the number of bracket types), but within a page it is
exact, so the ``()`` part of a pseudoknotted structure is always its largest nested part rather
than whichever stem happens to start first. Ties are broken toward pairs that open further 5'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from rnalm.errors import RnalmError

#: Bracket pairs in page order: page 0 uses the first pair, page 1 the second, ...
BRACKETS: tuple[tuple[str, str], ...] = (("(", ")"), ("[", "]"), ("{", "}"), ("<", ">")) + tuple(
    (chr(c), chr(c).lower()) for c in range(ord("A"), ord("Z") + 1)
)
_OPEN = {o: k for k, (o, _) in enumerate(BRACKETS)}
_CLOSE = {c: k for k, (_, c) in enumerate(BRACKETS)}
#: Characters read as "unpaired" in dot-bracket strings ('.' is what rnalm writes).
UNPAIRED_CHARS = frozenset(".,:_-~")


class StructureError(RnalmError, ValueError):
    """A structure is inconsistent (a base in two pairs, a pair out of range, unbalanced brackets)."""


@dataclass(frozen=True)
class Structure:
    """A sequence with its base pairs.

    Attributes:
        id: record identifier.
        sequence: the nucleotide string as read (no normalisation; see :func:`normalize_rna`).
        pairs: 0-based ``(i, j)`` with ``i < j``, sorted by ``i``; each position in at most one pair.

    The constructor validates and canonicalises ``pairs`` (swapping reversed pairs, sorting), and
    raises :class:`StructureError` for self-pairs, out-of-range positions and bases in two pairs.
    """

    id: str
    sequence: str
    pairs: tuple[tuple[int, int], ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "pairs", canonical_pairs(self.pairs, len(self.sequence), self.id))

    def __len__(self) -> int:
        return len(self.sequence)

    @property
    def partners(self) -> np.ndarray:
        """``partners[i]`` = 0-based partner of ``i`` or -1 when unpaired."""
        return pairs_to_partners(self.pairs, len(self.sequence))

    def dot_bracket(self) -> str:
        return pairs_to_dot_bracket(self.pairs, len(self.sequence))

    def matrix(self, dtype=np.float32) -> np.ndarray:
        return pairs_to_matrix(self.pairs, len(self.sequence), dtype)

    @classmethod
    def from_dot_bracket(cls, id: str, sequence: str, db: str) -> "Structure":
        if len(db) != len(sequence):
            raise StructureError(
                f"record {id!r}: structure has {len(db)} characters but the sequence has {len(sequence)}"
            )
        return cls(id, sequence, tuple(dot_bracket_to_pairs(db, id)))


def canonical_pairs(
    pairs: Iterable[Sequence[int]], length: int, record_id: str = "<unnamed>"
) -> tuple[tuple[int, int], ...]:
    """Validate 0-based pairs and return them as sorted ``(i, j)`` tuples with ``i < j``."""
    out: list[tuple[int, int]] = []
    seen: dict[int, tuple[int, int]] = {}
    for p in pairs:
        if len(p) != 2:
            raise StructureError(f"record {record_id!r}: pair {tuple(p)} does not have two positions")
        i, j = int(p[0]), int(p[1])
        if i > j:
            i, j = j, i
        if i == j:
            raise StructureError(f"record {record_id!r}: position {i + 1} (1-based) is paired with itself")
        if i < 0 or j >= length:
            raise StructureError(
                f"record {record_id!r}: pair ({i + 1}, {j + 1}) (1-based) is outside the sequence of length {length}"
            )
        if seen.get(i) == (i, j):
            continue  # the same pair listed twice (e.g. both (i, j) and (j, i)) is harmless
        for k in (i, j):
            if k in seen:
                raise StructureError(
                    f"record {record_id!r}: position {k + 1} (1-based) is in two pairs, "
                    f"{tuple(x + 1 for x in seen[k])} and {(i + 1, j + 1)}"
                )
        seen[i] = seen[j] = (i, j)
        out.append((i, j))
    return tuple(sorted(out))


def pairs_to_partners(pairs: Iterable[tuple[int, int]], length: int) -> np.ndarray:
    partners = np.full(length, -1, dtype=np.int64)
    for i, j in pairs:
        partners[i] = j
        partners[j] = i
    return partners


def pairs_to_matrix(pairs: Iterable[tuple[int, int]], length: int, dtype=np.float32) -> np.ndarray:
    """Symmetric ``(L, L)`` 0/1 contact matrix."""
    m = np.zeros((length, length), dtype=dtype)
    for i, j in pairs:
        m[i, j] = m[j, i] = 1
    return m


def matrix_to_pairs(matrix: np.ndarray) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, where the upper triangle of a 0/1 matrix is non-zero."""
    ii, jj = np.nonzero(np.triu(np.asarray(matrix), k=1))
    return list(zip(ii.tolist(), jj.tolist()))


def is_nested(pairs: Sequence[tuple[int, int]]) -> bool:
    """True when no two pairs cross (``i < k < j < l``)."""
    return _crossing_free(pairs)


def _crossing_free(pairs: Sequence[tuple[int, int]]) -> bool:
    # pairs sorted by i; a pair crosses a previous one iff a still-open pair closes inside it
    stack: list[int] = []  # closing positions of open pairs
    for i, j in sorted(pairs):
        while stack and stack[-1] < i:
            stack.pop()
        if stack and stack[-1] < j:
            return False
        stack.append(j)
    return True


def max_nested_subset(pairs: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """A largest subset of ``pairs`` in which no two pairs cross.

    Interval dynamic programming over the paired positions only (``n = 2 * len(pairs)``), one
    numpy row per left end, so O(n^2) work and memory. Ties prefer pairs opening further 5'.
    """
    pairs = sorted(pairs)
    if _crossing_free(pairs):
        return list(pairs)
    pos = sorted({x for p in pairs for x in p})
    index = {x: k for k, x in enumerate(pos)}
    n = len(pos)
    partner = np.full(n, -1, dtype=np.int64)
    for i, j in pairs:
        partner[index[i]] = index[j]
        partner[index[j]] = index[i]
    # best[a, b] = size of the largest nested subset inside positions a..b (inclusive); the
    # padding row/column n and the "b = a - 1" cells are empty intervals (0).
    best = np.zeros((n + 2, n + 1), dtype=np.int32)
    for a in range(n - 1, -1, -1):
        row = best[a + 1, :n].copy()  # option 1: a unpaired (or its pair not used)
        c = partner[a]
        if c > a:
            # option 2: use (a, c); valid for every b >= c
            inner = best[a + 1, c - 1] if c - 1 >= a + 1 else 0
            take = 1 + inner + np.concatenate(([0], best[c + 1, c + 1 : n]))  # best[c+1, b] for b >= c
            seg = row[c:n]
            np.maximum(seg, take[: n - c], out=seg)
            row[c:n] = seg
        best[a, :n] = row
    chosen: list[tuple[int, int]] = []
    todo = [(0, n - 1)]
    while todo:
        a, b = todo.pop()
        while a <= b:
            c = partner[a]
            cur = best[a, b]
            if c > a and c <= b:
                inner = best[a + 1, c - 1] if c - 1 >= a + 1 else 0
                rest = best[c + 1, b] if c + 1 <= b else 0
                if cur == 1 + inner + rest:  # prefer taking the 5'-most pair on ties
                    chosen.append((pos[a], pos[c]))
                    if c - 1 >= a + 1:
                        todo.append((a + 1, c - 1))
                    a = c + 1
                    continue
            a += 1
    return sorted(chosen)


def assign_pages(pairs: Sequence[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Split pairs into pages of mutually non-crossing pairs (see the module docstring)."""
    remaining = sorted(pairs)
    pages: list[list[tuple[int, int]]] = []
    while remaining:
        page = max_nested_subset(remaining)
        pages.append(page)
        used = set(page)
        remaining = [p for p in remaining if p not in used]
    return pages


def pairs_to_dot_bracket(pairs: Sequence[tuple[int, int]], length: int) -> str:
    pages = assign_pages(pairs)
    if len(pages) > len(BRACKETS):
        raise StructureError(f"structure needs {len(pages)} bracket types; dot-bracket has {len(BRACKETS)}")
    chars = ["."] * length
    for k, page in enumerate(pages):
        o, c = BRACKETS[k]
        for i, j in page:
            chars[i], chars[j] = o, c
    return "".join(chars)


def dot_bracket_to_pairs(db: str, record_id: str = "<unnamed>") -> list[tuple[int, int]]:
    """Parse ``()[]{}<>`` and ``Aa``..``Zz`` brackets; ``.,:_-~`` are unpaired."""
    stacks: dict[int, list[int]] = {}
    pairs: list[tuple[int, int]] = []
    for pos, ch in enumerate(db):
        if ch in _OPEN:
            stacks.setdefault(_OPEN[ch], []).append(pos)
        elif ch in _CLOSE:
            st = stacks.get(_CLOSE[ch])
            if not st:
                raise StructureError(
                    f"record {record_id!r}: unbalanced {ch!r} at position {pos + 1} (no matching opening bracket)"
                )
            pairs.append((st.pop(), pos))
        elif ch not in UNPAIRED_CHARS:
            raise StructureError(f"record {record_id!r}: invalid dot-bracket character {ch!r} at position {pos + 1}")
    for k, st in stacks.items():
        if st:
            raise StructureError(
                f"record {record_id!r}: unbalanced {BRACKETS[k][0]!r} at position {st[-1] + 1} (never closed)"
            )
    return sorted(pairs)


def normalize_rna(seq: str) -> str:
    """Upper case, T -> U: the form structure code compares letters in."""
    return seq.upper().replace("T", "U")


CANONICAL_PAIRS = frozenset({("A", "U"), ("U", "A"), ("G", "C"), ("C", "G"), ("G", "U"), ("U", "G")})


def canonical_mask(sequence: str, dtype=bool) -> np.ndarray:
    """``(L, L)`` mask, True where the two letters can form an AU, GC or GU pair."""
    s = normalize_rna(sequence)
    codes = np.frombuffer(s.encode("ascii", errors="replace"), dtype=np.uint8)
    m = np.zeros((len(s), len(s)), dtype=bool)
    for a, b in CANONICAL_PAIRS:
        m |= (codes == ord(a))[:, None] & (codes == ord(b))[None, :]
    return m.astype(dtype, copy=False)


def page_of(pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Page index (0 = nested part) of every pair, as used in dot-bracket output."""
    return {p: k for k, page in enumerate(assign_pages(pairs)) for p in page}


__all__ = [
    "Structure",
    "StructureError",
    "BRACKETS",
    "UNPAIRED_CHARS",
    "canonical_pairs",
    "pairs_to_partners",
    "pairs_to_matrix",
    "matrix_to_pairs",
    "is_nested",
    "max_nested_subset",
    "assign_pages",
    "pairs_to_dot_bracket",
    "dot_bracket_to_pairs",
    "normalize_rna",
    "canonical_mask",
    "page_of",
    "CANONICAL_PAIRS",
]
