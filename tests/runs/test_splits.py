from __future__ import annotations

import numpy as np
import pytest

from rnalm.runs.errors import DataError
from rnalm.runs.splits import holdout, kfold


def test_kfold_partitions_and_is_seeded():
    folds = kfold(23, 5, seed=7)
    held = np.concatenate([te for _, te in folds])
    assert sorted(held.tolist()) == list(range(23))
    for tr, te in folds:
        assert not set(tr) & set(te) and len(tr) + len(te) == 23
        assert len(te) in (4, 5)
    assert all((a[1] == b[1]).all() for a, b in zip(folds, kfold(23, 5, seed=7)))
    assert any((a[1] != b[1]).any() if len(a[1]) == len(b[1]) else True for a, b in zip(folds, kfold(23, 5, seed=8)))


def test_stratified_folds_keep_class_proportions():
    labels = ["a"] * 30 + ["b"] * 10
    for _, te in kfold(40, 5, seed=0, strata=labels):
        counts = {c: sum(labels[i] == c for i in te) for c in "ab"}
        assert counts == {"a": 6, "b": 2}


def test_groups_never_straddle_folds_or_holdout():
    groups = [f"g{i // 3}" for i in range(30)] + [None] * 5  # ten triplets + five singletons
    for tr, te in kfold(35, 4, seed=1, groups=groups):
        g_tr = {groups[i] for i in tr if groups[i] is not None}
        g_te = {groups[i] for i in te if groups[i] is not None}
        assert not g_tr & g_te
    tr, va = holdout(35, 0.2, seed=1, groups=groups)
    assert not {groups[i] for i in tr if groups[i]} & {groups[i] for i in va if groups[i]}
    assert 5 <= len(va) <= 10


def test_holdout_stratified_and_errors():
    labels = [0] * 18 + [1] * 2
    tr, va = holdout(20, 0.1, seed=0, strata=labels)
    assert sorted(labels[i] for i in va) == [0, 0, 1]
    with pytest.raises(DataError, match="folds"):
        kfold(3, 5, seed=0)
    with pytest.raises(DataError, match="groups cannot fill"):
        kfold(6, 3, seed=0, groups=["a"] * 3 + ["b"] * 3)
