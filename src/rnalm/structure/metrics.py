"""Base-pair metrics: per sequence, then averaged **over sequences**.

Per sequence, with ``T`` the true pairs and ``P`` the predicted pairs (unordered, ``i < j``):

* exact: ``TP = |P & T|``, ``precision = TP / |P|``, ``recall = TP / |T|``,
  ``F1 = 2 TP / (|P| + |T|)``.
* MCC over all ``L (L - 1) / 2`` position pairs ``i < j`` (``TN`` = pairs neither predicted nor
  true). Papers that write "MCC ~ sqrt(precision * recall)" use an approximation of this; we do not.
* shifted (Mathews et al. 2004, RNAstructure's ``scorer``, the variant bpRNA, SPOT-RNA and e2efold
  report): a predicted pair ``(i, j)`` is correct when ``(i, j)``, ``(i +- 1, j)`` or
  ``(i, j +- 1)`` is a true pair; a true pair is found when one of those five is predicted.
  ``precision_shifted = |{p in P correct}| / |P|``, ``recall_shifted = |{t in T found}| / |T|``,
  ``F1_shifted`` their harmonic mean. (e2efold's code dilates only the predicted matrix and counts
  false positives exactly, which is not the published rule; we follow the published rule.)
  Shifted numbers are always returned under their own ``*_shifted`` keys, never folded into F1.

Empty structures, stated once here and used everywhere:

* both ``T`` and ``P`` empty: precision = recall = F1 = MCC = 1 (and the shifted ones), because
  "no pairs" was predicted correctly. Pass ``both_empty=0.0`` for the convention of code that adds
  an epsilon to every denominator (e2efold, UFold), which scores such sequences 0.
* otherwise any 0/0 is 0: nothing predicted -> precision 0; no true pairs -> recall 0; and F1 and
  MCC are 0 whenever TP is 0.

Averages (``*_seq_mean`` keys) are unweighted means of the per-sequence values, the way the
published RNA-FM / SPOT-RNA / UFold tables average; pooled counts over all pairs are a different
number and are reported only under ``*_pooled`` keys.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Iterable, Optional, Sequence

PairSet = Iterable[Sequence[int]]

_SHIFTS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))


def _as_set(pairs: PairSet) -> set[tuple[int, int]]:
    out = set()
    for p in pairs:
        i, j = int(p[0]), int(p[1])
        out.add((i, j) if i < j else (j, i))
    return out


@dataclass(frozen=True)
class PairScores:
    """Scores of one sequence (see the module docstring for definitions and conventions)."""

    precision: float
    recall: float
    f1: float
    mcc: float
    precision_shifted: float
    recall_shifted: float
    f1_shifted: float
    tp: int
    fp: int
    fn: int
    n_true: int
    n_pred: int
    length: Optional[int]

    def as_dict(self) -> dict:
        return asdict(self)


def _div(a: float, b: float) -> float:
    return a / b if b else 0.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _shifted_hits(a: set[tuple[int, int]], b: set[tuple[int, int]]) -> int:
    """How many pairs of ``a`` have a pair of ``b`` within one position on one side."""
    return sum(any((i + di, j + dj) in b for di, dj in _SHIFTS) for i, j in a)


def mcc_from_counts(tp: int, fp: int, fn: int, tn: int) -> float:
    den = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
    return (tp * tn - fp * fn) / math.sqrt(den) if den else 0.0


def score_pairs(pred: PairSet, true: PairSet, length: Optional[int] = None, both_empty: float = 1.0) -> PairScores:
    """Exact and shifted scores of one predicted structure against the true one.

    ``length`` (the sequence length) is needed for MCC (it fixes the number of true negatives);
    without it MCC is returned as NaN. Index base does not matter as long as both sets share it.
    """
    P, T = _as_set(pred), _as_set(true)
    tp = len(P & T)
    fp, fn = len(P) - tp, len(T) - tp
    if length is not None:
        total = length * (length - 1) // 2
        if len(P | T) > total:
            raise ValueError(f"{len(P | T)} distinct pairs cannot fit in a sequence of length {length}")
        mcc = mcc_from_counts(tp, fp, fn, total - tp - fp - fn)
    else:
        mcc = math.nan
    if not P and not T:
        v = float(both_empty)
        return PairScores(v, v, v, v if length is not None else math.nan, v, v, v, 0, 0, 0, 0, 0, length)
    precision, recall = _div(tp, len(P)), _div(tp, len(T))
    ps, rs = _div(_shifted_hits(P, T), len(P)), _div(_shifted_hits(T, P), len(T))
    return PairScores(
        precision, recall, _f1(precision, recall), mcc, ps, rs, _f1(ps, rs), tp, fp, fn, len(T), len(P), length
    )


METRIC_KEYS = ("precision", "recall", "f1", "mcc", "precision_shifted", "recall_shifted", "f1_shifted")


def average_scores(scores: Sequence[PairScores]) -> dict:
    """Means over sequences (``<metric>_seq_mean``) plus pooled exact counts (``*_pooled``).

    MCC is averaged over the sequences whose length was known; ``n_sequences`` counts all.
    """
    n = len(scores)
    out: dict = {"n_sequences": n}
    for k in METRIC_KEYS:
        vals = [getattr(s, k) for s in scores if not math.isnan(getattr(s, k))]
        out[f"{k}_seq_mean"] = sum(vals) / len(vals) if vals else math.nan
    tp = sum(s.tp for s in scores)
    n_pred = sum(s.n_pred for s in scores)
    n_true = sum(s.n_true for s in scores)
    p, r = _div(tp, n_pred), _div(tp, n_true)
    out.update(
        precision_pooled=p,
        recall_pooled=r,
        f1_pooled=_f1(p, r),
        tp_pooled=tp,
        n_pred_pooled=n_pred,
        n_true_pooled=n_true,
    )
    return out


def evaluate(
    preds: Iterable[PairSet], trues: Iterable[PairSet], lengths: Optional[Iterable[int]] = None, both_empty: float = 1.0
) -> dict:
    """Score aligned lists of predicted and true structures; see :func:`average_scores`."""
    preds, trues = list(preds), list(trues)
    if len(preds) != len(trues):
        raise ValueError(f"{len(preds)} predictions for {len(trues)} true structures")
    lens = list(lengths) if lengths is not None else [None] * len(trues)
    if len(lens) != len(trues):
        raise ValueError(f"{len(lens)} lengths for {len(trues)} structures")
    return average_scores([score_pairs(p, t, n, both_empty) for p, t, n in zip(preds, trues, lens)])


__all__ = ["PairScores", "score_pairs", "average_scores", "evaluate", "mcc_from_counts", "METRIC_KEYS"]
