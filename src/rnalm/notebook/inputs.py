"""What the notebook functions accept as sequences, turned into records once for all of them.

Accepted: a path to a FASTA/CSV/TSV file (read as the CLI reads it, same ids); one sequence as a
string; a list of sequences (ids ``seq_1``, ``seq_2``, ...); a list of ``(id, sequence)`` pairs; a
dict ``{id: sequence}``; a pandas Series (ids from its index); a pandas DataFrame (sequence column
by ``seq_column`` or the names the CLI tries, ids by ``id_column``, the names the CLI tries, or the
index when it is not the default ``0..n-1``). Ids must be unique, as in the CLI.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Union

import pandas as pd

from rnalm.errors import RnalmError, option
from rnalm.io.seqio import ID_COLUMNS, SEQ_COLUMNS, Record, iter_records, unique_ids

#: Letters that make a string a sequence rather than a file name (IUPAC nucleotides, gaps, whitespace).
SEQUENCE_LETTERS = frozenset("ACGUTRYSWKMBDHVN-.acgutryswkmbdhvn \n\t")

Sequences = Union[str, os.PathLike, Iterable[Any], Mapping[str, str], pd.Series, pd.DataFrame]


@dataclass
class Inputs:
    """Records to run on, and the input as a table (its own columns kept) to join results onto."""

    records: list[Record]
    #: one row per record, in order: the caller's DataFrame, or ``id`` and ``sequence`` columns.
    frame: pd.DataFrame


def _column(frame: pd.DataFrame, wanted: Optional[str], defaults: tuple[str, ...], name: str) -> Optional[str]:
    if wanted is not None:
        if wanted not in frame.columns:
            raise RnalmError(f"DataFrame has no column {wanted!r}; columns are {list(frame.columns)}")
        return wanted
    lowered = {str(c).lower(): c for c in frame.columns}
    found = next((lowered[d] for d in defaults if d in lowered), None)
    if found is None and name == "seq_column":
        raise RnalmError(
            f"cannot tell which DataFrame column holds the sequences; columns are {list(frame.columns)}. "
            f"Name it with {option('seq_column')}"
        )
    return found


def _from_frame(frame: pd.DataFrame, seq_column: Optional[str], id_column: Optional[str]) -> Inputs:
    sc = _column(frame, seq_column, SEQ_COLUMNS, "seq_column")
    ic = _column(frame, id_column, ID_COLUMNS, "id_column")
    if ic is not None:
        ids = [str(v) for v in frame[ic]]
    elif isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1:
        ids = [f"seq_{i + 1}" for i in range(len(frame))]
    else:
        ids = [str(v) for v in frame.index]
    seqs = [str(v) for v in frame[sc]]
    return Inputs(_checked(ids, seqs), frame.copy())


def _checked(ids: list[str], seqs: list[str]) -> list[Record]:
    records = []
    for i, (rid, seq) in enumerate(zip(ids, seqs)):
        if not seq.strip():
            raise RnalmError(f"record {rid!r}: empty sequence")
        records.append(Record(rid, seq, "", i, i + 1))
    return list(unique_ids(records))


def _looks_like_sequence(text: str) -> bool:
    return bool(text.strip()) and set(text) <= SEQUENCE_LETTERS


def as_records(
    data: Sequences,
    seq_column: Optional[str] = None,
    id_column: Optional[str] = None,
    input_format: Optional[str] = None,
) -> Inputs:
    """The records of ``data`` (see the module docstring) and the input as a DataFrame."""
    if isinstance(data, pd.DataFrame):
        return _from_frame(data, seq_column, id_column)
    if isinstance(data, pd.Series):
        return _from_frame(data.rename("sequence").to_frame(), "sequence", None)
    if isinstance(data, str) and _looks_like_sequence(data):
        data = [data]
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.is_file():
            raise RnalmError(f"{path}: no such file (pass sequences, a DataFrame, or a FASTA/CSV/TSV path)")
        records = list(unique_ids(iter_records(path, input_format, id_column, seq_column), path))
        frame = pd.DataFrame({"id": [r.id for r in records], "sequence": [r.seq for r in records]})
        return Inputs(records, frame)
    if isinstance(data, Mapping):
        ids, seqs = [str(k) for k in data], [str(v) for v in data.values()]
    else:
        items = list(data)
        if all(isinstance(x, str) for x in items):
            ids, seqs = [f"seq_{i + 1}" for i in range(len(items))], items
        elif all(isinstance(x, (tuple, list)) and len(x) == 2 for x in items):
            ids, seqs = [str(a) for a, _ in items], [str(b) for _, b in items]
        else:
            raise RnalmError("sequences must be strings, (id, sequence) pairs, a dict, a Series or a DataFrame")
    if not seqs:
        raise RnalmError("no sequences given")
    return Inputs(_checked(ids, seqs), pd.DataFrame({"id": ids, "sequence": seqs}))


__all__ = ["Inputs", "SEQUENCE_LETTERS", "Sequences", "as_records"]
