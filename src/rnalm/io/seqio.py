"""Streaming sequence readers (FASTA, gzip FASTA, CSV/TSV) shared by every command that reads sequences.

Inputs can hold millions of records, so nothing here reads a whole file: :func:`iter_records`
yields one :class:`Record` at a time and :class:`IdSet` remembers ids in 16 bytes each. Every
problem a user can cause -- an empty file, a file that is not FASTA, a header without an id, an
empty sequence, a duplicate id -- is a :class:`SequenceFileError` whose message names the file,
the record and its line, so a job over a large file fails with something a person can act on.
Letters are *not* validated here: that is the model alphabet's job (:meth:`rnalm.Alphabet.normalize`).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional, TextIO, Union

import numpy as np

from rnalm.errors import RnalmError, option

GZIP_MAGIC = b"\x1f\x8b"
FASTA_SUFFIXES = {".fa", ".fasta", ".fna", ".fas", ".ffn", ".frn", ".fsa", ".seq"}
CSV_SUFFIXES = {".csv"}
TSV_SUFFIXES = {".tsv", ".tab"}
FORMATS = ("fasta", "csv", "tsv")
#: Column names tried, case-insensitively and in this order, when no column is given.
#: A label is never an id: a table without an id column gets row ids (:func:`row_id`), the same in every command.
ID_COLUMNS = ("id", "name", "seq_id", "sequence_id", "identifier", "accession", "record")
SEQ_COLUMNS = ("sequence", "seq", "sequences", "rna", "dna", "utr", "nt")

PathLike = Union[str, os.PathLike]


class SequenceFileError(RnalmError, ValueError):
    """A sequence file is empty, malformed, or holds a record that cannot be used."""


class DuplicateIdError(SequenceFileError):
    """Two records share an id; outputs are keyed by id, so ids must be unique."""


@dataclass(frozen=True)
class Record:
    """One input sequence.

    ``id`` is the first word of a FASTA header (or the id column of a table), ``description``
    the rest of the header, ``index`` the 0-based position in the file and ``line`` the 1-based
    line where the record starts -- both only for messages and ordering.
    """

    id: str
    seq: str
    description: str = ""
    index: int = 0
    line: int = 0


# ---------------------------------------------------------------------------------- opening
def _base_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".gzip"):
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def open_text(path: PathLike) -> TextIO:
    """Open a plain or gzip-compressed text file (detected by its magic bytes, not its name)."""
    path = Path(path)
    if path.is_dir():
        raise SequenceFileError(f"{path}: is a directory, expected a sequence file")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
        raw = gzip.open(path, "rb") if magic == GZIP_MAGIC else open(path, "rb")
    except OSError as exc:
        raise SequenceFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


#: Characters of the first non-blank line that format detection reads at most.
SNIFF_LINE_CHARS = 1 << 20


def _first_line(path: Path) -> Optional[str]:
    """First non-blank line of the file, or None for an empty (or all-blank) file."""
    with open_text(path) as fh:
        try:
            # bounded reads: a gzip file of one endless line must not inflate whole just to be sniffed
            while line := fh.readline(SNIFF_LINE_CHARS):
                if line.strip():
                    return line
        except (UnicodeDecodeError, EOFError, OSError, gzip.BadGzipFile) as exc:
            raise SequenceFileError(f"{path}: not a text sequence file ({type(exc).__name__}: {exc})") from exc
    return None


def detect_format(path: PathLike) -> str:
    """``"fasta"``, ``"csv"`` or ``"tsv"``, from content first and file name second.

    A first line starting with ``>`` is FASTA whatever the name; otherwise a ``.csv``/``.tsv``
    name, or a tab/comma in the header line, makes it a table. Anything else is refused.
    """
    path = Path(path)
    first = _first_line(path)
    if first is None:
        raise SequenceFileError(f"{path}: empty file, no sequence records")
    if "\x00" in first:
        raise SequenceFileError(f"{path}: binary content, expected FASTA or CSV/TSV text")
    if first.lstrip().startswith(">"):
        return "fasta"
    suffix = _base_suffix(path)
    shown = first.strip()[:60]
    if suffix in FASTA_SUFFIXES:
        raise SequenceFileError(f"{path}: not FASTA: the first line {shown!r} does not start with '>'")
    if suffix in TSV_SUFFIXES:
        return "tsv"
    if suffix in CSV_SUFFIXES:
        return "csv"
    if "\t" in first:
        return "tsv"
    if "," in first:
        return "csv"
    raise SequenceFileError(
        f"{path}: not FASTA (the first line {shown!r} does not start with '>') and not a CSV/TSV "
        f"table with a header row"
    )


# ---------------------------------------------------------------------------------- readers
def iter_records(
    path: PathLike,
    fmt: Optional[str] = None,
    id_column: Optional[Union[str, int]] = None,
    seq_column: Optional[Union[str, int]] = None,
) -> Iterator[Record]:
    """Stream the records of a FASTA (plain or gzip) or CSV/TSV file.

    ``fmt`` is one of ``"fasta"``, ``"csv"``, ``"tsv"``; ``None`` detects it (see
    :func:`detect_format`). For tables, ``id_column``/``seq_column`` are header names or 0-based
    column numbers; by default the first header matching :data:`ID_COLUMNS` / :data:`SEQ_COLUMNS`
    is used, and a table with no id column gets row ids (:func:`row_id`). Raises
    :class:`SequenceFileError` for an empty file, malformed content, a record
    without an id or an empty sequence. Duplicate ids are not checked here (see
    :func:`unique_ids`).
    """
    path = Path(path)
    if fmt is None:
        fmt = detect_format(path)
    elif fmt not in FORMATS:
        raise SequenceFileError(f"unknown sequence file format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "fasta":
        yield from _iter_fasta(path)
    else:
        yield from _iter_table(path, "\t" if fmt == "tsv" else ",", id_column, seq_column)


def _iter_fasta(path: Path) -> Iterator[Record]:
    n = 0
    header: Optional[tuple[str, str, int]] = None
    chunks: list[str] = []

    def emit() -> Record:
        rid, desc, line = header  # type: ignore[misc]
        seq = "".join(chunks)
        if not seq:
            raise SequenceFileError(f"{path}: record {rid!r} (line {line}): empty sequence")
        return Record(rid, seq, desc, n, line)

    with open_text(path) as fh:
        lineno = 0
        try:
            for lineno, line in enumerate(fh, 1):
                if line.startswith(">"):
                    if header is not None:
                        yield emit()
                        n += 1
                    words = line[1:].strip().split(None, 1)
                    if not words:
                        raise SequenceFileError(f"{path}: line {lineno}: FASTA header without an id")
                    header = (words[0], words[1] if len(words) > 1 else "", lineno)
                    chunks = []
                elif header is None:
                    if line.strip():
                        raise SequenceFileError(
                            f"{path}: not FASTA: line {lineno} ({line.strip()[:60]!r}) comes before any '>' header"
                        )
                elif not line.startswith(";"):
                    chunks.append(line.strip())
        except (UnicodeDecodeError, EOFError, OSError, gzip.BadGzipFile) as exc:
            raise SequenceFileError(f"{path}: unreadable near line {lineno + 1}: {type(exc).__name__}: {exc}") from exc
    if header is None:
        raise SequenceFileError(f"{path}: empty file, no sequence records")
    yield emit()


def row_id(path: PathLike, line: int) -> str:
    """The id of the table row on 1-based line ``line`` (header = line 1) of a table without an id
    column: ``<file stem>_<data row>``, e.g. ``utrs_1``. Every command and the training loaders use it."""
    return f"{Path(path).stem}_{line - 1}"


def _pick_column(
    header: list[str],
    wanted: Optional[Union[str, int]],
    defaults: tuple[str, ...],
    role: str,
    option_name: str,
    path: Path,
    required: bool = True,
) -> Optional[int]:
    if wanted is not None:
        if isinstance(wanted, int) or (isinstance(wanted, str) and wanted.isdigit() and wanted not in header):
            i = int(wanted)
            if not 0 <= i < len(header):
                raise SequenceFileError(f"{path}: {role} column number {i} is out of range (0..{len(header) - 1})")
            return i
        if wanted not in header:
            raise SequenceFileError(
                f"{path}: no column {wanted!r} for the {role}; columns are {header}. "
                f"Name one with {option(option_name)}"
            )
        return header.index(wanted)
    lowered = [h.strip().lower() for h in header]
    for name in defaults:
        if name in lowered:
            return lowered.index(name)
    if not required:
        return None
    raise SequenceFileError(
        f"{path}: cannot tell which column holds the {role}; columns are {header}. Name it with {option(option_name)}"
    )


def _iter_table(
    path: Path, delimiter: str, id_column: Optional[Union[str, int]], seq_column: Optional[Union[str, int]]
) -> Iterator[Record]:
    with open_text(path) as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            header = next(reader, None)
            while header is not None and not any(h.strip() for h in header):
                header = next(reader, None)
            if header is None:
                raise SequenceFileError(f"{path}: empty file, no sequence records")
            header = [h.strip() for h in header]
            ic = _pick_column(header, id_column, ID_COLUMNS, "record id", "id_column", path, required=False)
            sc = _pick_column(header, seq_column, SEQ_COLUMNS, "sequence", "seq_column", path)
            assert sc is not None
            n = 0
            for row in reader:
                if not row or not any(c.strip() for c in row):
                    continue
                line = reader.line_num
                if len(row) <= max(sc, -1 if ic is None else ic):
                    raise SequenceFileError(
                        f"{path}: line {line}: {len(row)} field(s), expected {len(header)} as in the header"
                    )
                rid, seq = (row_id(path, line) if ic is None else row[ic].strip()), row[sc].strip()
                if not rid:
                    assert ic is not None
                    raise SequenceFileError(f"{path}: line {line}: empty record id in column {header[ic]!r}")
                if not seq:
                    raise SequenceFileError(f"{path}: record {rid!r} (line {line}): empty sequence")
                yield Record(rid, seq, "", n, line)
                n += 1
        except csv.Error as exc:
            kind = "TSV" if delimiter == chr(9) else "CSV"
            raise SequenceFileError(f"{path}: line {reader.line_num}: malformed {kind}: {exc}") from exc
        except (UnicodeDecodeError, EOFError, OSError, gzip.BadGzipFile) as exc:
            raise SequenceFileError(
                f"{path}: unreadable near line {reader.line_num + 1}: {type(exc).__name__}: {exc}"
            ) from exc
    if n == 0:
        raise SequenceFileError(f"{path}: no sequence records after the header")


# ---------------------------------------------------------------------------------- ids
def id_digest(record_id: str) -> bytes:
    """128-bit digest of an id; collisions among even 10^12 ids have probability below 10^-14."""
    return hashlib.blake2b(record_id.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class IdSet:
    """A set of strings kept as 16-byte digests in sorted numpy runs (about 16 bytes per id).

    Used to find duplicate ids and to remember which records an output already holds, for
    inputs far larger than a Python ``set`` of strings would comfortably hold. New digests go
    to a small Python set; when that fills it becomes a sorted run, and runs of similar size
    are merged (a log-structured layout), so adding and looking up stay logarithmic.
    """

    def __init__(self, items: Iterable[str] = (), buffer_size: int = 1 << 16) -> None:
        self._pending: set[bytes] = set()
        self._runs: list[np.ndarray] = []
        self._buffer_size = buffer_size
        self._len = 0
        for item in items:
            self.add(item)

    def __len__(self) -> int:
        return self._len

    def _contains_digest(self, d: bytes) -> bool:
        if d in self._pending:
            return True
        key = np.array([d], dtype="S16")
        for run in self._runs:
            if np.searchsorted(run, key, "left")[0] != np.searchsorted(run, key, "right")[0]:
                return True
        return False

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str) and self._contains_digest(id_digest(item))

    def add(self, item: str) -> bool:
        """Add ``item``; return False if it was already present."""
        d = id_digest(item)
        if self._contains_digest(d):
            return False
        self._pending.add(d)
        self._len += 1
        if len(self._pending) >= self._buffer_size:
            self._spill()
        return True

    def _spill(self) -> None:
        run = np.sort(np.array(sorted(self._pending), dtype="S16"))
        self._pending = set()
        self._runs.append(run)
        while len(self._runs) > 1 and len(self._runs[-2]) <= 2 * len(self._runs[-1]):
            b, a = self._runs.pop(), self._runs.pop()
            self._runs.append(np.sort(np.concatenate([a, b]), kind="stable"))

    @property
    def nbytes(self) -> int:
        """Approximate memory held, for diagnostics."""
        return sum(r.nbytes for r in self._runs) + len(self._pending) * 90


def unique_ids(records: Iterable[Record], path: Optional[PathLike] = None) -> Iterator[Record]:
    """Pass records through, raising :class:`DuplicateIdError` at the first repeated id."""
    seen = IdSet()
    where = f"{path}: " if path is not None else ""
    for rec in records:
        if not seen.add(rec.id):
            line = f" (line {rec.line})" if rec.line else ""
            raise DuplicateIdError(
                f"{where}duplicate record id {rec.id!r}{line}, record {rec.index + 1}: ids must be unique "
                f"because outputs are keyed by id"
            )
        yield rec


__all__ = [
    "Record",
    "iter_records",
    "detect_format",
    "open_text",
    "IdSet",
    "unique_ids",
    "id_digest",
    "SequenceFileError",
    "DuplicateIdError",
]
