import random

import pytest

from rnalm.training.batching import Budget, budget_batches, least_padding_runs, shuffled_batches, sorted_batches


def lengths(n=300, seed=0):
    r = random.Random(seed)
    return [r.randint(1, 400) for _ in range(n)]


@pytest.mark.parametrize("ties", ["permute", "draw"])
@pytest.mark.parametrize("shuffle", [True, False])
def test_budget_batches_partition_within_budget(ties, shuffle):
    lens = lengths()
    for budget, cost in [
        (Budget(tokens=2000, max_rows=16), lambda b: len(b) * max(lens[i] for i in b)),
        (Budget(cells=200_000), lambda b: len(b) * max(lens[i] for i in b) ** 2),
    ]:
        batches = budget_batches(lens, budget, shuffle=shuffle, seed=3, ties=ties)
        assert sorted(i for b in batches for i in b) == list(range(len(lens)))
        assert all(len(b) == 1 or cost(b) <= (budget.tokens or budget.cells) for b in batches)
        assert all(len(b) <= 16 for b in batches) or budget.max_rows is None
        assert batches == budget_batches(lens, budget, shuffle=shuffle, seed=3, ties=ties)
    if not shuffle:  # shortest first
        firsts = [lens[b[0]] for b in budget_batches(lens, Budget(tokens=2000))]
        assert firsts == sorted(firsts)


def test_a_sequence_over_budget_gets_its_own_batch():
    assert budget_batches([5, 50, 6], Budget(tokens=20)) == [[0, 2], [1]]


def test_least_padding_runs_cover_in_order_within_budget():
    widths = sorted(lengths(seed=1), reverse=True)
    budget = Budget(tokens=4096, cells=4 * 300 * 300 * 3, cell_bytes=4)
    runs = least_padding_runs(widths, budget, 4096 / 32)
    assert runs[0][0] == 0 and runs[-1][1] == len(widths)
    assert all(a[1] == b[0] for a, b in zip(runs, runs[1:]))
    assert all(b - a == 1 or budget.fits(b - a, widths[a]) for a, b in runs)


def test_fixed_size_batches():
    lens = lengths(37)
    b = shuffled_batches(37, 8, seed=5)
    assert sorted(i for x in b for i in x) == list(range(37)) and b == shuffled_batches(37, 8, seed=5)
    assert b != shuffled_batches(37, 8, seed=6)
    g = shuffled_batches(37, 8, seed=5, lengths=lens)
    assert all(lens[x[k]] >= lens[x[k + 1]] for x in g for k in range(len(x) - 1))
    s = sorted_batches(lens, 8)
    flat = [lens[i] for x in s for i in x]
    assert flat == sorted(lens) and all(len(x) == 8 for x in s[:-1])
