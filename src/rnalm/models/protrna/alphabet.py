"""ProtRNA's vocabulary: the 33 ESM-2 protein tokens followed by the RNA letters ``a u g c x``.

ProtRNA (``protrna/data.py``, ``Alphabet.from_architecture("ProtRNA")``) keeps ESM-2's embedding
rows and appends five *lower-case* RNA tokens after ``<mask>`` (ids 33..37), so RNA and protein
letters never collide (``U`` is selenocysteine, ``u`` is uracil). Its batch converter lower-cases
the input and maps ``t`` to ``u``.

One deliberate difference: the original maps *every* other character (``n``, ``-``, digits,
spaces...) to ``x`` without a word. rnalm raises an :class:`~rnalm.errors.InvalidSequenceError`
naming the record and position instead; pass ``unknown="x"`` to get the original behaviour
(``unknown="mask"``/``"unk"`` also work). ``x`` itself is one of the model's letters and is
accepted as input. Whitespace is removed, as everywhere in rnalm (the original turned it into ``x``).
"""

from __future__ import annotations

from rnalm.alphabet import Alphabet
from rnalm.models.esm2.alphabet import ESM2_TOKENS

#: ProtRNA's ``rnaseq_toks`` (``protrna/constants.py``), in embedding-row order after ``<mask>``.
RNA_LETTERS: tuple[str, ...] = ("a", "u", "g", "c", "x")

#: The 38 ProtRNA tokens in embedding-row order.
PROTRNA_TOKENS: tuple[str, ...] = ESM2_TOKENS + RNA_LETTERS

PROTRNA_ALPHABET = Alphabet(
    name="protrna",
    tokens=PROTRNA_TOKENS,
    letters=RNA_LETTERS,
    case="lower",
    convert={"t": "u"},
    prepend_bos=True,
    append_eos=True,
)

assert len(PROTRNA_ALPHABET) == 38 and PROTRNA_ALPHABET.get_idx("a") == 33 and PROTRNA_ALPHABET.mask_idx == 32

__all__ = ["RNA_LETTERS", "PROTRNA_TOKENS", "PROTRNA_ALPHABET"]
