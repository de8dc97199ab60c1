"""Sequences past the model's maximum length: windows, truncation, refusal."""

from __future__ import annotations

import numpy as np
import pytest

from rnalm.embedding import EmbedOptions, embed_file, open_embeddings
from rnalm.embedding.windows import window_starts
from rnalm.errors import RnalmError, SequenceLengthError

from .helpers import direct, random_records, write_fasta


def test_window_starts_cover_everything_with_the_overlap():
    assert window_starts(10, 62, 15) == [0]
    assert window_starts(62, 62, 15) == [0]
    assert window_starts(150, 62, 15) == [0, 47, 88]
    for n in range(63, 400, 7):
        for overlap in (0, 1, 15, 61):
            s = window_starts(n, 62, overlap)
            assert s[0] == 0 and s[-1] == n - 62 and s == sorted(set(s))
            assert all(b - a <= 62 - overlap for a, b in zip(s, s[1:]))  # overlap at least `overlap`
    with pytest.raises(ValueError):
        window_starts(100, 62, 62)


def expected_windows(model, alphabet, seq, overlap, layer=2):
    """Reference stitching from direct forwards of each window alone."""
    w = alphabet.max_length
    n = len(seq)
    acc, cnt = np.zeros((n, model.embed_dim)), np.zeros(n)
    cls = np.zeros(model.embed_dim)
    cacc, ccnt = np.zeros((n, n)), np.zeros((n, n))
    starts = window_starts(n, w, overlap)
    for s in starts:
        ref = direct(model, alphabet, seq[s : s + w], layers=[layer], return_contacts=True)
        rep = ref["representations"][layer][0].numpy()
        acc[s : s + w] += rep[1:-1]
        cnt[s : s + w] += 1
        cls += rep[0]
        cacc[s : s + w, s : s + w] += ref["contacts"][0].numpy()
        ccnt[s : s + w, s : s + w] += 1
    with np.errstate(invalid="ignore"):
        return acc / cnt[:, None], cls / len(starts), cacc / ccnt, cnt


@pytest.mark.parametrize("overlap", [None, 30])
def test_windowed_output_equals_direct_forwards_of_the_windows(tmp_path, tiny_rnafm, overlap):
    model, alphabet = tiny_rnafm
    ((_, long_seq),) = random_records(1, 150, 150, seed=11)
    seqs = [("long", long_seq), *random_records(4, 10, 62, seed=12)]
    inp = write_fasta(tmp_path / "in.fa", seqs)
    out = tmp_path / "out.h5"
    embed_file(
        model,
        inp,
        out,
        EmbedOptions(pools=["per-token", "mean", "cls"], contacts=True, window_overlap=overlap, progress=False),
        alphabet=alphabet,
    )
    ov = 62 // 4 if overlap is None else overlap
    tokens, cls, contacts, cover = expected_windows(model, alphabet, long_seq, ov)
    with open_embeddings(out) as emb:
        got = emb["long"]
        assert emb.info("long")["windows"] == len(window_starts(150, 62, ov)) and not emb.info("long")["truncated"]
        assert emb.metadata["overlap"] == ov and emb.metadata["window"] == 62
        assert got["layer_2/per_token"].shape == (150, 32)
        np.testing.assert_allclose(got["layer_2/per_token"], tokens, atol=3e-5, rtol=1e-4)
        # tokens seen by one window only are that window's direct forward (no averaging involved)
        single = cover == 1
        assert single.sum() > 50
        np.testing.assert_allclose(got["layer_2/per_token"][single], tokens[single], atol=3e-5, rtol=1e-4)
        np.testing.assert_allclose(got["layer_2/mean"], tokens.mean(0), atol=3e-5, rtol=1e-4)
        np.testing.assert_allclose(got["layer_2/cls"], cls, atol=3e-5, rtol=1e-4)
        assert np.isnan(got["contacts"][0, 149]) and np.isnan(contacts[0, 149])
        np.testing.assert_allclose(got["contacts"], contacts, atol=3e-5, equal_nan=True)
        # short records in the same run are unaffected
        ref = direct(model, alphabet, seqs[1][1])["representations"][2][0, 1:-1].numpy()
        np.testing.assert_allclose(emb["r0"]["layer_2/per_token"], ref, atol=3e-5, rtol=1e-4)


def test_codon_windows(tmp_path, tiny_mrnafm):
    model, alphabet = tiny_mrnafm
    ((_, seq),) = random_records(1, 120, 120, seed=4)  # 40 codons > 32
    inp = write_fasta(tmp_path / "in.fa", [("cds", seq)])
    out = tmp_path / "out.h5"
    embed_file(model, inp, out, EmbedOptions(pools=["per-token"], progress=False), alphabet=alphabet)
    with open_embeddings(out) as emb:
        rows = emb["cds"]["layer_2/per_token"]
    assert rows.shape == (40, 24)
    first = direct(model, alphabet, seq[: 32 * 3])["representations"][2][0, 1:-1].numpy()
    starts = window_starts(40, 32, 8)
    assert starts == [0, 8]
    np.testing.assert_allclose(rows[:8], first[:8], atol=3e-5, rtol=1e-4)  # covered by the first window only


def test_truncate_keeps_the_first_max_length_tokens(tmp_path, tiny_rnafm):
    model, alphabet = tiny_rnafm
    ((_, seq),) = random_records(1, 100, 100, seed=2)
    inp = write_fasta(tmp_path / "in.fa", [("long", seq)])
    out = tmp_path / "out.h5"
    embed_file(model, inp, out, EmbedOptions(pools=["per-token"], long="truncate", progress=False), alphabet=alphabet)
    ref = direct(model, alphabet, seq[:62])["representations"][2][0, 1:-1].numpy()
    with open_embeddings(out) as emb:
        info = emb.info("long")
        assert info["truncated"] and info["length"] == 100 and info["n_rows"] == 62
        np.testing.assert_allclose(emb["long"]["layer_2/per_token"], ref, atol=2e-5, rtol=1e-4)


def test_error_mode_and_attentions_refuse_long_records(tmp_path, tiny_rnafm):
    model, alphabet = tiny_rnafm
    inp = write_fasta(tmp_path / "in.fa", [("ok", "ACGU"), ("too_long", "A" * 63)])
    with pytest.raises(SequenceLengthError, match="record 'too_long': 63 nt is longer than the 62"):
        embed_file(model, inp, tmp_path / "a.h5", EmbedOptions(long="error", progress=False), alphabet=alphabet)
    with pytest.raises(SequenceLengthError, match="'too_long'.*attention maps"):
        embed_file(model, inp, tmp_path / "b.h5", EmbedOptions(attentions=True, progress=False), alphabet=alphabet)
    with pytest.raises(RnalmError, match="window_overlap="):
        embed_file(model, inp, tmp_path / "c.h5", EmbedOptions(window_overlap=62, progress=False), alphabet=alphabet)
    assert not list(tmp_path.glob("*.h5"))


def test_bare_alphabet_takes_the_model_limit(tmp_path, tiny_rnafm):
    """An in-memory model with an alphabet that does not carry max_length still gets windows."""
    from rnalm.models.rnafm.alphabet import RNA_FM_ALPHABET

    model, _ = tiny_rnafm
    assert RNA_FM_ALPHABET.max_length is None
    inp = write_fasta(tmp_path / "in.fa", [("long", "ACGU" * 25)])
    out = tmp_path / "out.h5"
    embed_file(model, inp, out, EmbedOptions(pools=["per-token"], progress=False), alphabet=RNA_FM_ALPHABET)
    with open_embeddings(out) as emb:
        assert emb.info("long")["windows"] == 2 and emb["long"]["layer_2/per_token"].shape == (100, 32)
