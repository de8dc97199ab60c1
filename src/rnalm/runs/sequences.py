"""Sequence preparation shared by training and ``rnalm predict``: validation, truncation, one-hot.

Validation goes through the backbone's :meth:`Alphabet.normalize` (the one place letters are
normalised), so training and prediction accept exactly the same inputs; errors name the file and
row. Without a language model the RNA-FM alphabet's rules apply (A/C/G/U, T read as U, IUPAC
codes). One-hot vectors spread IUPAC ambiguity codes evenly over the bases they stand for.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch

from rnalm.alphabet import Alphabet
from rnalm.errors import InvalidSequenceError, SequenceLengthError
from rnalm.models.rnafm.alphabet import RNA_FM_ALPHABET
from rnalm.runs.errors import DataError

_IUPAC = {
    "A": "A",
    "C": "C",
    "G": "G",
    "U": "U",
    "T": "U",
    "R": "AG",
    "Y": "CU",
    "K": "GU",
    "M": "AC",
    "S": "CG",
    "W": "AU",
    "B": "CGU",
    "D": "AGU",
    "H": "ACU",
    "V": "ACG",
    "N": "ACGU",
}


def _onehot_table() -> np.ndarray:
    table = np.zeros((256, 4), dtype=np.float32)
    for letter, bases in _IUPAC.items():
        row = np.zeros(4, dtype=np.float32)
        for b in bases:
            row["ACGU".index(b)] = 1.0 / len(bases)
        table[ord(letter)] = row
        table[ord(letter.lower())] = row
    return table


ONEHOT_TABLE = _onehot_table()


def default_alphabet() -> Alphabet:
    """Input rules when there is no language model: RNA-FM's letters (nucleotides + IUPAC)."""
    return RNA_FM_ALPHABET


def _lenient(seq: str, rid: str, alphabet: Alphabet, exc: InvalidSequenceError) -> str:
    """``seq`` normalised by the alphabet's rules, keeping IUPAC letters it lacks (for ``unknown="mask"``)."""
    out = []
    for c in "".join(seq.split()):
        c = c.upper() if alphabet.case == "upper" else c.lower()
        c = alphabet.convert.get(c, c)
        if c not in alphabet.letters and c.upper() not in _IUPAC:
            raise exc
        out.append(c)
    return "".join(out)


def prepare(
    seqs: Sequence[str],
    ids: Sequence[str],
    where: Sequence[str],
    alphabet: Alphabet,
    truncate: str = "error",
    max_nt: Optional[int] = None,
    unknown: Optional[str] = None,
) -> list[str]:
    """Normalised sequences, truncated to ``max_nt`` letters as ``truncate`` says, or a clear error.

    ``unknown="mask"`` keeps IUPAC letters outside the alphabet (e.g. N for a DNA-letter model) in
    the returned strings; :class:`~rnalm.runs.backbones.LMBackbone` tokenises them as
    ``<mask>``. Anything that is not an IUPAC letter is still an error."""
    k = alphabet.k_mer
    limit = None
    if alphabet.max_length is not None:
        limit = alphabet.max_length * k
    if max_nt is not None:
        limit = max_nt if limit is None else min(limit, max_nt)
    out = []
    for seq, rid, w in zip(seqs, ids, where):
        try:
            try:
                norm = alphabet.normalize(seq, rid)
            except InvalidSequenceError as exc:
                if unknown != "mask" or alphabet.k_mer != 1:
                    raise
                norm = _lenient(seq, rid, alphabet, exc)
        except InvalidSequenceError as exc:
            raise DataError(f"{w}: {exc}") from None
        if not norm:
            raise DataError(f"{w}: record {rid!r} has an empty sequence")
        if limit is not None and len(norm) > limit:
            if truncate == "error":
                raise DataError(
                    f"{w}: record {rid!r} is {len(norm)} nt, longer than the {limit} nt allowed "
                    f"(backbone limit or data.max_length); set data.truncate=keep_3prime or keep_5prime"
                )
            keep = limit - limit % k
            norm = norm[:keep] if truncate == "keep_5prime" else norm[len(norm) - keep :]
        if k > 1 and len(norm) % k:
            if truncate == "error":
                try:
                    alphabet.encode_normalized(norm, rid)
                except SequenceLengthError as exc:
                    raise DataError(f"{w}: {exc}") from None
            norm = norm[: len(norm) - len(norm) % k] if truncate == "keep_5prime" else norm[len(norm) % k :]
        out.append(norm)
    return out


def onehot_batch(
    seqs: Sequence[str], width: Optional[int] = None, pad_side: str = "right"
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, L, 4)`` float one-hot and ``(B, L)`` bool mask of real letters (padding elsewhere)."""
    width = max(len(s) for s in seqs) if width is None else width
    x = np.zeros((len(seqs), width, 4), dtype=np.float32)
    mask = np.zeros((len(seqs), width), dtype=bool)
    for i, s in enumerate(seqs):
        if len(s) > width:
            raise DataError(f"sequence of {len(s)} nt is longer than the model's fixed input length {width}")
        codes = np.frombuffer(s.encode("latin-1"), dtype=np.uint8)
        start = 0 if pad_side == "right" else width - len(s)
        x[i, start : start + len(s)] = ONEHOT_TABLE[codes]
        mask[i, start : start + len(s)] = True
    return torch.from_numpy(x), torch.from_numpy(mask)


__all__ = ["ONEHOT_TABLE", "default_alphabet", "onehot_batch", "prepare"]
