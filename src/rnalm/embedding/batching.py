"""Records to model inputs: validation, windows, and token-budget batches.

Two properties matter here:

* **Bounded memory.** Records are read through a look-ahead window of ``lookahead`` records;
  only that window is sorted by length and cut into batches, so memory depends on the window,
  never on the size of the input.
* **Deterministic batches.** The batches are a function of the input and the batching settings
  only -- not of which records an interrupted run already wrote. ``--resume`` recomputes a
  batch in full whenever any of its records is missing, so every record is computed in exactly
  the batch (same padding, same kernels) of an uninterrupted run and the outputs are identical.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional

import numpy as np
import torch

from rnalm.alphabet import Alphabet
from rnalm.embedding.windows import default_overlap, window_starts
from rnalm.errors import RnalmError, SequenceLengthError, option
from rnalm.io.seqio import Record
from rnalm.training.batching import Budget, least_padding_runs

LONG_MODES = ("error", "truncate", "window")


@dataclass
class RecordMeta:
    """What is known about a record before it is embedded (stored with its outputs)."""

    id: str
    index: int
    length: int  # letters after normalisation (nucleotides)
    n_rows: int  # per-token rows in the output (tokens: nucleotides, or codons for k_mer=3)
    windows: int = 1
    truncated: bool = False
    sequence_hash: str = ""

    def attrs(self) -> dict:
        return {
            "id": self.id,
            "index": self.index,
            "length": self.length,
            "n_rows": self.n_rows,
            "windows": self.windows,
            "truncated": self.truncated,
            "sequence_hash": self.sequence_hash,
        }


@dataclass
class Item:
    """One model input row: a whole record or one window of it (letter token ids only)."""

    record: int  # RecordMeta.index
    start: int  # offset of the window in tokens
    ids: np.ndarray


@dataclass
class Batch:
    items: list[Item]
    records: dict[int, RecordMeta] = field(default_factory=dict)

    @property
    def record_indices(self) -> set[int]:
        return {it.record for it in self.items}


@dataclass(frozen=True)
class Preparer:
    """Turns a :class:`Record` into its :class:`RecordMeta` and :class:`Item` list.

    ``long`` decides what happens past ``alphabet.max_length`` tokens: ``error``,
    ``truncate`` (keep the first ``max_length`` tokens) or ``window`` (see :mod:`.windows`).
    Letters are validated by the alphabet (the one place that does it), so the error names
    the record and the position.
    """

    alphabet: Alphabet
    long: str = "window"
    overlap: Optional[int] = None
    unknown: Optional[str] = None
    refuse_windows: Optional[str] = None  # reason windows are not allowed (e.g. attention maps)

    @property
    def window(self) -> Optional[int]:
        return self.alphabet.max_length

    def meta(self, rec: Record) -> tuple[RecordMeta, np.ndarray]:
        """Validate and tokenise ``rec``: its metadata and letter token ids (truncated if asked)."""
        a = self.alphabet
        norm = a.normalize(rec.seq, rec.id, self.unknown)
        if not norm:
            raise SequenceLengthError(f"record {rec.id!r}: empty sequence")
        ids = np.asarray(a.encode_normalized(norm, rec.id, self.unknown), dtype=np.int32)
        n = len(ids)
        digest = hashlib.blake2b(norm.encode("latin-1"), digest_size=16).hexdigest()
        meta = RecordMeta(rec.id, rec.index, len(norm), n, sequence_hash=digest)
        w = self.window
        if w is not None and n > w:
            if self.long == "error":
                a.check_length(len(norm), rec.id)  # raises with the standard message
            elif self.long == "truncate":
                ids = ids[:w]
                meta.n_rows = w
                meta.truncated = True
            else:
                if self.refuse_windows:
                    raise SequenceLengthError(
                        f"record {rec.id!r}: {n} tokens is longer than the model's {w}, so it would be "
                        f"embedded in windows, but {self.refuse_windows}; use {option('long', 'truncate')} "
                        f"or shorten it"
                    )
                meta.windows = len(window_starts(n, w, self.overlap_for(w)))
        return meta, ids

    def overlap_for(self, window: int) -> int:
        return default_overlap(window) if self.overlap is None else self.overlap

    def items(self, meta: RecordMeta, ids: np.ndarray) -> list[Item]:
        if meta.windows == 1:
            return [Item(meta.index, 0, ids)]
        w = self.window
        assert w is not None
        return [Item(meta.index, s, ids[s : s + w]) for s in window_starts(len(ids), w, self.overlap_for(w))]


def check_long_options(alphabet: Alphabet, long: str, overlap: Optional[int]) -> None:
    if long not in LONG_MODES:
        raise RnalmError(f"{option('long')} must be one of {', '.join(LONG_MODES)}, got {long!r}")
    w = alphabet.max_length
    if overlap is not None and (w is None or not 0 <= overlap < w):
        raise RnalmError(f"{option('window_overlap')} must be in [0, {w}) tokens for this model, got {overlap}")


def plan_batches(
    records: Iterable[tuple[RecordMeta, list[Item]]],
    tokens_per_batch: int,
    lookahead: int,
    specials: int,
    attention_cost: int = 0,
    attention_budget: int = 0,
) -> Iterator[Batch]:
    """Cut a stream of records into batches of at most ``tokens_per_batch`` padded tokens.

    Every ``lookahead`` records, their items are sorted by length (longest first, so a batch
    that does not fit in memory fails at once) and cut into runs with
    ``rows * padded_width <= tokens_per_batch`` (at least one row) and little padding (see
    :func:`_cut`). With ``attention_cost``
    (bytes per query-key pair, for runs that keep attention maps) the batch also keeps
    ``rows * width^2 * attention_cost <= attention_budget``. All windows of a record fall in
    the same look-ahead window, so a record is complete before the next window is read.
    """
    if tokens_per_batch < 1:
        raise RnalmError(f"{option('tokens_per_batch')} must be positive, got {tokens_per_batch}")
    chunk: list[tuple[RecordMeta, list[Item]]] = []
    for entry in records:
        chunk.append(entry)
        if len(chunk) >= lookahead:
            yield from _cut(chunk, tokens_per_batch, specials, attention_cost, attention_budget)
            chunk = []
    if chunk:
        yield from _cut(chunk, tokens_per_batch, specials, attention_cost, attention_budget)


def _cut(
    chunk: list[tuple[RecordMeta, list[Item]]], budget: int, specials: int, attention_cost: int, attention_budget: int
) -> Iterator[Batch]:
    """Split one look-ahead window into batches with the least padding (plus a per-batch cost).

    Items are sorted longest first (ties keep input order, so the plan is deterministic) and cut
    into the runs of :func:`~rnalm.training.batching.least_padding_runs` under the token (and
    attention) budget, with a per-batch cost of 1/32 of the token budget.
    """
    metas = {m.index: m for m, _ in chunk}
    items = [it for _, its in chunk for it in its]
    items.sort(key=lambda it: -len(it.ids))
    limits = Budget(tokens=budget, cells=attention_budget if attention_cost else None, cell_bytes=attention_cost)
    for a, b in least_padding_runs([len(it.ids) + specials for it in items], limits, budget / 32.0):
        batch = items[a:b]
        yield Batch(batch, {it.record: metas[it.record] for it in batch})


def batch_tensor(items: list[Item], alphabet: Alphabet) -> torch.Tensor:
    """``(B, T)`` token tensor: ``<cls>`` + letters + ``<eos>``, padded with ``<pad>``."""
    bos, eos = int(alphabet.prepend_bos), int(alphabet.append_eos)
    width = max(len(it.ids) for it in items) + bos + eos
    out = np.full((len(items), width), alphabet.padding_idx, dtype=np.int64)
    for row, it in enumerate(items):
        n = len(it.ids)
        if bos:
            out[row, 0] = alphabet.cls_idx
        out[row, bos : bos + n] = it.ids
        if eos:
            out[row, bos + n] = alphabet.eos_idx
    return torch.from_numpy(out)
