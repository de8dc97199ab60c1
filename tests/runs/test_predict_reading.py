"""How a task model reads one record: its window, letters it lacks, and the note that says so."""

from __future__ import annotations

import pytest

from rnalm.errors import RnalmError, cli_spelling, spelled
from rnalm.models import get_alphabet
from rnalm.models.rnafm.alphabet import MRNA_FM_ALPHABET
from rnalm.runs.sequences import Window, check_unknown, read_record, window_of

UTR_LM = get_alphabet("utr-lm")  # A/C/G/T; U read as T


def test_windows_say_what_a_model_reads():
    assert Window(100, "keep_3prime").describe() == "the 3'-most 100 nt"
    assert Window(1020, "keep_5prime").describe() == "the 5'-most 1,020 nt"
    assert Window(160, "error").describe() == "up to 160 nt (longer inputs are not scored)"
    assert Window(None).describe() == "any length"
    assert window_of(UTR_LM.with_max_length(1020), "keep_5prime", None) == Window(1020, "keep_5prime")
    assert window_of(UTR_LM.with_max_length(1020), "keep_3prime", 100) == Window(100, "keep_3prime")


def test_a_longer_input_is_read_at_the_documented_end_and_noted():
    seq = "A" * 900 + "C" * 124
    got = read_record(seq, "x", UTR_LM, Window(100, "keep_3prime"))
    assert got.seq == "A" * 0 + seq[-100:] and got.length == 1024 and got.read == 100
    assert got.note == "read the 3'-most 100 of 1,024 nt"
    got = read_record(seq, "x", UTR_LM, Window(1020, "keep_5prime"))
    assert got.seq == seq[:1020] and got.note == "read the 5'-most 1,020 of 1,024 nt"
    assert read_record("ACGU", "x", UTR_LM, Window(100, "keep_3prime")).note == ""


def test_a_model_that_cannot_read_a_longer_input_leaves_it_unscored_with_a_note():
    got = read_record("A" * 200, "x", UTR_LM, Window(160, "error"))
    assert got.seq is None and got.read is None and got.length == 200
    assert got.note == "not scored: 200 nt is longer than the 160 nt this model reads"


def test_an_invalid_letter_is_noted_with_its_position_and_the_option_that_reads_it():
    got = read_record("ac gu*a", "x", UTR_LM, Window(None))
    assert got.seq is None and got.length == 6
    assert "invalid letter '*' at position 5" in got.note and "unknown='mask'" in got.note
    with spelled(cli_spelling):
        assert "pass --unknown mask (or a letter) to read it" in read_record("A*", "x", UTR_LM, Window(None)).note


def test_unknown_mask_keeps_iupac_letters_and_reads_anything_else_as_n():
    got = read_record("acNu*g", "x", UTR_LM, Window(None), unknown="mask")
    assert got.seq == "ACNTNG" and got.note == "2 letters read as <mask> (first 'N' at 3)"
    got = read_record("acNu*g", "x", UTR_LM, Window(None), unknown="G")
    assert got.seq == "ACGTGG" and got.note == "2 letters replaced by G (first 'N' at 3)"


def test_unknown_must_be_mask_or_a_letter_the_model_can_take():
    assert check_unknown(UTR_LM, "mask") == "mask" and check_unknown(UTR_LM, "u") == "u"
    assert check_unknown(UTR_LM, "N") == "N"  # an IUPAC code: one-hot spreads it, the language model masks it
    with spelled(cli_spelling), pytest.raises(RnalmError, match="--unknown unk: .*--unknown mask"):
        check_unknown(UTR_LM, "unk")
    with pytest.raises(RnalmError, match="unknown='Z'"):
        check_unknown(UTR_LM, "Z")


def test_codon_models_read_whole_codons():
    got = read_record("AUGGCUA", "x", MRNA_FM_ALPHABET, window_of(MRNA_FM_ALPHABET, "keep_5prime"))
    assert got.seq == "AUGGCU" and got.note == "read the 5'-most 6 of 7 nt"
