"""Each post-processing rule, and maximum-weight matching against brute force."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from rnalm.structure.postprocess import candidate_mask, greedy_pairs, matching_pairs, nested_pairs, postprocess


def _probs(n, cells):
    p = np.zeros((n, n))
    for (i, j), v in cells.items():
        p[i, j] = p[j, i] = v
    return p


def test_threshold_is_strict():
    p = _probs(12, {(0, 11): 0.9, (1, 10): 0.5, (2, 9): 0.51})
    assert postprocess(p) == [(0, 11), (2, 9)]
    assert postprocess(p, threshold=0.6) == [(0, 11)]


def test_no_sharp_hairpins():
    p = _probs(10, {(0, 3): 0.9, (1, 5): 0.9, (6, 7): 0.9})
    assert postprocess(p) == [(1, 5)]  # j - i = 3 and 1 are too close with min_loop 3
    assert postprocess(p, min_loop=0, one_partner=None) == [(0, 3), (1, 5), (6, 7)]
    assert not candidate_mask(10)[0, 3] and candidate_mask(10)[0, 4] and not candidate_mask(10)[4, 0]


def test_canonical_only():
    seq = "GAAAACAAAAUtAAAN"  # G0-C5 ok, G0-A9 no, A1-U10 ok, A1-t11 ok (T read as U), N never pairs
    p = _probs(16, {(0, 5): 0.9, (0, 9): 0.95, (1, 10): 0.8, (2, 11): 0.8, (3, 15): 0.99})
    assert postprocess(p, seq, canonical_only=False) == [(0, 9), (1, 10), (2, 11), (3, 15)]
    assert postprocess(p, seq, canonical_only=True) == [(0, 5), (1, 10), (2, 11)]
    with pytest.raises(ValueError, match="needs the sequence"):
        postprocess(p, canonical_only=True)


def test_one_partner_greedy_versus_matching():
    # path 0-5-10-15: greedy takes the strongest middle pair, matching the two outer ones (1.6 > 0.9)
    p = _probs(16, {(0, 5): 0.8, (5, 10): 0.9, (10, 15): 0.8})
    assert postprocess(p, one_partner="greedy") == [(5, 10)]
    assert postprocess(p, one_partner="matching") == [(0, 5), (10, 15)]
    assert postprocess(p, one_partner=None) == [(0, 5), (5, 10), (10, 15)]
    with pytest.raises(ValueError, match="one_partner"):
        postprocess(p, one_partner="hungarian")


def test_asymmetric_input_is_averaged():
    p = np.zeros((10, 10))
    p[0, 9], p[9, 0] = 1.0, 0.2  # mean 0.6 > 0.5
    p[1, 8], p[8, 1] = 0.7, 0.1  # mean 0.4
    assert postprocess(p) == [(0, 9)]


def _brute_best(weights):
    edges = list(weights)
    best = 0.0
    for k in range(len(edges) + 1):
        for sub in itertools.combinations(edges, k):
            used = [x for e in sub for x in e]
            if len(used) == len(set(used)):
                best = max(best, sum(weights[e] for e in sub))
    return best


def test_matching_is_maximum_weight():
    rng = random.Random(1)
    for _ in range(25):
        n = 10
        weights = {}
        for i, j in itertools.combinations(range(n), 2):
            if rng.random() < 0.25:
                weights[(i, j)] = round(rng.uniform(0.1, 1.0), 3)
        scores = _probs(n, weights)
        cand = np.zeros((n, n), dtype=bool)
        for i, j in weights:
            cand[i, j] = True
        got = matching_pairs(scores, cand)
        assert len({x for e in got for x in e}) == 2 * len(got)
        assert sum(weights[e] for e in got) == pytest.approx(_brute_best(weights))
        g = greedy_pairs(scores, cand)
        assert len({x for e in g for x in e}) == 2 * len(g)
        assert sum(weights[e] for e in g) <= sum(weights[e] for e in got) + 1e-9


def _crossing(a, b):
    (i, j), (k, m) = sorted([a, b])
    return i < k < j < m


def _brute_nested(weights):
    edges = [e for e, w in weights.items() if w > 0]
    best = 0.0
    for k in range(len(edges) + 1):
        for sub in itertools.combinations(edges, k):
            used = [x for e in sub for x in e]
            if len(used) == len(set(used)) and not any(_crossing(a, b) for a, b in itertools.combinations(sub, 2)):
                best = max(best, sum(weights[e] for e in sub))
    return best


def test_nested_is_the_best_pseudoknot_free_structure():
    rng = random.Random(2)
    for _ in range(40):
        n = rng.randint(2, 9)
        weights = {
            e: round(rng.uniform(-0.5, 1.0), 3) for e in itertools.combinations(range(n), 2) if rng.random() < 0.5
        }
        scores = np.zeros((n, n))
        cand = np.zeros((n, n), dtype=bool)
        for (i, j), w in weights.items():
            scores[i, j], cand[i, j] = w, True
        got = nested_pairs(scores, cand)
        assert len({x for e in got for x in e}) == 2 * len(got)
        assert not any(_crossing(a, b) for a, b in itertools.combinations(got, 2))
        assert all(cand[e] and scores[e] > 0 for e in got)
        assert sum(scores[e] for e in got) == pytest.approx(_brute_nested(weights))


def test_nested_drops_the_weaker_of_two_crossing_stems():
    # stems 0-9/1-8 (0.9) and 5-14/6-13 (0.7) cross; greedy keeps both, nested only the stronger
    p = _probs(16, {(0, 9): 0.9, (1, 8): 0.9, (5, 14): 0.7, (6, 13): 0.7})
    assert postprocess(p, threshold=0.5) == [(0, 9), (1, 8), (5, 14), (6, 13)]
    assert postprocess(p, threshold=0.5, one_partner="nested") == [(0, 9), (1, 8)]
    # the threshold is the price of a pair: at 0.75 the weaker stem is no candidate either way
    assert postprocess(p, threshold=0.75, one_partner="nested") == [(0, 9), (1, 8)]


def test_empty_and_shape_errors():
    assert postprocess(np.zeros((5, 5)), one_partner="nested") == []
    assert postprocess(np.zeros((5, 5))) == []
    assert postprocess(np.zeros((5, 5)), one_partner="matching") == []
    with pytest.raises(ValueError, match="square"):
        postprocess(np.zeros((4, 5)))
