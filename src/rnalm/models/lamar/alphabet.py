"""LAMAR's single-nucleotide vocabulary, in the order of its ``tokenizer/single_nucleotide/vocab.txt``.

``<cls> <pad> <eos> <unk> <mask> A T C G N``: 10 tokens, DNA letters. LAMAR tokenises with
transformers' ``EsmTokenizer``, which reads one token per character, prepends ``<cls>`` and
appends ``<eos>`` (``model_max_length`` 1026 in the shipped tokenizer config; the pretraining
scripts raise it to 2050 or 4098).

Where LAMAR's tokenizer silently turns ``U`` (and every lower-case letter run) into ``<unk>``,
rnalm upper-cases the input and converts ``U`` to ``T`` explicitly; any other character is an
error naming the record and position (see :mod:`rnalm.alphabet`).
"""

from __future__ import annotations

from rnalm.alphabet import Alphabet

SPECIALS = ("<cls>", "<pad>", "<eos>", "<unk>", "<mask>")
DNA_LETTERS = ("A", "T", "C", "G", "N")

#: Embedding-row order of every LAMAR checkpoint.
LAMAR_TOKENS: tuple[str, ...] = SPECIALS + DNA_LETTERS

LAMAR_ALPHABET = Alphabet(
    name="lamar",
    tokens=LAMAR_TOKENS,
    letters=DNA_LETTERS,
    case="upper",
    convert={"U": "T"},
    prepend_bos=True,
    append_eos=True,
)

assert len(LAMAR_ALPHABET) == 10 and LAMAR_ALPHABET.padding_idx == 1 and LAMAR_ALPHABET.mask_idx == 4

__all__ = ["LAMAR_ALPHABET", "LAMAR_TOKENS", "DNA_LETTERS", "SPECIALS"]
