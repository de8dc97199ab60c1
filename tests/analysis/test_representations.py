"""The k-mer baseline counts what it says, and the model rows are the vectors rnalm.embed returns."""

import numpy as np

import rnalm
from rnalm.analysis.representations import kmer_counts, kmer_frequencies, kmer_vocabulary, model_representation
from rnalm.io.seqio import Record


def test_kmer_counts_on_a_tiny_example():
    vocab = kmer_vocabulary(2)
    assert len(vocab) == 16 and vocab[:3] == ["AA", "AC", "AG"]
    counts = kmer_counts(["ACGUA", "AAAT", "anaa", "A"], k=2)
    col = {v: i for i, v in enumerate(vocab)}
    expected = np.zeros((4, 16))
    for kmer in ("AC", "CG", "GU", "UA"):
        expected[0, col[kmer]] = 1
    expected[1, col["AA"]], expected[1, col["AU"]] = 2, 1  # T read as U
    expected[2, col["AA"]] = 1  # k-mers holding N are skipped, case ignored
    np.testing.assert_array_equal(counts, expected)  # a sequence shorter than k: no k-mer


def test_kmer_frequencies_sum_to_one_per_row():
    f = kmer_frequencies(["ACGUACGU", "GGGG", "N"], k=3)
    np.testing.assert_allclose(f.sum(axis=1), [1, 1, 0])
    assert f[1, kmer_vocabulary(3).index("GGG")] == 1


def test_model_rows_equal_rnalm_embed(tiny_lm_dir):
    seqs = ["ACGUACGUAGGCU", "GGGAAACCCUUU", "AUAUAUAGCGC"]
    records = [Record(f"s{i}", s, "", i, i + 1) for i, s in enumerate(seqs)]
    rep = model_representation(tiny_lm_dir, records, "tiny", layer=-1, pool="mean", progress=False)
    np.testing.assert_allclose(rep.vectors, rnalm.embed(seqs, tiny_lm_dir, progress=False), rtol=0, atol=1e-6)
