"""Alphabet normalisation and batch conversion (RNA-FM alphabet as the worked example)."""

import pytest
import torch

from rnalm.alphabet import Alphabet, BatchConverter, pad_to_multiple_of_8
from rnalm.errors import InvalidSequenceError, SequenceLengthError
from rnalm.models.rnafm.alphabet import MRNA_FM_ALPHABET, RNA_FM_ALPHABET


def test_rnafm_token_order():
    assert RNA_FM_ALPHABET.tokens[:8] == ("<cls>", "<pad>", "<eos>", "<unk>", "A", "C", "G", "U")
    assert RNA_FM_ALPHABET.tokens[-5:] == ("<null_1>", "<null_2>", "<null_3>", "<null_4>", "<mask>")
    assert len(RNA_FM_ALPHABET) == 25 and RNA_FM_ALPHABET.mask_idx == 24
    assert len(MRNA_FM_ALPHABET) == 73 and MRNA_FM_ALPHABET.get_idx("GAG") == 4


def test_pad_to_multiple_of_8():
    assert pad_to_multiple_of_8(["a"] * 8) == ["a"] * 8
    assert pad_to_multiple_of_8(["a"] * 5)[-3:] == ["<null_1>", "<null_2>", "<null_3>"]


def test_normalize_case_whitespace_and_t_to_u():
    a = RNA_FM_ALPHABET
    assert a.normalize(" acg t\nu\t") == "ACGUU"


def test_invalid_character_names_record_and_position():
    with pytest.raises(InvalidSequenceError) as exc:
        RNA_FM_ALPHABET.normalize("ACG UXA", record_id="utr7")
    msg = str(exc.value)
    assert "'utr7'" in msg and "'X'" in msg and "position 5" in msg
    assert exc.value.position == 5 and exc.value.record_id == "utr7"


def test_non_ascii_character_is_reported_at_its_position():
    with pytest.raises(InvalidSequenceError) as exc:
        RNA_FM_ALPHABET.normalize("AC\u00e9G", record_id="r")
    assert exc.value.position == 3 and exc.value.char == "\u00e9"


def test_unknown_replacement_modes():
    a = RNA_FM_ALPHABET
    assert a.normalize("AXC", unknown="N") == "ANC"
    ids = a.encode("AXC", unknown="mask")
    assert ids == [a.get_idx("A"), a.mask_idx, a.get_idx("C")]
    assert a.encode("AXC", unknown="unk")[1] == a.unk_idx
    with pytest.raises(ValueError, match="not a letter"):
        a.normalize("AXC", unknown="Z")


def test_codon_alphabet_requires_multiple_of_three():
    with pytest.raises(SequenceLengthError, match="multiple of 3"):
        MRNA_FM_ALPHABET.encode("AUGGC", record_id="cds1")
    ids = MRNA_FM_ALPHABET.encode("augGAGtaa")
    assert ids == [MRNA_FM_ALPHABET.get_idx(c) for c in ("AUG", "GAG", "UAA")]


def test_batch_converter_pads_and_wraps():
    a = RNA_FM_ALPHABET
    ids, strs, tokens = a.get_batch_converter()([("x", "ACGU"), ("y", "gg")])
    assert ids == ["x", "y"] and strs == ["ACGU", "gg"]
    assert tokens.tolist() == [
        [a.cls_idx, 4, 5, 6, 7, a.eos_idx],
        [a.cls_idx, 6, 6, a.eos_idx, a.padding_idx, a.padding_idx],
    ]
    assert tokens.dtype == torch.int64


def test_batch_converter_length_checks():
    a = RNA_FM_ALPHABET.with_max_length(5)
    bc = a.get_batch_converter()
    with pytest.raises(SequenceLengthError, match="'long'.*longer than the 5"):
        bc([("ok", "ACG"), ("long", "ACGUAC")])
    with pytest.raises(SequenceLengthError, match="empty"):
        bc([("e", "  \n")])
    assert BatchConverter(a, check_length=False)([("long", "ACGUAC")])[2].shape == (1, 8)


def test_alphabet_dict_round_trip():
    d = MRNA_FM_ALPHABET.to_dict()
    assert Alphabet.from_dict(d) == MRNA_FM_ALPHABET


def test_special_and_letter_indices_partition_vocab():
    a = RNA_FM_ALPHABET
    assert sorted(a.special_indices + a.letter_indices) == list(range(len(a)))
