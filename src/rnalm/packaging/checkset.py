"""The fixed check subset: where its rows come from (a run's validation split, a corpus, or
``--check-data``) and the seeded draw that picks them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from rnalm.finetune.run_splits import validation_records
from rnalm.io.seqio import iter_records, unique_ids
from rnalm.packaging.check import read_check
from rnalm.runs.config import FinetuneConfig
from rnalm.runs.errors import RunDirError
from rnalm.runs.table import Records
from rnalm.shipped import ShippedModelError
from rnalm.structure.pairs import Structure, pairs_to_dot_bracket


def sample(n: int, k: int, seed: int, strata: Optional[Sequence] = None) -> list[int]:
    """``k`` of ``range(n)``, seeded, sorted; with ``strata`` every class appears when k allows."""
    rng = np.random.default_rng(seed)
    if k >= n:
        return list(range(n))
    order = [int(i) for i in rng.permutation(n)]
    if strata is None:
        return sorted(order[:k])
    chosen: list[int] = []
    seen: set = set()
    for i in order:  # first one of each class (in the seeded order), then fill
        if strata[i] not in seen:
            seen.add(strata[i])
            chosen.append(i)
    chosen = chosen[:k]
    for i in order:
        if len(chosen) >= k:
            break
        if i not in chosen:
            chosen.append(i)
    return sorted(chosen)


def read_sequences(path: Path) -> list[tuple[str, str]]:
    """(id, sequence) of every record of a FASTA/CSV file."""
    return [(r.id, r.seq) for r in unique_ids(iter_records(path), path)]


def check_rows_table(path: Path, columns: Sequence[str]) -> list[dict]:
    """The rows of a ``--check-data`` table, reduced to ``columns`` (all of which it must have)."""
    rows = read_check(path)
    if rows and not set(columns) <= set(rows[0]):
        raise ShippedModelError(f"{path}: --check-data needs the columns {', '.join(columns)}")
    return [{c: r[c] for c in columns} for r in rows]


def valid_records(source: Path) -> tuple[Records, FinetuneConfig, str]:
    """The run's validation split, exactly as ``rnalm finetune`` made it (Records, raw labels)."""
    try:
        return validation_records(source)
    except RunDirError as exc:
        raise ShippedModelError(
            f"{exc}; ship a hold-out run (its validation split is the check source) or pass --check-data FILE"
        ) from None


def number_duplicate_ids(rows: list[dict]) -> None:
    """Ids must be unique in check.csv: the second ``x`` becomes ``x_2``, and so on (in place)."""
    ids = [r["id"] for r in rows]
    if len(set(ids)) == len(ids):
        return
    seen: dict = {}
    for r in rows:
        k = seen[r["id"]] = seen.get(r["id"], 0) + 1
        if k > 1:
            r["id"] = f"{r['id']}_{k}"


def label_to_dot_bracket(label: Any, seq: str, rid: str) -> str:
    """A structure label as the run's data loader gives it, as dot-bracket."""
    if isinstance(label, Structure):
        return label.dot_bracket()
    if hasattr(label, "pairs"):
        return pairs_to_dot_bracket(list(label.pairs), len(seq))
    if isinstance(label, str) and len(label) == len(seq):
        return label
    if isinstance(label, (list, tuple)):
        return pairs_to_dot_bracket([tuple(p) for p in label], len(seq))
    raise ShippedModelError(
        f"record {rid!r}: cannot read its structure label ({type(label).__name__}); "
        f"pass --check-data with id,sequence,structure (dot-bracket) or a ct/bpseq/dbn file"
    )


__all__ = [
    "check_rows_table",
    "label_to_dot_bracket",
    "number_duplicate_ids",
    "read_sequences",
    "sample",
    "valid_records",
]
