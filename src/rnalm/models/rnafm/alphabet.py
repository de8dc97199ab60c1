"""RNA-FM and mRNA-FM vocabularies, in the order rna-fm's ``fm.Alphabet.from_architecture`` builds them.

``<cls> <pad> <eos> <unk>``, the standard tokens, ``<null_i>`` padding to a multiple of 8, then
``<mask>``. RNA-FM reads RNA letters (T is converted to U here; the original maps T to ``<unk>``
silently). mRNA-FM reads codons: the input length must be a multiple of 3.
"""

from __future__ import annotations

from rnalm.alphabet import Alphabet, pad_to_multiple_of_8

SPECIALS = ("<cls>", "<pad>", "<eos>", "<unk>")
RNA_LETTERS = ("A", "C", "G", "U", "R", "Y", "K", "M", "S", "W", "B", "D", "H", "V", "N", "-")
#: Codon order of rna-fm's ``fm/constants.py`` (``rnaseq_3mer_toks``).
CODONS = (
    "GAG",
    "AAG",
    "GAA",
    "CUG",
    "CAG",
    "GAU",
    "AAA",
    "GUG",
    "GAC",
    "AUG",
    "GCC",
    "AAC",
    "GCU",
    "AAU",
    "AUC",
    "UUC",
    "GGA",
    "AUU",
    "GGC",
    "UUU",
    "CCA",
    "AGC",
    "GCA",
    "UCU",
    "CUC",
    "ACC",
    "CAA",
    "CCU",
    "UCC",
    "ACA",
    "UUG",
    "GUU",
    "CUU",
    "UAC",
    "ACU",
    "CCC",
    "UCA",
    "GUC",
    "GGU",
    "CAC",
    "AGU",
    "UAU",
    "AGA",
    "CAU",
    "GGG",
    "UGG",
    "UGC",
    "AGG",
    "UGU",
    "AUA",
    "CGC",
    "UUA",
    "GCG",
    "CGG",
    "CCG",
    "GUA",
    "CUA",
    "ACG",
    "UCG",
    "CGA",
    "CGU",
    "UGA",
    "UAA",
    "UAG",
)

RNA_FM_ALPHABET = Alphabet(
    name="rna-fm",
    tokens=tuple(pad_to_multiple_of_8(SPECIALS + RNA_LETTERS)) + ("<mask>",),
    letters=RNA_LETTERS,
    case="upper",
    convert={"T": "U"},
)

MRNA_FM_ALPHABET = Alphabet(
    name="mrna-fm",
    tokens=tuple(pad_to_multiple_of_8(SPECIALS + CODONS)) + ("<mask>",),
    letters=CODONS,
    case="upper",
    convert={"T": "U"},
    k_mer=3,
)

assert len(RNA_FM_ALPHABET) == 25 and len(MRNA_FM_ALPHABET) == 73
