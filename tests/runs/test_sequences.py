from __future__ import annotations

import pytest

from rnalm.models.rnafm.alphabet import MRNA_FM_ALPHABET
from rnalm.runs.errors import DataError
from rnalm.runs.sequences import default_alphabet, prepare


def test_prepare_normalises_and_truncates():
    a = default_alphabet().with_max_length(6)
    ids, where = ["a", "b"], ["f.csv:2", "f.csv:3"]
    assert prepare(["acgt", "ACGUAC"], ids, where, a) == ["ACGU", "ACGUAC"]
    with pytest.raises(DataError, match=r"f\.csv:3: record 'b' is 8 nt, longer than the 6 nt"):
        prepare(["ACGU", "AAACCCGG"], ids, where, a)
    assert prepare(["ACGU", "AAACCCGG"], ids, where, a, "keep_3prime") == ["ACGU", "ACCCGG"]
    assert prepare(["ACGU", "AAACCCGG"], ids, where, a, "keep_5prime", max_nt=3) == ["ACG", "AAA"]
    with pytest.raises(DataError, match=r"f\.csv:2: .*invalid character 'Z' at position 2"):
        prepare(["AZ"], ids[:1], where[:1], a)
    with pytest.raises(DataError, match="empty sequence"):
        prepare(["  "], ids[:1], where[:1], a)


def test_codon_alphabet_needs_whole_codons():
    a = MRNA_FM_ALPHABET
    with pytest.raises(DataError, match="multiple of 3"):
        prepare(["AUGGC"], ["x"], ["f:2"], a)
    assert prepare(["AUGGC"], ["x"], ["f:2"], a, "keep_5prime") == ["AUG"]
    assert prepare(["AUGGCC"], ["x"], ["f:2"], a.with_max_length(1), "keep_3prime") == ["GCC"]


def test_unknown_mask_keeps_iupac_letters_for_onehot_and_masks_them_for_the_lm():
    import torch

    from rnalm.model import EncoderConfig, RNAEncoder
    from rnalm.models import get_alphabet
    from rnalm.runs.backbones import LMBackbone

    a = get_alphabet("utr-lm")  # DNA letters A/C/G/T, no N
    with pytest.raises(DataError, match=r"f:2: .*invalid character 'n' at position 3"):
        prepare(["acnu"], ["x"], ["f:2"], a)
    assert prepare(["acnu"], ["x"], ["f:2"], a, unknown="mask") == ["ACNT"]
    with pytest.raises(DataError, match="invalid character 'Z'"):  # not an IUPAC letter: still an error
        prepare(["acZu"], ["x"], ["f:2"], a, unknown="mask")
    enc = RNAEncoder(EncoderConfig.for_alphabet(a, num_layers=1, embed_dim=8, ffn_embed_dim=16, attention_heads=2))
    tokens = LMBackbone(enc, a).tokenize(["ACNT", "ACGT"])
    assert tokens[0, 3].item() == a.mask_idx and tokens[1, 3].item() == a.tok_to_idx["G"]
    assert torch.equal(tokens[0, [1, 2, 4]], tokens[1, [1, 2, 4]])


def test_masked_letters_keep_their_place_in_per_token_features():
    from rnalm.model import EncoderConfig, RNAEncoder
    from rnalm.models import get_alphabet
    from rnalm.runs.backbones import LMBackbone

    a = get_alphabet("utr-lm")
    enc = RNAEncoder(EncoderConfig.for_alphabet(a, num_layers=1, embed_dim=8, ffn_embed_dim=16, attention_heads=2))
    lmb = LMBackbone(enc, a, frozen=True)
    feats = lmb(lmb.tokenize(["ACGN", "AC"]), {"tokens", "mean"})
    assert feats["tokens"].shape[1] == 4  # the trailing N (<mask>) is a position, not padding
    assert feats["tokens"][0, 3].abs().sum() > 0 and feats["tokens"][1, 2:].abs().sum() == 0
