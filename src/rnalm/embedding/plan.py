"""Planning an embedding run: batching settings, what the output already holds, this rank's work,
and the validation pass over the whole input that precedes any write."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Iterator

import torch

from rnalm.embedding.batching import Item, Preparer, RecordMeta
from rnalm.embedding.options import DEFAULT_LOOKAHEAD, DEFAULT_TOKENS_PER_BATCH, EmbedOptions
from rnalm.embedding.storage import make_store
from rnalm.embedding.store import OutputError, Store
from rnalm.errors import option
from rnalm.io.seqio import IdSet, Record, unique_ids


def read_old_metadata(target: Path, storage: str) -> dict[str, Any]:
    """The metadata of the interrupted run being resumed."""
    st = make_store(target, storage)
    try:
        return st.read_metadata()
    finally:
        st.close()


def batching_settings(opts: EmbedOptions, old_meta: dict[str, Any], device: torch.device) -> tuple[int, int]:
    """(tokens per batch, look-ahead): the options, else the interrupted run's (resuming with its
    batches is what makes the finished output identical to an uninterrupted run's), else defaults."""
    tokens_per_batch = (
        opts.tokens_per_batch or old_meta.get("tokens_per_batch") or DEFAULT_TOKENS_PER_BATCH.get(device.type, 8192)
    )
    lookahead = opts.lookahead or old_meta.get("lookahead") or DEFAULT_LOOKAHEAD
    return tokens_per_batch, lookahead


class DoneRecords:
    """Ids already complete in the output, and (id, sequence digest) pairs to catch changed inputs."""

    def __init__(self) -> None:
        self.ids = IdSet()
        self.pairs = IdSet()

    def read(self, store: Store) -> None:
        try:
            for a in store.complete_records():
                self.ids.add(a["id"])
                self.pairs.add(f"{a['id']}\0{a.get('sequence_hash', '')}")
        finally:
            store.close()


def validate_input(
    records: Iterable[Record],
    input_path: Path,
    preparer: Preparer,
    done: DoneRecords,
    rank: int,
    world: int,
    target: Path,
) -> tuple[int, int]:
    """One streaming pass over the whole input: every error surfaces before any output changes.

    Returns this rank's record count and how many of them the output already holds.
    """
    n_mine = n_mine_done = 0
    for rec in unique_ids(records, input_path):
        meta, _ = preparer.meta(rec)
        if meta.id in done.ids and f"{meta.id}\0{meta.sequence_hash}" not in done.pairs:
            raise OutputError(
                f"record {meta.id!r}: {target} holds an embedding of a different sequence under "
                f"this id; use a new output path or {option('overwrite')}"
            )
        if rec.index % world == rank:
            n_mine += 1
            n_mine_done += meta.id in done.ids
    return n_mine, n_mine_done


def rank_work(
    records: Iterable[Record], preparer: Preparer, rank: int, world: int
) -> Iterator[tuple[RecordMeta, list[Item]]]:
    """This rank's records (input position ``i`` with ``i % world == rank``) as model inputs."""
    for rec in records:
        if rec.index % world != rank:
            continue
        meta, ids = preparer.meta(rec)
        yield meta, preparer.items(meta, ids)
