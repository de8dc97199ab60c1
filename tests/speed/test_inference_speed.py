"""The pieces that make predict and fold fast: ViennaRNA in workers beside a model on the cores left, dtype."""

import numpy as np
import pytest
import torch

from rnalm import shipped
from rnalm.cli import main
from rnalm.predictors import fold as fold_predictors
from rnalm.predictors import task
from rnalm.runs.threads import inference_threads, threads_beside
from rnalm.structure.bpp import PairProbabilities
from rnalm.structure.folding import FoldPolicy, fold

SEQS = ["GGGAAACCCAGCUUCGGCUGGG", "GCGCUUCGGCGCAAAA", "GGGGAAAACCCCUUUUGGGGAAAACCCC"]


def test_models_beside_vienna_workers_use_the_cores_left_and_the_setting_comes_back():
    assert threads_beside(1, 2) == 1 and threads_beside(3, 2) == 1 and threads_beside(0, 8) is None
    before = torch.get_num_threads()
    with inference_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_worker_processes_give_the_same_maps_as_the_calling_process():
    inline, workers = PairProbabilities(), PairProbabilities(workers=1)
    try:
        workers.prefetch(SEQS)
        assert workers.pending
        assert np.array_equal(inline.batch(SEQS).numpy(), workers.batch(SEQS).numpy())
        assert not workers.pending and workers.computed == len(SEQS)
    finally:
        workers.close()


def test_fold_tells_the_predictor_what_comes_next(monkeypatch):
    told: list[list[str]] = []

    class Model:
        method, window = "model", None

        def prefetch(self, records):
            told.append([rid for rid, _ in records])

        def __call__(self, batch):
            return fold_predictors.vienna(bpp=False)(batch)

    records = [(f"r{i}", s) for i, s in enumerate(SEQS * 2)]
    out = list(fold(records, Model(), FoldPolicy(), batch_size=2))
    assert [d.id for d in out] == [r for r, _ in records]
    assert sorted(sum(told, [])) == sorted(r for r, _ in records)  # each record announced once, before its call


def test_vienna_predictors_say_dtype_does_not_apply():
    p = fold_predictors.choose("vienna", dtype="bfloat16")
    assert p.precision.name == "float32" and "does not apply" in p.precision.reason


@pytest.mark.parametrize("alias", ["te", "mrl"])
def test_predict_dtype_is_resolved_per_model(alias, monkeypatch):
    monkeypatch.setenv(shipped.ENV_DIR, str(shipped.package_root()))
    p = task.from_shipped(shipped.task_entry(alias), device="cpu", log=lambda _m: None, dtype="bfloat16")
    if alias == "mrl":
        assert p.precision.name == "float32" and "scikit-learn" in p.precision.reason
    else:
        assert p.precision.is_bf16
        rows = p.predict([("a", SEQS[0]), ("b", SEQS[2])])
        fp32 = task.from_shipped(shipped.task_entry(alias), device="cpu", log=lambda _m: None).predict(
            [("a", SEQS[0]), ("b", SEQS[2])]
        )
        assert [r["te_log"] for r in rows] == pytest.approx([r["te_log"] for r in fp32], abs=0.05)


def test_the_closing_line_names_the_dtype(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(shipped.ENV_DIR, str(shipped.package_root()))
    fa = tmp_path / "in.fa"
    fa.write_text(">a\nGGGAAACCCAGCUUCGGCUGGG\n")
    assert main(["fold", "-i", str(fa), "--dtype", "float32"]) == 0
    assert "dtype float32 (asked)" in capsys.readouterr().err
