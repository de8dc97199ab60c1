"""Fold's model calls: windows of the file by pair cells, batches sorted by length, input order kept."""

import time

import numpy as np
import torch

from rnalm import shipped
from rnalm.predictors import fold as fold_predictors
from rnalm.runs.structure_model import load_run_model
from rnalm.structure.bpp import PairProbabilities
from rnalm.structure.folding import FoldPolicy, fold

SEQS = ["GGGAAACCCAGCUUCGGCUGGG", "GCGCUUCGGCGCAAAA", "GGGGAAAACCCCUUUUGGGGAAAACCCC", "GCAUGCAUCGAUCGAUCG"]


def test_a_model_that_batches_itself_gets_windows_of_the_file_by_cells():
    calls: list[list[str]] = []
    told: list[list[str]] = []

    class Model:
        method, window = "model", None
        call_cells = 900  # lengths 22, 16, 28, 18: cells 484, 256, 784, 324

        def prefetch(self, records):
            told.append([rid for rid, _ in records])

        def __call__(self, batch):
            calls.append([rid for rid, _ in batch])
            return fold_predictors.vienna(bpp=False)(batch)

    records = [(f"r{i}", s) for i, s in enumerate(SEQS * 2)]
    out = list(fold(records, Model(), FoldPolicy(), batch_size=1))
    assert [d.id for d in out] == [r for r, _ in records]
    assert calls == [["r0", "r1"], ["r2"], ["r3", "r4"], ["r5"], ["r6"], ["r7"]]
    assert sorted(sum(told, [])) == sorted(r for r, _ in records)  # each record announced once


def test_the_shipped_model_folds_in_inference_layout_as_its_evaluation_computes(monkeypatch):
    monkeypatch.setenv(shipped.ENV_DIR, str(shipped.package_root()))
    model = load_run_model(shipped.structure_entry().path, "cpu")
    try:
        assert model.call_cells and fold_predictors.choose(None, device="cpu").call_cells == model.call_cells
        maps = model(SEQS)
        # torch.no_grad: the training code's path and batches, per member of the shipped ensemble
        members = [model.outputs(SEQS, i) for i in range(len(model.models))]
        for k, (p, s) in enumerate(zip(maps, SEQS)):
            assert p.shape == (len(s), len(s))
            mean = np.mean([torch.sigmoid(torch.from_numpy(z[k])).numpy() for z in members], axis=0)
            np.testing.assert_allclose(p, mean, rtol=0, atol=1e-5)
    finally:
        if model.run.pair_probs is not None:
            model.run.pair_probs.close()


def test_maps_no_worker_has_started_are_folded_by_the_caller_with_the_same_values():
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGU"), 300)) for _ in range(8)]
    inline, workers = PairProbabilities(), PairProbabilities(workers=1)
    try:
        assert workers.pool is not None
        workers.pool.submit(time.sleep, 0.5)  # the one worker is busy: the maps below wait in its queue
        workers.prefetch(seqs)
        # the last map first: at most the first two are in the worker's queue, so it cannot have started it
        got = workers.batch(seqs[::-1]).numpy()
        assert workers.taken_back >= 1 and not workers.pending and workers.computed == len(seqs)
        assert np.array_equal(got, inline.batch(seqs[::-1]).numpy())
    finally:
        workers.close()
