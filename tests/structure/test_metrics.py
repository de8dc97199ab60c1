"""Metrics on hand-worked examples (numbers computed by hand in the comments)."""

from __future__ import annotations

import math

import pytest

from rnalm.structure.metrics import evaluate, score_pairs


def test_exact_and_shifted_hand_example():
    # true: 3-pair stem; prediction gets two right and one shifted by one on the 5' side
    true = [(0, 9), (1, 8), (2, 7)]
    pred = [(0, 9), (1, 8), (3, 7)]
    s = score_pairs(pred, true, length=10)
    # TP 2, FP 1, FN 1 -> P = R = F1 = 2/3
    assert (s.tp, s.fp, s.fn) == (2, 1, 1)
    assert s.precision == pytest.approx(2 / 3) and s.recall == pytest.approx(2 / 3) and s.f1 == pytest.approx(2 / 3)
    # 45 cells i<j, TN = 41: MCC = (2*41 - 1*1) / sqrt(3*3*42*42) = 81/126
    assert s.mcc == pytest.approx(81 / 126)
    # (3,7) is (2,7) shifted by one -> every prediction correct, every true pair found
    assert (s.precision_shifted, s.recall_shifted, s.f1_shifted) == (1.0, 1.0, 1.0)


def test_shift_is_one_side_only_and_precision_recall_differ():
    # two predictions, each one position off a single true pair, on different sides
    s = score_pairs([(1, 10), (0, 11)], [(0, 10)], length=12)
    assert (s.precision, s.recall, s.f1) == (0.0, 0.0, 0.0)
    # 66 cells, TP 0, FP 2, FN 1, TN 63: MCC = -2 / sqrt(2*1*65*64)
    assert s.mcc == pytest.approx(-2 / math.sqrt(2 * 1 * 65 * 64))
    assert (s.precision_shifted, s.recall_shifted, s.f1_shifted) == (1.0, 1.0, 1.0)
    # shifting both ends (a diagonal neighbour) does not count
    d = score_pairs([(1, 11)], [(0, 10)], length=12)
    assert (d.precision_shifted, d.recall_shifted, d.f1_shifted) == (0.0, 0.0, 0.0)
    # shifted precision and recall are counted separately: 1 of 2 predictions is near the one true pair
    h = score_pairs([(0, 9), (3, 6)], [(1, 9)], length=10)
    assert (h.precision_shifted, h.recall_shifted) == (0.5, 1.0)
    assert h.f1_shifted == pytest.approx(2 * 0.5 * 1.0 / 1.5)


def test_order_and_orientation_do_not_matter():
    assert score_pairs([(9, 0)], [(0, 9)], length=10).f1 == 1.0


def test_empty_conventions():
    both = score_pairs([], [], length=8)
    assert (both.precision, both.recall, both.f1, both.mcc, both.f1_shifted) == (1.0, 1.0, 1.0, 1.0, 1.0)
    eps = score_pairs([], [], length=8, both_empty=0.0)
    assert (eps.f1, eps.mcc) == (0.0, 0.0)
    miss = score_pairs([], [(0, 7)], length=8)
    assert (miss.precision, miss.recall, miss.f1, miss.mcc, miss.f1_shifted) == (0.0, 0.0, 0.0, 0.0, 0.0)
    extra = score_pairs([(0, 7)], [], length=8)
    assert (extra.precision, extra.recall, extra.f1, extra.mcc) == (0.0, 0.0, 0.0, 0.0)
    assert math.isnan(score_pairs([(0, 7)], [(0, 7)]).mcc)  # no length, no MCC


def test_average_is_over_sequences_and_pooled_is_separate():
    # seq 1: perfect (1 pair); seq 2: 3 true pairs, nothing predicted
    r = evaluate([[(0, 5)], []], [[(0, 5)], [(0, 9), (1, 8), (2, 7)]], lengths=[6, 10])
    assert r["n_sequences"] == 2
    assert r["f1_seq_mean"] == 0.5 and r["precision_seq_mean"] == 0.5 and r["recall_seq_mean"] == 0.5
    assert r["f1_shifted_seq_mean"] == 0.5
    # pooled: TP 1 of 1 predicted, of 4 true -> P 1, R 1/4, F1 0.4
    assert r["precision_pooled"] == 1.0 and r["recall_pooled"] == 0.25 and r["f1_pooled"] == pytest.approx(0.4)
    assert "f1" not in r  # no unqualified key to confuse the two averages
    with pytest.raises(ValueError, match="2 predictions for 1"):
        evaluate([[], []], [[]])


def test_too_many_pairs_for_length():
    with pytest.raises(ValueError, match="cannot fit"):
        score_pairs([(0, 1), (0, 2), (1, 2), (2, 3)], [], length=3)
