"""Which letters ``rnalm fold`` reads, and what ``--unknown`` does with the others.

Folding reads A, C, G, U, T and N in any case (T is read as U). N is a base that pairs with
nothing: the language model reads it as ``<mask>`` and ViennaRNA never pairs it. Any other letter
(IUPAC codes such as R or Y, gaps ``-`` / ``.``) makes the record unfoldable unless ``--unknown``
names a replacement: ``N`` (also spelled ``mask`` or ``unk``: an unpaired base, in the model and in
ViennaRNA alike) or one of A, C, G, U. Replacing keeps positions: a structure always has the
input's length.
"""

from __future__ import annotations

import re
from typing import Optional

from rnalm.errors import RnalmError, option

#: Letters ``rnalm fold`` accepts (case-insensitive); T is read as U, N never pairs.
FOLD_LETTERS = "ACGUTN"
#: What ``--unknown`` may name: a replacement letter, or ``mask`` / ``unk`` (both read as N).
UNKNOWN_WORDS = {"mask": "N", "unk": "N"}
_BAD = re.compile(r"[^ACGUTNacgutn]")


class FoldInputError(RnalmError, ValueError):
    """A record cannot be folded (invalid letter, empty, too long, clashing output name)."""


def unknown_letter(unknown: Optional[str]) -> Optional[str]:
    """The replacement letter ``unknown`` stands for (``None``: no replacement), or an error naming it."""
    if unknown is None:
        return None
    letter = UNKNOWN_WORDS.get(unknown.lower(), unknown.upper())
    if len(letter) != 1 or letter not in "ACGUN":
        raise RnalmError(
            f"{option('unknown')} must be N (or mask / unk: an unpaired base) or one of A, C, G, U for "
            f"folding, got {unknown!r}"
        )
    return letter


def check_sequence(record_id: str, seq: str, unknown: Optional[str] = None) -> str:
    """The sequence upper-cased with T -> U (other letters replaced by ``unknown``'s letter), or a
    :class:`FoldInputError` naming the record, the letter and its position."""
    seq = "".join(seq.split())
    if not seq:
        raise FoldInputError(f"record {record_id!r}: empty sequence")
    letter = unknown_letter(unknown)
    bad = _BAD.search(seq)
    if bad and letter is None:
        raise FoldInputError(
            f"record {record_id!r}: invalid character {bad.group()!r} at position {bad.start() + 1} (1-based); "
            f"folding reads {', '.join(FOLD_LETTERS)} in any case (T is read as U, N never pairs); "
            f"{option('unknown', 'N')} reads other letters as N"
        )
    if bad:
        seq = _BAD.sub(letter or "N", seq)
    return seq.upper().replace("T", "U")


__all__ = ["FOLD_LETTERS", "FoldInputError", "UNKNOWN_WORDS", "check_sequence", "unknown_letter"]
