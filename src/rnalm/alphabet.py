"""Token vocabularies and the one place where input letters are normalised.

Each published model fixes a vocabulary whose *order* is baked into its embedding matrix, so an
:class:`Alphabet` stores the full token list exactly as the original code builds it. Input
normalisation is shared and explicit: whitespace is removed, case is folded to what the model
expects, U/T are converted per model, and anything else is an :class:`InvalidSequenceError` that
names the record and the 1-based position -- never a silent ``<unk>`` (RNA-FM's original alphabet
maps ``T`` to ``<unk>`` without a word).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

import numpy as np
import torch

from rnalm.errors import InvalidSequenceError, SequenceLengthError

_WHITESPACE = re.compile(r"\s+")


def pad_to_multiple_of_8(tokens: Sequence[str]) -> list[str]:
    """fairseq/ESM pad the vocabulary with ``<null_i>`` tokens to a multiple of 8 entries."""
    out = list(tokens)
    for i in range((8 - len(out) % 8) % 8):
        out.append(f"<null_{i + 1}>")
    return out


@dataclass(frozen=True)
class Alphabet:
    """A model's vocabulary plus its input rules.

    Attributes:
        name: short identifier used in error messages and configs.
        tokens: every token in embedding-row order.
        letters: the sequence letters (k-mers when ``k_mer > 1``) the model accepts after
            normalisation; a subset of ``tokens``.
        case: ``"upper"`` or ``"lower"``: the case input is folded to.
        convert: single-letter substitutions applied after case folding (e.g. ``{"T": "U"}``).
        k_mer: 1 for nucleotide tokens, 3 for codon tokens (mRNA-FM).
        prepend_bos / append_eos: whether ``<cls>`` / ``<eos>`` wrap each sequence.
        max_length: the longest sequence in *tokens of letters* the model takes (``None`` =
            unbounded); set by :func:`rnalm.load` from the model config.
    """

    name: str
    tokens: tuple[str, ...]
    letters: tuple[str, ...]
    case: str = "upper"
    convert: dict[str, str] = field(default_factory=dict)
    k_mer: int = 1
    prepend_bos: bool = True
    append_eos: bool = True
    cls_token: str = "<cls>"
    pad_token: str = "<pad>"
    eos_token: str = "<eos>"
    unk_token: str = "<unk>"
    mask_token: str = "<mask>"
    max_length: Optional[int] = None

    def __post_init__(self) -> None:
        if len(set(self.tokens)) != len(self.tokens):
            raise ValueError(f"alphabet {self.name!r} has duplicate tokens")
        missing = [t for t in self.letters if t not in self.tok_to_idx]
        if missing:
            raise ValueError(f"alphabet {self.name!r}: letters {missing} are not tokens")

    # ----------------------------------------------------------------- vocabulary lookups
    @property
    def tok_to_idx(self) -> dict[str, int]:
        cache = self.__dict__.get("_tok_to_idx")
        if cache is None:
            cache = {t: i for i, t in enumerate(self.tokens)}
            object.__setattr__(self, "_tok_to_idx", cache)
        return cache

    def __len__(self) -> int:
        return len(self.tokens)

    def get_idx(self, tok: str) -> int:
        return self.tok_to_idx[tok]

    def get_tok(self, idx: int) -> str:
        return self.tokens[idx]

    @property
    def padding_idx(self) -> int:
        return self.tok_to_idx[self.pad_token]

    @property
    def cls_idx(self) -> int:
        return self.tok_to_idx[self.cls_token]

    @property
    def eos_idx(self) -> int:
        return self.tok_to_idx[self.eos_token]

    @property
    def unk_idx(self) -> int:
        return self.tok_to_idx[self.unk_token]

    @property
    def mask_idx(self) -> int:
        return self.tok_to_idx[self.mask_token]

    @property
    def special_indices(self) -> list[int]:
        """Ids that never stand for a nucleotide (used to exclude them from pooling)."""
        letters = set(self.letters)
        return [i for i, t in enumerate(self.tokens) if t not in letters]

    @property
    def letter_indices(self) -> list[int]:
        return [self.tok_to_idx[t] for t in self.letters]

    def with_max_length(self, max_length: Optional[int]) -> "Alphabet":
        return dataclasses.replace(self, max_length=max_length)

    def to_dict(self) -> dict:
        """JSON-serialisable description stored in rnalm's native config."""
        d = dataclasses.asdict(self)
        d["tokens"] = list(self.tokens)
        d["letters"] = list(self.letters)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Alphabet":
        d = dict(d)
        d["tokens"] = tuple(d["tokens"])
        d["letters"] = tuple(d["letters"])
        return cls(**d)

    # ----------------------------------------------------------------- normalisation
    def _table(self) -> tuple[np.ndarray, str]:
        """Byte lookup table: input byte -> normalised letter byte (0 = invalid)."""
        cache = self.__dict__.get("_byte_table")
        if cache is None:
            valid_chars = set("".join(self.letters))
            table = np.zeros(256, dtype=np.uint8)
            for b in range(32, 127):
                c = chr(b)
                c2 = c.upper() if self.case == "upper" else c.lower()
                c2 = self.convert.get(c2, c2)
                if c2 in valid_chars:
                    table[b] = ord(c2)
            allowed = "".join(sorted(valid_chars))
            cache = (table, allowed)
            object.__setattr__(self, "_byte_table", cache)
        return cache

    def normalize(self, seq: str, record_id: str = "<unnamed>", unknown: Optional[str] = None) -> str:
        """Return ``seq`` in the model's letters, or raise naming the record and position.

        Whitespace anywhere is removed, case is folded, U/T converted. With ``unknown`` set, an
        invalid character is replaced by that letter (e.g. ``"N"``); ``"mask"``/``"unk"`` are
        handled at tokenisation time by :meth:`encode` and appear here as ``"\\x00"``.
        """
        seq = _WHITESPACE.sub("", seq)
        table, allowed = self._table()
        raw = seq.encode("utf-8", errors="surrogatepass")
        if len(raw) != len(seq):  # non-ASCII input: map char by char to keep positions right
            arr = np.array([ord(c) if ord(c) < 256 else 0 for c in seq], dtype=np.int64)
            mapped = table[np.where(arr < 256, arr, 0)]
            mapped[arr >= 128] = 0
        else:
            mapped = table[np.frombuffer(raw, dtype=np.uint8)]
        bad = np.flatnonzero(mapped == 0)
        if bad.size:
            if unknown is None:
                pos = int(bad[0])
                raise InvalidSequenceError(record_id, pos + 1, seq[pos], self.name, allowed)
            mapped = mapped.copy()
            mapped[bad] = 0 if unknown in ("mask", "unk") else ord(self._replacement_letter(unknown))
        return mapped.tobytes().decode("latin-1")

    def _replacement_letter(self, unknown: str) -> str:
        c = unknown.upper() if self.case == "upper" else unknown.lower()
        c = self.convert.get(c, c)
        if len(c) != 1 or c not in "".join(self.letters):
            raise ValueError(
                f"unknown={unknown!r} is not a letter of alphabet {self.name!r}; "
                f"use 'mask', 'unk' or one of {self._table()[1]}"
            )
        return c

    def encode(self, seq: str, record_id: str = "<unnamed>", unknown: Optional[str] = None) -> list[int]:
        """Token ids of the sequence letters only (no ``<cls>``/``<eos>``)."""
        norm = self.normalize(seq, record_id, unknown)
        return self.encode_normalized(norm, record_id, unknown)

    def encode_normalized(self, norm: str, record_id: str = "<unnamed>", unknown: Optional[str] = None) -> list[int]:
        k = self.k_mer
        if len(norm) % k:
            raise SequenceLengthError(
                f"record {record_id!r}: length {len(norm)} is not a multiple of {k}; "
                f"alphabet {self.name!r} reads codons"
            )
        fill = self.mask_idx if unknown == "mask" else self.unk_idx
        t2i = self.tok_to_idx
        if k == 1:
            table = self.__dict__.get("_id_table")
            if table is None:
                table = np.full(256, -1, dtype=np.int64)
                for t in self.letters:
                    table[ord(t)] = t2i[t]
                table[0] = -2
                object.__setattr__(self, "_id_table", table)
            ids = table[np.frombuffer(norm.encode("latin-1"), dtype=np.uint8)]
            ids[ids == -2] = fill
            return ids.tolist()
        out = []
        for i in range(0, len(norm), k):
            codon = norm[i : i + k]
            idx = t2i.get(codon)
            if idx is None or codon not in self.letters:
                if unknown is None:  # only reachable for letters valid alone but not as codons
                    raise InvalidSequenceError(record_id, i + 1, codon, self.name, "codons")
                idx = fill
            out.append(idx)
        return out

    def num_tokens(self, norm_len: int) -> int:
        """Tokens a normalised sequence of ``norm_len`` letters occupies, specials included."""
        return norm_len // self.k_mer + int(self.prepend_bos) + int(self.append_eos)

    def check_length(self, n_letters: int, record_id: str) -> None:
        n = n_letters // self.k_mer
        if n == 0:
            raise SequenceLengthError(f"record {record_id!r}: empty sequence")
        if self.max_length is not None and n > self.max_length:
            unit = "codons" if self.k_mer > 1 else "nt"
            raise SequenceLengthError(
                f"record {record_id!r}: {n} {unit} is longer than the {self.max_length} "
                f"{unit} alphabet {self.name!r}'s model accepts; split it, or use `rnalm embed "
                f"--long window`"
            )

    def get_batch_converter(self, unknown: Optional[str] = None, check_length: bool = True) -> "BatchConverter":
        return BatchConverter(self, unknown=unknown, check_length=check_length)


class BatchConverter:
    """Turn ``[(id, sequence), ...]`` into ``(ids, strings, tokens)`` like fair-esm.

    ``tokens`` is a ``(B, T)`` int64 tensor padded with ``<pad>``; ``strings`` are the raw inputs
    as given. Sequences are validated (characters and length) before any tensor is built.
    """

    def __init__(self, alphabet: Alphabet, unknown: Optional[str] = None, check_length: bool = True) -> None:
        self.alphabet = alphabet
        self.unknown = unknown
        self.check_length = check_length

    def __call__(self, raw_batch: Iterable[tuple[str, str]]) -> tuple[list[str], list[str], torch.Tensor]:
        a = self.alphabet
        ids, strs, encoded = [], [], []
        for rid, seq in raw_batch:
            rid = str(rid)
            norm = a.normalize(seq, rid, self.unknown)
            if self.check_length:
                a.check_length(len(norm), rid)
            encoded.append(a.encode_normalized(norm, rid, self.unknown))
            ids.append(rid)
            strs.append(seq)
        return ids, strs, self.pad(encoded)

    def pad(self, encoded: Sequence[Sequence[int]]) -> torch.Tensor:
        a = self.alphabet
        bos, eos = int(a.prepend_bos), int(a.append_eos)
        width = max((len(e) for e in encoded), default=0) + bos + eos
        tokens = torch.full((len(encoded), width), a.padding_idx, dtype=torch.int64)
        for i, e in enumerate(encoded):
            if bos:
                tokens[i, 0] = a.cls_idx
            tokens[i, bos : bos + len(e)] = torch.as_tensor(e, dtype=torch.int64)
            if eos:
                tokens[i, bos + len(e)] = a.eos_idx
        return tokens
