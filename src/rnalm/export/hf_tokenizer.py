"""The tokenizer files of an exported directory, and what ``EsmTokenizer`` does not do that rnalm does.

``EsmTokenizer`` reads ``vocab.txt`` (one token per line, in embedding-row order) and splits input
on those tokens, so the exported vocabulary is the alphabet's token list as it is and the special
tokens are the alphabet's. What it does not do is rnalm's input normalisation (case folding, U/T
conversion, refusing unknown letters): :func:`tokenisation_notes` says so in the README, and rnalm's
:meth:`~rnalm.alphabet.Alphabet.normalize` gives the letters to feed it.
"""

from __future__ import annotations

from rnalm.alphabet import Alphabet

VOCAB_FILE = "vocab.txt"


def vocab_text(alphabet: Alphabet) -> str:
    """``vocab.txt``: every token, one per line, in embedding-row order."""
    return "\n".join(alphabet.tokens) + "\n"


def special_tokens(alphabet: Alphabet) -> dict[str, str]:
    """``EsmTokenizer`` keyword arguments naming the alphabet's special tokens."""
    return dict(
        cls_token=alphabet.cls_token,
        pad_token=alphabet.pad_token,
        eos_token=alphabet.eos_token,
        unk_token=alphabet.unk_token,
        mask_token=alphabet.mask_token,
    )


def tokenisation_notes(alphabet: Alphabet) -> list[str]:
    """What input ``EsmTokenizer`` must be given to produce the ids rnalm's alphabet produces."""
    letters = " ".join(alphabet.letters)
    case = "upper" if alphabet.case == "upper" else "lower"
    notes = [
        f"EsmTokenizer gives rnalm's token ids for sequences written in this model's letters ({letters}), "
        f"in {case} case; anything else becomes {alphabet.unk_token} without a word",
        f"rnalm folds input to {case} case"
        + (
            ", converts " + ", ".join(f"{a} to {b}" for a, b in sorted(alphabet.convert.items()))
            if alphabet.convert
            else ""
        )
        + " and refuses other characters; do the same before calling the tokenizer "
        + "(rnalm: `alphabet.normalize(seq)`)",
    ]
    if alphabet.k_mer > 1:
        notes.append(
            f"tokens are {alphabet.k_mer}-mers read from the first letter on: a sequence's length must be a "
            f"multiple of {alphabet.k_mer}"
        )
    return notes


__all__ = ["VOCAB_FILE", "special_tokens", "tokenisation_notes", "vocab_text"]
