"""Base-pair probability maps under several ViennaRNA energy parameter sets
(:mod:`rnalm.structure.bpp`, ``structure.vienna_params``): keys, shapes, caching and workers.

The single-set behaviour the pairwise head has always read is tested in
tests/finetune/structure/test_bpp.py; skipped where ViennaRNA is not installed."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from rnalm.errors import RnalmError

RNA = pytest.importorskip("RNA")

from rnalm.structure import bpp  # noqa: E402

SEQS = ["GGGAAAUCCCGCGCUUAGCGCAUAUGGCAAGC", "ACGUAGCUAGGCUAGCUUCGCUAGCAUCGAUCGAUG"]
THREE = ("turner2004", "andronescu2007", "langdon2018")


def test_the_default_sets_cache_key_is_the_one_it_always_had(tmp_path):
    cache = bpp.BppDiskCache(tmp_path, "2.8.0")
    # the key written before parameter sets existed: sha256 of "<version>|<sequence>"
    assert cache.key("ACGU") == hashlib.sha256(b"2.8.0|ACGU").hexdigest()
    assert cache.key("ACGU", "turner2004") == cache.key("ACGU")
    keys = {cache.key("ACGU", name) for name in ("turner2004", "andronescu2007", "langdon2018", "turner1999")}
    assert len(keys) == 4  # every other set has its own
    assert cache.key("ACGU", "langdon2018") != cache.key("ACGUA", "langdon2018")


def test_one_map_per_set_in_the_order_named(tmp_path):
    one = bpp.PairProbabilities()
    three = bpp.PairProbabilities(tmp_path, params=THREE)
    assert one.params == ("turner2004",) and three.maps == 3
    b1, b3 = one.batch(SEQS), three.batch(SEQS)
    n = max(len(s) for s in SEQS)
    assert b1.shape == (2, n, n) and b3.shape == (2, 3, n, n) and b3.dtype == torch.float32
    assert torch.equal(b3[:, 0], b1)  # the first set's maps are the single-set maps, bit for bit
    assert not torch.allclose(b3[:, 1], b3[:, 0], atol=1e-2) and not torch.allclose(b3[:, 2], b3[:, 0], atol=1e-2)
    short = len(SEQS[0])
    assert (b3[0, :, short:] == 0).all() and (b3[0, :, :, short:] == 0).all()  # zero padding, every map
    for k, name in enumerate(THREE):
        ref = bpp.vienna_bpp(SEQS[1], name)
        np.testing.assert_allclose(b3[1, k].numpy(), ref, atol=1e-3)
    assert one.matrix(SEQS[0]).shape == (short, short)
    m = three.matrix(SEQS[0])
    assert m.shape == (3, short, short) and np.array_equal(m, b3[0, :, :short, :short].numpy())
    assert three.computed == 6 and three.from_cache == 0


def test_each_set_is_cached_on_its_own(tmp_path, monkeypatch):
    first = bpp.PairProbabilities(tmp_path, params=("turner2004",))
    expected_default = first.batch(SEQS)
    calls = []
    real = bpp.vienna_bpp
    monkeypatch.setattr(bpp, "vienna_bpp", lambda s, params="turner2004": calls.append(params) or real(s, params))
    both = bpp.PairProbabilities(tmp_path, params=("turner2004", "langdon2018"))
    b = both.batch(SEQS)
    assert calls == ["langdon2018", "langdon2018"]  # the default maps came from the cache of the first
    assert both.from_cache == 2 and both.computed == 2
    assert torch.equal(b[:, 0], expected_default)
    again = bpp.PairProbabilities(tmp_path, params=("langdon2018", "turner2004"))  # another order
    assert torch.equal(again.batch(SEQS), b.flip(1)) and again.from_cache == 4 and len(calls) == 2


def test_workers_fold_every_set_of_a_sequence(tmp_path):
    here = bpp.PairProbabilities(params=THREE)
    pool = bpp.PairProbabilities(workers=1, params=THREE)
    try:
        pool.prefetch(SEQS)
        for job in list(pool.pending.values()):
            job.result()  # let the worker finish, so nothing is taken back
        got = pool.batch(SEQS)
        assert pool.taken_back == 0 and pool.computed == 6 and not pool.pending
    finally:
        pool.close()
    assert torch.equal(got, here.batch(SEQS))  # the same maps whoever folds them


@pytest.mark.parametrize(
    "params, fragment",
    [((), "no ViennaRNA energy parameter set"), (("turner2005",), "turner2005"), (("langdon2018",) * 2, "twice")],
)
def test_bad_parameter_sets_are_refused(params, fragment):
    with pytest.raises(RnalmError, match=fragment):
        bpp.PairProbabilities(params=params)
