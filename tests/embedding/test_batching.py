"""Token-budget batching over length-sorted look-ahead windows."""

from __future__ import annotations

import numpy as np
import pytest

from rnalm.embedding.batching import Item, RecordMeta, batch_tensor, plan_batches
from rnalm.errors import RnalmError
from rnalm.models.rnafm.alphabet import RNA_FM_ALPHABET


def stream(lengths):
    for i, n in enumerate(lengths):
        yield RecordMeta(f"r{i}", i, n, n), [Item(i, 0, np.full(n, 4 + i % 4, dtype=np.int32))]


LENGTHS = [int(x) for x in np.random.default_rng(0).integers(1, 300, size=500)]


def test_every_item_once_within_budget_and_sorted_per_window():
    batches = list(plan_batches(stream(LENGTHS), tokens_per_batch=1024, lookahead=100, specials=2))
    seen = [it.record for b in batches for it in b.items]
    assert sorted(seen) == list(range(500))
    for b in batches:
        width = max(len(it.ids) for it in b.items) + 2
        assert len(b.items) * width <= 1024 or len(b.items) == 1
        assert set(b.records) == b.record_indices
        lens = [len(it.ids) for it in b.items]
        assert lens == sorted(lens, reverse=True)
    # look-ahead windows never mix: every batch holds records of one window of 100
    assert all(len({it.record // 100 for it in b.items}) == 1 for b in batches)
    # padding stays small thanks to sorting
    padded = sum(len(b.items) * (max(len(i.ids) for i in b.items) + 2) for b in batches)
    real = sum(n + 2 for n in LENGTHS)
    assert padded / real < 1.1


def test_plan_is_deterministic_and_budget_respects_attention_limit():
    a = [[it.record for it in b.items] for b in plan_batches(stream(LENGTHS), 2048, 64, 2)]
    b = [[it.record for it in b.items] for b in plan_batches(stream(LENGTHS), 2048, 64, 2)]
    assert a == b
    limited = list(plan_batches(stream(LENGTHS), 10**9, 64, 2, attention_cost=4, attention_budget=4 * 300 * 300 * 3))
    assert all(
        len(b.items) * (max(len(i.ids) for i in b.items) + 2) ** 2 * 4 <= 4 * 300 * 300 * 3 or len(b.items) == 1
        for b in limited
    )
    with pytest.raises(RnalmError, match="must be positive"):
        list(plan_batches(stream(LENGTHS), 0, 64, 2))


def test_batch_tensor_layout():
    a = RNA_FM_ALPHABET
    items = [Item(0, 0, np.array(a.encode("ACG"), dtype=np.int32)), Item(1, 0, np.array(a.encode("U"), dtype=np.int32))]
    t = batch_tensor(items, a)
    assert t.tolist() == [
        [a.cls_idx, *a.encode("ACG"), a.eos_idx],
        [a.cls_idx, *a.encode("U"), a.eos_idx, a.padding_idx, a.padding_idx],
    ]
