"""The ESM-2 protein vocabulary, in the order fair-esm's ``Alphabet.from_architecture("ESM-1b")`` builds it.

``<cls> <pad> <eos> <unk>``, the 25 residue letters plus ``.`` and ``-`` (fair-esm's
``proteinseq_toks``), one ``<null_1>`` padding the list to a multiple of 8, then ``<mask>``: 33
tokens. Every ESM-2 checkpoint's embedding matrix has its rows in this order, and ProtRNA starts
its RNA vocabulary from it, so :data:`ESM2_TOKENS` is the single source of that order.

ESM-2 is a protein model: input is folded to upper case and no U/T conversion happens (``U`` is
selenocysteine here, not uracil).
"""

from __future__ import annotations

from rnalm.alphabet import Alphabet, pad_to_multiple_of_8

SPECIALS = ("<cls>", "<pad>", "<eos>", "<unk>")
#: fair-esm's ``proteinseq_toks["toks"]``: 20 amino acids, X, ambiguity/rare codes B U Z O, gap marks.
PROTEIN_LETTERS = (
    "L",
    "A",
    "G",
    "V",
    "S",
    "E",
    "R",
    "T",
    "I",
    "D",
    "P",
    "K",
    "Q",
    "N",
    "F",
    "Y",
    "M",
    "H",
    "W",
    "C",
    "X",
    "B",
    "U",
    "Z",
    "O",
    ".",
    "-",
)

#: The 33 ESM-2 tokens in embedding-row order.
ESM2_TOKENS: tuple[str, ...] = tuple(pad_to_multiple_of_8(SPECIALS + PROTEIN_LETTERS)) + ("<mask>",)

ESM2_ALPHABET = Alphabet(
    name="esm-2",
    tokens=ESM2_TOKENS,
    letters=PROTEIN_LETTERS,
    case="upper",
    convert={},
    prepend_bos=True,
    append_eos=True,
)

assert len(ESM2_TOKENS) == 33 and ESM2_TOKENS[31] == "<null_1>" and ESM2_TOKENS[32] == "<mask>"

__all__ = ["ESM2_TOKENS", "ESM2_ALPHABET", "PROTEIN_LETTERS", "SPECIALS"]
