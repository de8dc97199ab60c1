"""Sequence preparation shared by training and ``rnalm predict``: validation, truncation, one-hot.

Validation goes through the backbone's :meth:`Alphabet.normalize` (the one place letters are
normalised), so training and prediction accept exactly the same inputs; errors name the file and
row. Without a language model the RNA-FM alphabet's rules apply (A/C/G/U, T read as U, IUPAC
codes). One-hot vectors spread IUPAC ambiguity codes evenly over the bases they stand for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from rnalm.alphabet import Alphabet
from rnalm.errors import InvalidSequenceError, RnalmError, SequenceLengthError, option
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


@dataclass(frozen=True)
class Window:
    """The stretch of a sequence a task model reads, as its run was trained: at most ``max_nt``
    letters (``None``: any length), longer inputs kept at one end (``keep_5prime`` /
    ``keep_3prime``) or not read at all (``error``: the model cannot score them)."""

    max_nt: Optional[int]
    truncate: str = "error"
    #: letters per token (3 for codon models: only whole codons are read)
    k_mer: int = 1

    def describe(self) -> str:
        """``the 3'-most 100 nt`` / ``up to 160 nt (longer inputs are not scored)`` / ``any length``."""
        if self.max_nt is None:
            return "any length" + (" (whole codons)" if self.k_mer > 1 else "")
        end = {"keep_5prime": "5'", "keep_3prime": "3'"}.get(self.truncate)
        if end is None:
            return f"up to {self.max_nt:,} nt (longer inputs are not scored)"
        return f"the {end}-most {self.max_nt:,} nt"

    def to_dict(self) -> dict:
        return {"max_nt": self.max_nt, "truncate": self.truncate, "text": self.describe()}


def window_of(alphabet: Alphabet, truncate: str = "error", max_nt: Optional[int] = None) -> Window:
    """The window of a model reading ``alphabet`` (its own length limit) and, if the run set one, ``max_nt``."""
    k = alphabet.k_mer
    limit = alphabet.max_length * k if alphabet.max_length is not None else None
    if max_nt is not None:
        limit = max_nt if limit is None else min(limit, max_nt)
    return Window(limit, truncate, k)


@dataclass(frozen=True)
class Read:
    """One record as a task model reads it: the letters it reads (``None``: it cannot score the
    record), the input's length in letters, and a note for the user (empty when nothing was changed)."""

    seq: Optional[str]
    length: int
    note: str = ""

    @property
    def read(self) -> Optional[int]:
        return None if self.seq is None else len(self.seq)


#: ``--unknown`` values a task model accepts besides a letter: ``mask`` (the language model reads
#: ``<mask>``, one-hot input an IUPAC letter's bases, anything else as N).
MASK = "mask"


def check_unknown(alphabet: Alphabet, unknown: Optional[str]) -> Optional[str]:
    """``unknown`` if a task model reading ``alphabet`` can use it, else an error naming the option."""
    if unknown is None or unknown == MASK:
        return unknown
    letter = unknown.upper() if alphabet.case == "upper" else unknown.lower()
    letter = alphabet.convert.get(letter, letter)
    iupac = alphabet.k_mer == 1 and len(unknown) == 1 and unknown.upper() in _IUPAC
    if not (len(letter) == 1 and (letter in alphabet.letters or iupac)):
        raise RnalmError(
            f"{option('unknown', unknown)}: task models read a letter they cannot read as <mask> "
            f"({option('unknown', MASK)}) or as a replacement letter of the model "
            f"({', '.join(alphabet.letters)}, or an IUPAC code such as N)"
        )
    return unknown


def _replace(seq: str, alphabet: Alphabet, unknown: str) -> tuple[str, int, str]:
    """``seq`` with letters the alphabet lacks replaced (IUPAC letters kept under ``mask``): the
    letters, how many were replaced, and the first such letter with its position, for the note."""
    fill = "N" if unknown == MASK else unknown
    fill = fill.upper() if alphabet.case == "upper" else fill.lower()
    fill = alphabet.convert.get(fill, fill)
    out, n, first = [], 0, ""
    for i, c in enumerate("".join(seq.split()), 1):
        d = c.upper() if alphabet.case == "upper" else c.lower()
        d = alphabet.convert.get(d, d)
        if d not in alphabet.letters:
            if not (unknown == MASK and d.upper() in _IUPAC):
                d = fill
            n += 1
            first = first or f"{c!r} at {i}"
        out.append(d)
    return "".join(out), n, first


def read_record(seq: str, rid: str, alphabet: Alphabet, window: Window, unknown: Optional[str] = None) -> Read:
    """How a task model reads one record, never raising for the record's own content: a letter it
    cannot read (without ``unknown``) or a length it cannot score gives ``Read(None, ..., note)``;
    replaced letters and a window shorter than the input are said in the note."""
    notes = []
    try:
        norm = alphabet.normalize(seq, rid)
    except InvalidSequenceError as exc:
        length = len("".join(seq.split()))
        if unknown is None or alphabet.k_mer != 1:
            return Read(
                None,
                length,
                f"not scored: invalid letter {exc.char!r} at position {exc.position}; "
                f"pass {option('unknown', MASK)} (or a letter) to read it",
            )
        norm, n, first = _replace(seq, alphabet, unknown)
        how = "read as <mask>" if unknown == MASK else f"replaced by {unknown}"
        notes.append(f"{n} letter{'s' if n > 1 else ''} {how} (first {first})")
    length, k, limit = len(norm), window.k_mer, window.max_nt
    if limit is not None and length > limit:
        if window.truncate not in ("keep_5prime", "keep_3prime"):
            return Read(None, length, f"not scored: {length:,} nt is longer than the {limit:,} nt this model reads")
        keep = limit - limit % k
        norm = norm[:keep] if window.truncate == "keep_5prime" else norm[length - keep :]
    if k > 1 and len(norm) % k:
        cut = len(norm) % k
        norm = norm[: len(norm) - cut] if window.truncate != "keep_3prime" else norm[cut:]
    if len(norm) < length:
        end = "3'" if window.truncate == "keep_3prime" else "5'"
        notes.append(f"read the {end}-most {len(norm):,} of {length:,} nt")
    if not norm:
        return Read(None, length, "not scored: no whole codon")
    return Read(norm, length, "; ".join(notes))


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


__all__ = [
    "MASK",
    "ONEHOT_TABLE",
    "Read",
    "Window",
    "check_unknown",
    "default_alphabet",
    "onehot_batch",
    "prepare",
    "read_record",
    "window_of",
]
