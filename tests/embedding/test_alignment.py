"""Per-token outputs: exactly one row per nucleotide (per codon for mRNA-FM), in the right place."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnalm.embedding import EmbedOptions, embed_file, open_embeddings
from rnalm.embedding.windows import window_starts

from .helpers import direct, random_records, write_fasta

POS_DIM = 31  # tiny model is 32 wide; dims 0..24 hold a one-hot of the token


def revealing(model):
    """Make layer 0 show each token's id (one-hot) and its position (in the last dimension)."""
    with torch.no_grad():
        model.embed_tokens.weight.zero_()
        model.embed_tokens.weight[:, :25] = torch.eye(25)
        model.embed_positions.weight.zero_()
        model.embed_positions.weight[:, POS_DIM] = torch.arange(model.embed_positions.weight.shape[0]).float()
    return model


def test_rows_reveal_their_nucleotide_and_position(tmp_path, tiny_rnafm):
    model, alphabet = tiny_rnafm
    revealing(model)
    seqs = [
        ("short", "acgu"),
        ("dna", "ACGTTTGCA"),
        ("one", "G"),
        ("long", "ACGU" * 30 + "GGC"),
        *random_records(12, 1, 61, seed=3),
    ]
    inp = write_fasta(tmp_path / "in.fa", seqs)
    out = tmp_path / "out.h5"
    embed_file(
        model,
        inp,
        out,
        EmbedOptions(layers=[0], pools=["per-token", "mean", "cls"], progress=False, tokens_per_batch=256),
        alphabet=alphabet,
    )
    bos_pos = model.padding_idx + 1  # <cls> gets the first position after the padding index
    with open_embeddings(out) as emb:
        assert emb.ids == [rid for rid, _ in seqs]
        for rid, seq in seqs:
            arrays = emb[rid]
            rows = arrays["layer_0/per_token"]
            norm = alphabet.normalize(seq)
            assert rows.shape == (len(norm), 32), rid
            letter_ids = np.argmax(rows[:, :25], axis=1)
            assert [alphabet.get_tok(int(i)) for i in letter_ids] == list(norm), rid
            np.testing.assert_array_equal(rows[:, :25].sum(1), 1.0)
            n = len(norm)
            if n <= alphabet.max_length:
                expected_pos = np.arange(n) + bos_pos + 1
                np.testing.assert_array_equal(arrays["layer_0/cls"][:25], np.eye(25)[alphabet.cls_idx])
                assert arrays["layer_0/cls"][POS_DIM] == bos_pos
            else:  # each window restarts positions; overlapping tokens average them
                starts = window_starts(n, alphabet.max_length, alphabet.max_length // 4)
                acc, cnt = np.zeros(n), np.zeros(n)
                for s in starts:
                    acc[s : s + alphabet.max_length] += np.arange(alphabet.max_length) + bos_pos + 1
                    cnt[s : s + alphabet.max_length] += 1
                expected_pos = acc / cnt
                assert emb.info(rid)["windows"] == len(starts) == 3
            np.testing.assert_allclose(rows[:, POS_DIM], expected_pos, rtol=0, atol=1e-5)
            np.testing.assert_allclose(arrays["layer_0/mean"], rows.mean(0), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("storage", ["hdf5", "npy", "pt"])
def test_batched_rows_equal_a_direct_forward_of_each_sequence(tmp_path, tiny_rnafm, storage):
    model, alphabet = tiny_rnafm
    seqs = random_records(25, 1, 62, seed=1)
    inp = write_fasta(tmp_path / "in.fa", seqs)
    out = tmp_path / "out"
    embed_file(
        model,
        inp,
        out,
        EmbedOptions(
            layers=[1, -1],
            pools=["per-token", "mean", "cls"],
            output_format=storage,
            progress=False,
            tokens_per_batch=300,
        ),
        alphabet=alphabet,
    )
    with open_embeddings(out) as emb:
        assert emb.ids == [rid for rid, _ in seqs]
        for rid, seq in seqs:
            ref = direct(model, alphabet, seq, layers=[1, 2])["representations"]
            got = emb[rid]
            for layer in (1, 2):
                r = ref[layer][0].numpy()
                np.testing.assert_allclose(got[f"layer_{layer}/per_token"], r[1:-1], atol=2e-5, rtol=1e-4)
                np.testing.assert_allclose(got[f"layer_{layer}/mean"], r[1:-1].mean(0), atol=2e-5, rtol=1e-4)
                np.testing.assert_allclose(got[f"layer_{layer}/cls"], r[0], atol=2e-5, rtol=1e-4)


def test_codon_model_gives_one_row_per_codon(tmp_path, tiny_mrnafm):
    model, alphabet = tiny_mrnafm
    seqs = [("cds1", "AUGGCCAAAUAG"), ("cds2", "atggcttaa"), *random_records(6, 1, 30, seed=2, prefix="c")]
    seqs = [(rid, s if len(s) % 3 == 0 else s * 3) for rid, s in seqs]
    inp = write_fasta(tmp_path / "in.fa", seqs)
    out = tmp_path / "out.h5"
    embed_file(model, inp, out, EmbedOptions(pools=["per-token", "mean"], progress=False), alphabet=alphabet)
    with open_embeddings(out) as emb:
        for rid, seq in seqs:
            rows = emb[rid]["layer_2/per_token"]
            assert rows.shape == (len(seq) // 3, 24)
            assert emb.info(rid)["length"] == len(seq) and emb.info(rid)["n_rows"] == len(seq) // 3
            ref = direct(model, alphabet, seq)["representations"][2][0].numpy()
            np.testing.assert_allclose(rows, ref[1:-1], atol=2e-5, rtol=1e-4)


def test_replaced_unknown_letters_keep_their_rows(tmp_path, tiny_rnafm):
    model, alphabet = tiny_rnafm
    inp = write_fasta(tmp_path / "in.fa", [("x", "ACXXGU"), ("y", "AC")])
    out = tmp_path / "out.h5"
    embed_file(model, inp, out, EmbedOptions(pools=["per-token"], unknown="mask", progress=False), alphabet=alphabet)
    with open_embeddings(out) as emb:
        assert emb["x"]["layer_2/per_token"].shape == (6, 32)
        tokens = torch.tensor([[alphabet.cls_idx] + alphabet.encode("ACXXGU", unknown="mask") + [alphabet.eos_idx]])
        assert tokens[0, 3].item() == alphabet.mask_idx
        with torch.no_grad():
            ref = model(tokens, repr_layers=[2])["representations"][2][0, 1:-1].numpy()
        np.testing.assert_allclose(emb["x"]["layer_2/per_token"], ref, atol=2e-5, rtol=1e-4)
