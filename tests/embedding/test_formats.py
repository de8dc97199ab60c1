"""Output formats: HDF5, RNA-FM's .npy layout, fair-esm's .pt layout; ids, order, metadata, maps."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch

import rnalm
from rnalm.embedding import EmbedOptions, embed_file, open_embeddings

from .helpers import direct, random_records, write_fasta

ODD_IDS = [("a/b", "ACGU"), ("..", "GGC"), ("x%2Fy", "UUA"), ("L" * 300, "CCAG"), ("plain", "A")]


def run(model, alphabet, inp, out, **kw):
    kw.setdefault("progress", False)
    return embed_file(model, inp, out, EmbedOptions(**kw), alphabet=alphabet)


def test_hdf5_layout_metadata_and_input_order(tmp_path, tiny_dir):
    path, model, alphabet = tiny_dir
    seqs = random_records(30, 1, 60, seed=5)
    inp = write_fasta(tmp_path / "in.fa", seqs)
    out = tmp_path / "out.h5"
    summary = embed_file(
        str(path), inp, out, EmbedOptions(pools=["mean", "per-token"], progress=False, tokens_per_batch=200)
    )
    assert summary.n_embedded == 30 and summary.n_records == 30
    cfg = json.loads((path / "config.json").read_text())
    with h5py.File(out, "r") as f:
        assert f.attrs["model"] == str(path)
        assert f.attrs["weights_sha256"] == cfg["weights_sha256"]
        assert f.attrs["rnalm_version"] == rnalm.__version__
        meta = json.loads(f.attrs["rnalm_embed"])
        assert meta["layers"] == [2] and meta["pools"] == ["mean", "per_token"] and meta["finished"]
        g = f["r7"]
        assert g.attrs["complete"] and g.attrs["id"] == "r7" and g.attrs["index"] == 7
        assert g["layer_2/mean"].shape == (32,) and g["layer_2/per_token"].shape == (len(seqs[7][1]), 32)
        assert g["layer_2/mean"].dtype == np.float32
        written_order = list(f.keys())
    # batches run longest-first, yet the reader gives input order
    assert written_order != [rid for rid, _ in seqs]
    with open_embeddings(out) as emb:
        assert emb.ids == [rid for rid, _ in seqs]
        assert [emb.info(r)["index"] for r in emb.ids] == list(range(30))
        stacked = emb.stack("layer_2/mean")
        assert stacked.shape == (30, 32)
        np.testing.assert_array_equal(stacked[3], emb["r3"]["layer_2/mean"])


def test_npy_layout_is_rna_fm_s(tmp_path, tiny_rnafm):
    model, alphabet = tiny_rnafm
    seqs = [("s1", "ACGUA"), ("s2", "GG")]
    inp = write_fasta(tmp_path / "in.fa", seqs)
    out = tmp_path / "npy"
    run(model, alphabet, inp, out, output_format="npy", pools=["per-token", "mean", "cls"], contacts=True)
    assert np.load(out / "representations" / "s1.npy").shape == (5, 32)
    assert np.load(out / "mean_representations" / "s2.npy").shape == (32,)
    assert np.load(out / "cls_representations" / "s2.npy").shape == (32,)
    assert np.load(out / "contacts" / "s1.npy").shape == (5, 5)
    ref = direct(model, alphabet, "ACGUA")["representations"][2][0, 1:-1].numpy()
    np.testing.assert_allclose(np.load(out / "representations" / "s1.npy"), ref, atol=2e-5)
    # several layers: one more directory level
    out2 = tmp_path / "npy2"
    run(model, alphabet, inp, out2, output_format="npy", pools=["per-token"], layers=["0", "2"])
    assert np.load(out2 / "representations" / "layer_0" / "s1.npy").shape == (5, 32)
    assert np.load(out2 / "representations" / "layer_2" / "s1.npy").shape == (5, 32)
    assert not list(out2.rglob("*.tmp-*"))


def test_pt_layout_is_fair_esm_s(tmp_path, tiny_rnafm):
    model, alphabet = tiny_rnafm
    inp = write_fasta(tmp_path / "in.fa", [("s1", "ACGUA"), ("s2", "GG")])
    out = tmp_path / "pt"
    run(
        model, alphabet, inp, out, output_format="pt", pools=["per-token", "mean", "cls"], layers=[0, -1], contacts=True
    )
    obj = torch.load(out / "s1.pt", weights_only=True)
    assert obj["label"] == "s1"
    assert set(obj["representations"]) == {0, 2} and obj["representations"][2].shape == (5, 32)
    assert obj["mean_representations"][2].shape == (32,) and obj["bos_representations"][0].shape == (32,)
    assert obj["contacts"].shape == (5, 5)
    ref = direct(model, alphabet, "ACGUA")["representations"][2][0].numpy()
    np.testing.assert_allclose(obj["bos_representations"][2].numpy(), ref[0], atol=2e-5)


@pytest.mark.parametrize("storage", ["hdf5", "npy", "pt"])
def test_odd_ids_round_trip(tmp_path, tiny_rnafm, storage):
    model, alphabet = tiny_rnafm
    inp = write_fasta(tmp_path / "in.fa", ODD_IDS)
    out = tmp_path / f"out.{storage}"
    run(model, alphabet, inp, out, output_format=storage, pools=["per-token"])
    with open_embeddings(out) as emb:
        assert emb.ids == [rid for rid, _ in ODD_IDS]
        for rid, seq in ODD_IDS:
            assert emb[rid]["layer_2/per_token"].shape == (len(seq), 32)
    if storage != "hdf5":  # nothing escaped the output directory
        assert not (tmp_path / "a").exists() and not (out.parent / "b.npy").exists()
        assert all(len(p.name.encode()) <= 255 for p in out.rglob("*"))


def test_contacts_and_attentions_are_trimmed_to_the_nucleotides(tmp_path, tiny_rnafm):
    model, alphabet = tiny_rnafm
    seqs = [("a", "ACGUAGC"), ("b", "GGAUCCAUUAGCAG"), ("c", "AU")]
    inp = write_fasta(tmp_path / "in.fa", seqs)
    out = tmp_path / "out.h5"
    run(model, alphabet, inp, out, contacts=True, attentions=True)
    with open_embeddings(out) as emb:
        for rid, seq in seqs:
            n = len(seq)
            ref = direct(model, alphabet, seq, return_contacts=True)
            got = emb[rid]
            assert got["contacts"].shape == (n, n) and got["attentions"].shape == (2, 4, n, n)
            np.testing.assert_allclose(got["contacts"], ref["contacts"][0].numpy(), atol=2e-5)
            np.testing.assert_allclose(got["attentions"], ref["attentions"][0, :, :, 1:-1, 1:-1].numpy(), atol=2e-5)
