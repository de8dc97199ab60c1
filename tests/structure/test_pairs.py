"""Structure validation, dot-bracket conversion and pseudoknot page assignment."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from rnalm.errors import RnalmError
from rnalm.structure.pairs import (
    Structure,
    StructureError,
    assign_pages,
    canonical_mask,
    dot_bracket_to_pairs,
    is_nested,
    matrix_to_pairs,
    max_nested_subset,
    pairs_to_dot_bracket,
)


def test_structure_canonicalises_and_validates():
    s = Structure("x", "GGGAAACCC", ((8, 0), (1, 7), (2, 6), (1, 7)))
    assert s.pairs == ((0, 8), (1, 7), (2, 6))
    assert s.partners.tolist() == [8, 7, 6, -1, -1, -1, 2, 1, 0]
    assert matrix_to_pairs(s.matrix()) == list(s.pairs)
    with pytest.raises(StructureError, match="position 3 .* two pairs"):
        Structure("x", "GGGAAACCC", ((0, 8), (2, 7), (2, 6)))
    with pytest.raises(StructureError, match="paired with itself"):
        Structure("x", "GGG", ((1, 1),))
    with pytest.raises(StructureError, match="outside"):
        Structure("x", "GGG", ((0, 3),))
    assert issubclass(StructureError, RnalmError)


def test_dot_bracket_with_all_bracket_kinds():
    db = "((.[[.{.<.)).]].}.>.Aa"
    pairs = dot_bracket_to_pairs(db)
    assert pairs == [(0, 11), (1, 10), (3, 14), (4, 13), (6, 16), (8, 18), (20, 21)]
    assert pairs_to_dot_bracket(pairs, len(db)).count(".") == db.count(".")


@pytest.mark.parametrize("db,msg", [("(()", "never closed"), ("())", "no matching"), ("(.?)", "invalid")])
def test_dot_bracket_errors(db, msg):
    with pytest.raises(StructureError, match=msg):
        dot_bracket_to_pairs(db, "rec")


def test_nested_part_is_the_largest_not_the_first():
    # a 2-pair stem opening first crosses a 4-pair stem: the 4-pair stem must be the '()' part
    short = [(0, 12), (1, 11)]
    long = [(5, 20), (6, 19), (7, 18), (8, 17)]
    db = pairs_to_dot_bracket(short + long, 22)
    assert db == "[[...((((..]]....))))."
    assert dot_bracket_to_pairs(db) == sorted(short + long)


def test_three_pages():
    # three mutually crossing pairs need three bracket types
    pairs = [(0, 6), (2, 8), (4, 10)]
    pages = assign_pages(pairs)
    assert len(pages) == 3 and all(len(p) == 1 for p in pages)
    db = pairs_to_dot_bracket(pairs, 11)
    assert sorted(db.replace(".", "")) == sorted("([{)]}")
    assert dot_bracket_to_pairs(db) == pairs


def _brute_max_nested(pairs):
    for k in range(len(pairs), -1, -1):
        for sub in itertools.combinations(pairs, k):
            if is_nested(sub):
                return k
    return 0


def test_max_nested_subset_matches_brute_force():
    rng = random.Random(0)
    for _ in range(150):
        n = rng.randint(2, 16)
        pos = rng.sample(range(30), 2 * (n // 2))
        rng.shuffle(pos)
        pairs = sorted(tuple(sorted(pos[k : k + 2])) for k in range(0, len(pos), 2))
        best = max_nested_subset(pairs)
        assert is_nested(best) and set(best) <= set(pairs)
        assert len(best) == _brute_max_nested(pairs), pairs
        # every page is nested and the pages partition the pairs
        pages = assign_pages(pairs)
        assert sorted(p for page in pages for p in page) == pairs and all(is_nested(p) for p in pages)


def test_is_nested():
    assert is_nested([(0, 9), (1, 8), (10, 15)])
    assert not is_nested([(0, 5), (3, 8)])


def test_canonical_mask():
    m = canonical_mask("GCAUtg")
    assert m[0, 1] and m[1, 0] and m[2, 3] and m[0, 4] and m[4, 5]  # GC, AU, GU (t read as U), UG
    assert not m[2, 0] and not m[5, 5]
    assert m.dtype == np.bool_
