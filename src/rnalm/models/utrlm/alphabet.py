"""The UTR-LM vocabulary, exactly as UTR-LM's modified fair-esm ``Alphabet(standard_toks="AGCT")`` builds it.

UTR-LM changed fair-esm's alphabet defaults: the prepended specials are ``<pad> <eos> <unk>``
(no ``<cls>`` first, no ``<null_0>``), the ``<null_i>`` padding to a multiple of 8 is commented
out, and ``<cls> <mask> <sep>`` are appended. Its training scripts assert the resulting map
``{'<pad>': 0, '<eos>': 1, '<unk>': 2, 'A': 3, 'G': 4, 'C': 5, 'T': 6, '<cls>': 7, '<mask>': 8, '<sep>': 9}``.
Every sequence is wrapped as ``<cls> ... <eos>`` (``prepend_bos`` and ``append_eos`` both true).

The model reads DNA letters: its training data are 5' UTRs written with T. rnalm folds input to
upper case and converts U to T; the original would raise a KeyError on ``U`` or lower case.
"""

from __future__ import annotations

from rnalm.alphabet import Alphabet

UTRLM_TOKENS: tuple[str, ...] = ("<pad>", "<eos>", "<unk>", "A", "G", "C", "T", "<cls>", "<mask>", "<sep>")
DNA_LETTERS = ("A", "G", "C", "T")

UTRLM_ALPHABET = Alphabet(
    name="utr-lm",
    tokens=UTRLM_TOKENS,
    letters=DNA_LETTERS,
    case="upper",
    convert={"U": "T"},
    prepend_bos=True,
    append_eos=True,
)

assert UTRLM_ALPHABET.tok_to_idx == {
    "<pad>": 0,
    "<eos>": 1,
    "<unk>": 2,
    "A": 3,
    "G": 4,
    "C": 5,
    "T": 6,
    "<cls>": 7,
    "<mask>": 8,
    "<sep>": 9,
}

__all__ = ["UTRLM_TOKENS", "UTRLM_ALPHABET", "DNA_LETTERS"]
