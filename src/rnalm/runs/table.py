"""Labelled sequence tables and the generic CSV / TSV / FASTA readers behind every loader.

A :class:`Records` holds parallel lists (id, sequence, raw label, group) plus where each row came
from, so that every later error -- a non-numeric label, an invalid letter -- can name the file and
the row. Labels stay raw strings here; the task decides how to parse them.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator, Optional, Sequence

import numpy as np

from rnalm.errors import option
from rnalm.io.seqio import row_id
from rnalm.runs.errors import DataError

FASTA_EXT = (".fa", ".fasta", ".fna", ".fas")
CSV_EXT = (".csv",)
TSV_EXT = (".tsv", ".tab", ".txt")
#: label strings read as "no value".
MISSING = ("", "nan", "na", "n/a", "null", "none")


@dataclass
class Records:
    """Rows of one split. ``where[i]`` is ``"file:row"`` (1-based, header = row 1) for error messages."""

    ids: list[str] = field(default_factory=list)
    seqs: list[str] = field(default_factory=list)
    labels: list = field(default_factory=list)
    groups: list = field(default_factory=list)
    where: list[str] = field(default_factory=list)
    #: extra per-row columns (name -> values); ``subset`` splits the metrics and is a predictions.csv column.
    extra: dict[str, list] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.seqs)

    def append(self, rid: str, seq: str, label, where: str, group=None) -> None:
        self.ids.append(rid)
        self.seqs.append(seq)
        self.labels.append(label)
        self.groups.append(group)
        self.where.append(where)

    def subset(self, idx: Iterable[int]) -> "Records":
        idx = [int(i) for i in idx]
        return Records(
            ids=[self.ids[i] for i in idx],
            seqs=[self.seqs[i] for i in idx],
            labels=[self.labels[i] for i in idx],
            groups=[self.groups[i] for i in idx],
            where=[self.where[i] for i in idx],
            extra={k: [v[i] for i in idx] for k, v in self.extra.items()},
        )

    @staticmethod
    def join(parts: Sequence["Records"]) -> "Records":
        """The rows of ``parts`` in order; an extra column missing from a part is None on its rows."""
        out = Records()
        names = list(dict.fromkeys(k for r in parts for k in r.extra))
        for r in parts:
            out.ids += r.ids
            out.seqs += r.seqs
            out.labels += r.labels
            out.groups += r.groups
            out.where += r.where
        out.extra = {k: [v for r in parts for v in r.extra.get(k, [None] * len(r))] for k in names}
        return out

    @property
    def has_groups(self) -> bool:
        return any(g is not None for g in self.groups)


def detect_format(path: Path, fmt: Optional[str]) -> str:
    if fmt:
        return fmt
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    suffix = Path(name).suffix
    if suffix in FASTA_EXT:
        return "fasta"
    if suffix in CSV_EXT:
        return "csv"
    if suffix in TSV_EXT:
        return "tsv"
    raise DataError(
        f"{path}: cannot tell the format from the extension {suffix!r}; set data.format (csv, tsv or fasta)"
    )


def open_text(path: str | Path) -> IO[str]:
    """Open a text file, transparently gunzipping ``.gz``; clear errors for missing/empty files."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file")
    if p.is_dir():
        raise DataError(f"{p}: is a directory, expected a data file")
    if p.stat().st_size == 0:
        raise DataError(f"{p}: empty file")
    if p.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(p, "rb"), encoding="utf-8", newline="")
    return open(p, encoding="utf-8", newline="")


def iter_table(path: str | Path, delimiter: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """Header and ``(row_number, fields)`` of a delimited file; row numbers count the header as 1."""
    fh = open_text(path)
    reader = csv.reader(fh, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        fh.close()
        raise DataError(f"{path}: empty file (no header row)") from None
    except csv.Error as exc:
        fh.close()
        raise DataError(f"{path}: not a valid {'CSV' if delimiter == ',' else 'TSV'} file: {exc}") from exc
    header = [h.strip() for h in header]
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for row in reader:
                if not row or all(not c.strip() for c in row):
                    continue
                yield reader.line_num, row
        except csv.Error as exc:
            raise DataError(f"{path}:{reader.line_num}: malformed row: {exc}") from exc
        finally:
            fh.close()

    return header, rows()


def column_index(header: list[str], name: str, path: str | Path, role: str) -> int:
    try:
        return header.index(name)
    except ValueError:
        raise DataError(
            f"{path}: no {role} column {name!r}; the columns are {header}. Name one with {option(role + '_column')}"
        ) from None


def read_table(
    path: str | Path,
    delimiter: str,
    seq_column: str,
    label_column: Optional[str],
    id_column: Optional[str] = None,
    group_column: Optional[str] = None,
    extra_columns: Sequence[str] = (),
) -> Records:
    """Rows of a CSV/TSV file with the named columns (``label_column=None``: unlabelled input)."""
    header, rows = iter_table(path, delimiter)
    i_seq = column_index(header, seq_column, path, "seq")
    i_lab = column_index(header, label_column, path, "label") if label_column else None
    i_id = column_index(header, id_column, path, "id") if id_column else None
    i_grp = column_index(header, group_column, path, "group") if group_column else None
    i_extra = {c: column_index(header, c, path, "extra") for c in extra_columns}
    out = Records(extra={c: [] for c in extra_columns})
    need = max([i for i in (i_seq, i_lab, i_id, i_grp, *i_extra.values()) if i is not None])
    name = Path(path).name
    for line, row in rows:
        if len(row) <= need:
            raise DataError(
                f"{path}:{line}: row has {len(row)} fields, expected at least {need + 1} (header: {header})"
            )
        where = f"{name}:{line}"
        rid = row[i_id].strip() if i_id is not None else row_id(path, line)
        label = row[i_lab].strip() if i_lab is not None else None
        group = row[i_grp].strip() if i_grp is not None else None
        out.append(rid, row[i_seq], label, where, group)
        for c, i in i_extra.items():
            out.extra[c].append(row[i])
    if not len(out):
        raise DataError(f"{path}: no data rows after the header")
    return out


def iter_fasta(path: str | Path) -> Iterator[tuple[int, str, str]]:
    """``(line_of_header, header_without_>, sequence)`` for each record; multi-line sequences joined."""
    fh = open_text(path)
    header: Optional[str] = None
    start = 0
    chunks: list[str] = []
    with fh:
        for n, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if line.startswith(">"):
                if header is not None:
                    yield start, header, "".join(chunks)
                header, start, chunks = line[1:].strip(), n, []
            elif line.strip():
                if header is None:
                    raise DataError(f"{path}:{n}: sequence data before the first '>' header; not a FASTA file?")
                chunks.append(line.strip())
        if header is not None:
            yield start, header, "".join(chunks)


def read_fasta(path: str | Path, label_field: Optional[int]) -> Records:
    """FASTA records; the label is header field ``label_field`` (whitespace-split, 0 = the id)."""
    out = Records()
    name = Path(path).name
    for line, header, seq in iter_fasta(path):
        fields = header.split()
        if not fields:
            raise DataError(f"{path}:{line}: empty FASTA header")
        label = None
        if label_field is not None:
            if label_field >= len(fields):
                raise DataError(
                    f"{path}:{line}: header {header!r} has no field {label_field} for the label "
                    f"(expected '>ID LABEL'; set data.fasta_label_field)"
                )
            label = fields[label_field]
        out.append(fields[0], seq, label, f"{name}:{line}")
    if not len(out):
        raise DataError(f"{path}: no FASTA records")
    return out


def read_labelled(
    path: str | Path,
    fmt: Optional[str],
    seq_column: str,
    label_column: Optional[str],
    id_column: Optional[str] = None,
    group_column: Optional[str] = None,
    fasta_label_field: Optional[int] = 1,
) -> Records:
    """The generic reader: CSV/TSV with named columns or FASTA with the label in the header."""
    p = Path(path)
    kind = detect_format(p, fmt)
    if kind == "fasta":
        if group_column:
            raise DataError(f"{p}: data.group_column needs a CSV/TSV file, not FASTA")
        return read_fasta(p, fasta_label_field if label_column is not None else None)
    return read_table(p, "," if kind == "csv" else "\t", seq_column, label_column, id_column, group_column)


def parse_float(value, where: str, column: str) -> float:
    """A finite float, or a :class:`DataError` naming the row."""
    if value is None or (isinstance(value, str) and value.strip().lower() in MISSING):
        raise DataError(f"{where}: label in column {column!r} is missing ({value!r}); remove the row or fill it in")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{where}: label {value!r} in column {column!r} is not a number") from None
    if not np.isfinite(x):
        raise DataError(f"{where}: label {value!r} in column {column!r} is missing or not finite (NaN/inf)")
    return x
