"""Labels for records: a word or ``key=value`` field of a FASTA header, or a column of a table.

FASTA (``label_field``): a number ``K`` picks the K-th whitespace-separated word *after* the id
(``>URS00008314B2 rRNA from 13 species`` has label ``rRNA`` for ``K = 1``); any other text is a key,
and the label is the value of the header's ``key=value`` word (``>x1 type=tRNA`` with
``label_field="type"``). CSV/TSV (``label_column``): the named column, row for row. A record
without its label is an error naming the record, so a typo never silently drops records.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Optional

from rnalm.errors import RnalmError, option
from rnalm.io.seqio import Record, detect_format, iter_records, open_text, unique_ids


def header_label(record: Record, field: str) -> str:
    """The label ``field`` names in ``record``'s header (see the module docstring)."""
    words = record.description.split()
    if field.isdigit():
        k = int(field)
        if k < 1 or k > len(words):
            raise RnalmError(
                f"record {record.id!r}: {option('label_field', field)} asks for word {k} after the id, "
                f"but the header has {len(words)} ({record.description!r})"
            )
        return words[k - 1]
    for word in words:
        key, eq, value = word.partition("=")
        if eq and key == field and value:
            return value
    raise RnalmError(
        f"record {record.id!r}: no '{field}=...' in the header ({record.description!r}); "
        f"{option('label_field')} takes a key of key=value fields or a word number (1 = the word after the id)"
    )


def column_labels(path: Path, fmt: str, column: str) -> list[str]:
    """The values of ``column`` in the table ``path``, one per data row (blank rows skipped, as the
    sequence reader skips them, so row ``i`` is record ``i``)."""
    with open_text(path) as fh:
        rows = [row for row in csv.reader(fh, delimiter="\t" if fmt == "tsv" else ",") if any(c.strip() for c in row)]
    header = [h.strip() for h in rows[0]] if rows else []
    if column not in header:
        raise RnalmError(f"{path}: no column {column!r} for {option('label_column')}; columns are {header}")
    c = header.index(column)
    return [row[c].strip() if c < len(row) else "" for row in rows[1:]]


def read_labelled(
    path: str | Path,
    label_column: Optional[str] = None,
    label_field: Optional[str] = None,
    input_format: Optional[str] = None,
    id_column: Optional[str] = None,
    seq_column: Optional[str] = None,
) -> tuple[list[Record], list[str]]:
    """Records of ``path`` (read as every command reads it) and one label per record."""
    path = Path(path)
    if (label_column is None) == (label_field is None):
        raise RnalmError(f"give one of {option('label_column')} (CSV/TSV) or {option('label_field')} (FASTA headers)")
    records = list(unique_ids(iter_records(path, input_format, id_column, seq_column), path))
    fmt = input_format or detect_format(path)
    if label_field is not None:
        if fmt != "fasta":
            raise RnalmError(
                f"{path}: {option('label_field')} reads FASTA headers; name a column with {option('label_column')}"
            )
        labels = [header_label(r, str(label_field)) for r in records]
    else:
        if fmt == "fasta":
            raise RnalmError(f"{path}: is FASTA, which has no columns; use {option('label_field')}")
        values = column_labels(path, fmt, str(label_column))
        labels = [values[r.index] if r.index < len(values) else "" for r in records]
    empty = [r.id for r, lab in zip(records, labels) if not lab]
    if empty:
        raise RnalmError(f"{path}: record {empty[0]!r} has an empty label ({len(empty)} records in all)")
    return records, labels


__all__ = ["column_labels", "header_label", "read_labelled"]
