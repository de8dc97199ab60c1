"""read_matrix / read_per_token: an embedding output read back as arrays, in input order."""

from __future__ import annotations

import numpy as np
import pytest

from rnalm.embedding import EmbedOptions, embed_file, open_embeddings, read_matrix, read_per_token
from rnalm.errors import RnalmError

from .helpers import direct, write_fasta

# ids whose sorted (and hash) order differs from the input order; lengths that batch out of order
RECORDS = [
    ("zeta", "ACGUACGUACGUAGGCUA"),
    ("alpha", "GGC"),
    ("m/7", "UUAGCUAGCUAGCUAGCUAGGAUCGAUCGUAGCUAGC"),
    ("beta", "CAUG"),
    ("10", "AUGGCUAGCUAGGA"),
    ("9", "GA"),
]


def run(model, alphabet, tmp_path, storage, **kw):
    out = tmp_path / f"out.{storage}"
    opts = EmbedOptions(pools=["mean", "cls", "per-token"], layers=[0, -1], output_format=storage, progress=False, **kw)
    embed_file(model, write_fasta(tmp_path / "in.fa", RECORDS), out, opts, alphabet=alphabet)
    return out


@pytest.mark.parametrize("storage", ["hdf5", "npy", "pt"])
def test_read_matrix_returns_input_order_whatever_the_id_order(tmp_path, tiny_rnafm, storage):
    model, alphabet = tiny_rnafm
    out = run(model, alphabet, tmp_path, storage, tokens_per_batch=40)
    ids, X = read_matrix(out)
    assert ids == [rid for rid, _ in RECORDS] and ids != sorted(ids)
    assert X.shape == (len(RECORDS), model.config.embed_dim) and X.dtype == np.float32
    last = model.config.num_layers
    for i, (_, seq) in enumerate(RECORDS):
        ref = direct(model, alphabet, seq, layers=[last])["representations"][last][0, 1 : 1 + len(seq)].mean(0)
        np.testing.assert_allclose(X[i], ref.numpy(), atol=1e-5)
    with open_embeddings(out) as emb:
        np.testing.assert_array_equal(X, emb.stack(f"layer_{last}/mean"))
        np.testing.assert_array_equal(read_matrix(out, layer=0, pool="cls")[1], emb.stack("layer_0/cls"))
    ids2, rows = read_per_token(out, layer=-1)
    assert ids2 == ids and [r.shape[0] for r in rows] == [len(s) for _, s in RECORDS]
    np.testing.assert_allclose(np.stack([r.mean(0) for r in rows]), X, atol=1e-6)


def test_read_matrix_names_the_layers_and_pools_an_output_holds(tmp_path, tiny_rnafm):
    model, alphabet = tiny_rnafm
    out = run(model, alphabet, tmp_path, "hdf5")
    with pytest.raises(RnalmError, match="holds layer_0/mean.*not layer 1"):
        read_matrix(out, layer=1)
    with pytest.raises(RnalmError, match="read_per_token"):
        read_matrix(out, pool="per-token")


def test_read_matrix_reads_the_parts_of_a_sharded_run_in_input_order(tmp_path, tiny_rnafm, monkeypatch):
    model, alphabet = tiny_rnafm
    inp = write_fasta(tmp_path / "in.fa", RECORDS)
    single = run(model, alphabet, tmp_path, "npy")
    for rank in range(2):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        opts = EmbedOptions(pools=["mean", "cls", "per-token"], layers=[0, -1], output_format="npy", progress=False)
        embed_file(model, inp, tmp_path / "sharded", opts, alphabet=alphabet)
    ids, X = read_matrix(tmp_path / "sharded")
    ids1, X1 = read_matrix(single)
    assert ids == ids1 == [rid for rid, _ in RECORDS]
    np.testing.assert_allclose(X, X1, atol=1e-6)
