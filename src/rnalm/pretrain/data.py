"""Pretraining corpus: read, validate, filter, deduplicate, split, and batch by token budget.

The corpus is read record by record (FASTA/CSV through :mod:`rnalm.io.seqio`); the normalised
sequences are then held in memory (strings: a few hundred MB for millions of UTRs). Records that
cannot be used are either an error or a *counted* skip, as the config says, and the counts are part
of the run's report. The validation split is a hash of the sequence, so it is stable across runs,
corpora orderings and process counts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Annotated, Literal, Optional

from pydantic import Field

from rnalm.alphabet import Alphabet
from rnalm.errors import InvalidSequenceError, RnalmError
from rnalm.io.seqio import iter_records
from rnalm.pretrain.labels import StructureLabel, parse_header
from rnalm.training.batching import Budget, budget_batches


@dataclass
class CorpusConfig:
    """The ``data`` section of a pretraining config; the annotations are its schema (ranges included)."""

    paths: list[str] = field(default_factory=list)
    #: for CSV/TSV inputs; None = auto-detect.
    seq_column: Optional[str] = None
    id_column: Optional[str] = None
    min_length: Annotated[int, Field(ge=1)] = 10
    #: in letters; None = the model's maximum.
    max_length: Optional[Annotated[int, Field(ge=1)]] = None
    #: what to do with sequences longer than max_length: "skip", "truncate" or "error".
    long: Literal["skip", "truncate", "error"] = "skip"
    #: what to do with sequences holding letters the alphabet lacks: "error" or "skip".
    invalid: Literal["error", "skip"] = "error"
    dedup: bool = True
    valid_fraction: Annotated[float, Field(ge=0, lt=1)] = 0.05
    #: read ``>id|structure|mfe`` labels from FASTA headers when present.
    header_labels: bool = True


@dataclass
class Example:
    id: str
    seq: str
    header_label: Optional[StructureLabel] = None


@dataclass
class CorpusReport:
    read: int = 0
    kept_train: int = 0
    kept_valid: int = 0
    duplicates: int = 0
    too_short: int = 0
    too_long_skipped: int = 0
    truncated: int = 0
    invalid_skipped: int = 0

    def summary(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in vars(self).items())


def is_validation(seq: str, fraction: float) -> bool:
    h = int.from_bytes(hashlib.blake2b(seq.encode(), digest_size=8).digest(), "big")
    return h / 2**64 < fraction


def load_corpus(
    cfg: CorpusConfig, alphabet: Alphabet, model_max_length: int
) -> tuple[list[Example], list[Example], CorpusReport]:
    if not cfg.paths:
        raise RnalmError("pretraining corpus: no input paths (data.paths)")
    if cfg.long not in ("skip", "truncate", "error") or cfg.invalid not in ("skip", "error"):
        raise RnalmError("data.long must be skip|truncate|error and data.invalid skip|error")
    max_len = min(cfg.max_length or model_max_length, model_max_length) * alphabet.k_mer
    rep = CorpusReport()
    seen: set[bytes] = set()
    train: list[Example] = []
    valid: list[Example] = []
    for path in cfg.paths:
        for rec in iter_records(path, id_column=cfg.id_column, seq_column=cfg.seq_column):
            rep.read += 1
            label = parse_header(rec.id) if cfg.header_labels else None
            try:
                seq = alphabet.normalize(rec.seq, rec.id)
            except InvalidSequenceError:
                if cfg.invalid == "error":
                    raise
                rep.invalid_skipped += 1
                continue
            if len(seq) < cfg.min_length:
                rep.too_short += 1
                continue
            if len(seq) > max_len:
                if cfg.long == "error":
                    raise RnalmError(
                        f"{path}: record {rec.id!r} has {len(seq)} letters, more than the "
                        f"maximum {max_len} (set data.long=skip or truncate)"
                    )
                if cfg.long == "skip":
                    rep.too_long_skipped += 1
                    continue
                seq = seq[:max_len]
                label = None
                rep.truncated += 1
            if alphabet.k_mer > 1:
                seq = seq[: len(seq) - len(seq) % alphabet.k_mer]
            if cfg.dedup:
                key = hashlib.blake2b(seq.encode(), digest_size=16).digest()
                if key in seen:
                    rep.duplicates += 1
                    continue
                seen.add(key)
            ex = Example(rec.id.split("|")[0] if label else rec.id, seq, label)
            (valid if is_validation(seq, cfg.valid_fraction) else train).append(ex)
    rep.kept_train, rep.kept_valid = len(train), len(valid)
    if not train:
        raise RnalmError(f"pretraining corpus is empty after filtering ({rep.summary()})")
    return train, valid, rep


class MicroBatches:
    """Maps the global micro-batch counter to example indices, epoch by epoch (each epoch's
    token-budget batches are a function of the seed and the epoch only)."""

    def __init__(self, lengths: list[int], tokens_per_batch: int, max_batch: int, seed: int) -> None:
        self.lengths, self.seed = lengths, seed
        self.budget = Budget(tokens=tokens_per_batch, max_rows=max_batch)
        self._epochs: dict[int, list[list[int]]] = {}

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        if epoch not in self._epochs:
            seed = self.seed * 1_000_003 + epoch
            self._epochs = {epoch: budget_batches(self.lengths, self.budget, shuffle=True, seed=seed)}
        return self._epochs[epoch]

    def __getitem__(self, m: int) -> tuple[int, list[int]]:
        n = len(self.epoch_batches(0))
        epoch, i = divmod(m, n)
        return epoch, self.epoch_batches(epoch)[i]
