"""``rnalm predict``'s table: the input's own columns, named predictions, ``length``, ``read``, ``note``.

Records are read with :func:`rnalm.io.seqio.iter_records` and :func:`~rnalm.io.seqio.unique_ids`
(ids the same as in every command) and predicted in chunks, each written as soon as it is
predicted, so a file of millions of records never sits in memory. A row keeps what the input row
held -- for a CSV/TSV every column in order, values as read, after an ``id`` column unless the
table's ids come from a column called ``id``; for FASTA ``id``, ``description`` (when a header has
one) and ``sequence`` -- and adds the model's prediction columns
(:mod:`rnalm.runs.prediction_columns`), then ``length`` (letters in the input), ``read`` (letters
the model read; empty when it could not score the record) and ``note`` (empty unless the record
was read differently from how it was written, or not scored, and why). One record the model
cannot score -- an invalid letter, a length the model does not take -- gets an empty prediction
and a note; ``strict`` stops at the first instead, naming it.

The trailing ``length,read,note`` columns are how an existing file is recognised as rnalm's
prediction output (``--overwrite`` replaces nothing else).
"""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, TextIO

import numpy as np

from rnalm.errors import option
from rnalm.io import seqio
from rnalm.io.output_guard import (
    OutputKind,
    claim_output,
    output_lock,
    remove_path,
    remove_stale_staging,
    staging_path,
    swap_into_place,
)
from rnalm.io.progress import Progress
from rnalm.runs.errors import DataError
from rnalm.runs.predict import Predictor
from rnalm.runs.prediction_columns import PredictionColumns
from rnalm.runs.sequences import Read, check_unknown, read_record

#: The last columns of every prediction table, in this order.
TAIL = ("length", "read", "note")
#: Added to a prediction column whose name an input column already has.
SUFFIX = "_predicted"
#: Records predicted together (and held in memory at once).
CHUNK = 1024
_TAIL_RE = [re.compile(rf"{name}(?:{SUFFIX})*") for name in TAIL]


def is_predictions_csv(path: Path) -> bool:
    """True for a CSV whose header ends in ``length,read,note`` (suffixed or not) as :func:`write_table`
    writes it, or is the ``id,prediction[,prob_*...],length`` of earlier rnalm versions."""
    if not path.is_file():
        return False
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        header = next(csv.reader([fh.readline(1 << 16)]), [])
    if len(header) > len(TAIL) and all(r.fullmatch(h) for r, h in zip(_TAIL_RE, header[-len(TAIL) :])):
        return True
    return (
        len(header) >= 3
        and header[:2] == ["id", "prediction"]
        and header[-1] == "length"
        and all(h.startswith("prob_") for h in header[2:-1])
    )


#: ``rnalm predict --output``: ``--overwrite`` replaces only a CSV this module wrote.
PREDICTIONS = OutputKind(
    "predictions", "a prediction CSV written by rnalm (header ending in length,read,note)", is_predictions_csv
)


# ------------------------------------------------------------------------------ reading the input
@dataclass(frozen=True)
class Source:
    """Where the records come from and how to read them (``rnalm predict``'s input options)."""

    path: Path
    fmt: str
    id_column: Optional[str] = None
    seq_column: Optional[str] = None

    @classmethod
    def open(
        cls,
        path: str | Path,
        fmt: Optional[str] = None,
        id_column: Optional[str] = None,
        seq_column: Optional[str] = None,
        default_seq_column: Optional[str] = None,
    ) -> "Source":
        """``default_seq_column`` (the run's) is read when the table has that column and none is named."""
        p = Path(path)
        kind = fmt or seqio.detect_format(p)
        if kind != "fasta" and seq_column is None and default_seq_column and default_seq_column in _header(p, kind):
            seq_column = default_seq_column
        return cls(p, kind, id_column, seq_column)

    @property
    def delimiter(self) -> str:
        return "\t" if self.fmt == "tsv" else ","

    def records(self) -> Iterator[seqio.Record]:
        return seqio.unique_ids(seqio.iter_records(self.path, self.fmt, self.id_column, self.seq_column), self.path)

    def where(self, rec: seqio.Record) -> str:
        return f"{self.path}: record {rec.id!r} (line {rec.line})"

    def survey(self, check: Optional[Callable[[seqio.Record], Any]] = None) -> tuple[int, bool]:
        """Records in the file and whether a FASTA header has a description: one pass that also
        finds a malformed file, a repeated id or a record ``check`` refuses before any output."""
        n, described = 0, False
        for rec in self.records():
            n += 1
            described = described or bool(rec.description)
            if check is not None:
                check(rec)
        return n, described

    def columns(self, described: bool) -> list[str]:
        if self.fmt == "fasta":
            return ["id", *(["description"] if described else []), "sequence"]
        return _header(self.path, self.fmt)

    def lead(self) -> list[str]:
        """``["id"]`` when the input has no ``id`` column holding the record ids (a table read by
        another id column, or by row ids ``<stem>_<row>``): every table starts with the record id."""
        if self.fmt == "fasta":
            return []
        if self.id_column is not None:
            return [] if self.id_column == "id" else ["id"]
        header = _header(self.path, self.fmt)
        lowered = [h.lower() for h in header]
        chosen = next((c for c in seqio.ID_COLUMNS if c in lowered), None)
        return [] if chosen == "id" and "id" in header else ["id"]

    def rows(self, described: bool) -> Iterator[tuple[list[str], seqio.Record]]:
        """Each record with the input row's own fields, in order (as many as the header names: a
        short row is padded, and a long one loses what is past the header, see :func:`fitted`)."""
        if self.fmt == "fasta":
            for rec in self.records():
                yield [rec.id, *([rec.description] if described else []), rec.seq], rec
            return
        with seqio.open_text(self.path) as fh:
            raw = (r for r in csv.reader(fh, delimiter=self.delimiter) if r and any(c.strip() for c in r))
            next(raw, None)  # the header
            for fields, rec in zip(raw, self.records()):
                yield fields, rec


def fitted(fields: list[str], width: int) -> tuple[list[str], str]:
    """``fields`` padded or cut to ``width`` columns, and a note when fields were cut."""
    if len(fields) <= width:
        return fields + [""] * (width - len(fields)), ""
    return fields[:width], f"{len(fields) - width} field(s) past the header's {width} columns left out"


def _header(path: Path, fmt: str) -> list[str]:
    with seqio.open_text(path) as fh:
        for row in csv.reader(fh, delimiter="\t" if fmt == "tsv" else ","):
            if row and any(c.strip() for c in row):
                return [h.strip() for h in row]
    return []


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


# ------------------------------------------------------------------------------ scoring
@dataclass
class Scorer:
    """A loaded task model and how its table is laid out: call :meth:`score` on a chunk of records."""

    predictor: Predictor
    columns: PredictionColumns
    unknown: Optional[str] = None
    strict: bool = False
    batch_size: int = 64

    def __post_init__(self) -> None:
        self.unknown = check_unknown(self.predictor.alphabet, self.unknown or self.predictor.unknown)
        self.window = self.predictor.window

    def read(self, rec: seqio.Record, where: str) -> Read:
        got = read_record(rec.seq, rec.id, self.predictor.alphabet, self.window, self.unknown)
        if got.seq is None and self.strict:
            raise DataError(
                f"{where}: {got.note.removeprefix('not scored: ')} ({option('strict')} stops at the first "
                f"record the model cannot score; without it such a record gets an empty prediction and a note)"
            )
        return got

    def score(self, records: Sequence[seqio.Record], where: Callable[[seqio.Record], str]) -> list[dict[str, Any]]:
        """One row per record: the prediction columns (``None`` where not scored), ``length``, ``read``, ``note``."""
        reads = [self.read(r, where(r)) for r in records]
        ok = [i for i, rd in enumerate(reads) if rd.seq is not None]
        raw: dict[str, Any] = {}
        if ok:
            raw = self.predictor.predict([str(reads[i].seq) for i in ok], self.batch_size)
            self.predictor.forget_features()
        named = self.columns.rename(raw)
        at = {i: j for j, i in enumerate(ok)}
        rows = []
        for i, rd in enumerate(reads):
            j = at.get(i)
            row = {c: (None if j is None else _plain(named[c][j])) for c in self.columns.names}
            row.update(length=rd.length, read=rd.read, note=rd.note)
            rows.append(row)
        return rows


def _plain(v: Any) -> Any:
    return float(v) if isinstance(v, (float, np.floating)) else (str(v) if isinstance(v, np.str_) else v)


def output_names(inputs: Sequence[str], produced: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Output names for ``produced`` columns (suffixed where an input column has the name) and the renamed ones."""
    taken, names, renamed = set(inputs), {}, []
    for c in produced:
        out = c
        while out in taken:
            out += SUFFIX
        taken.add(out)
        names[c] = out
        if out != c:
            renamed.append(c)
    return names, renamed


def renamed_message(renamed: Sequence[str], names: dict[str, str]) -> str:
    return "the input already has column(s) " + ", ".join(f"{c} (the prediction is {names[c]})" for c in renamed)


# ------------------------------------------------------------------------------ writing
def _cell(v: Any) -> Any:
    if v is None:
        return ""
    return f"{v:.6g}" if isinstance(v, float) else v


@dataclass
class Summary:
    """What a prediction run did: records, those with a note, those not scored, and the closing line."""

    records: int = 0
    noted: int = 0
    unscored: int = 0
    progress: Optional[Progress] = field(default=None, repr=False)

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        self.records += len(rows)
        self.noted += sum(1 for r in rows if r["note"])
        self.unscored += sum(1 for r in rows if r["read"] is None)
        if self.progress is not None:
            self.progress.update(len(rows))

    def line(self) -> str:
        """``1090 records in 3.2 s (340.6 records/s); 12 with notes (2 not scored)``."""
        head = self.progress.summary() if self.progress is not None else f"{self.records} records"
        tail = f" ({self.unscored} not scored)" if self.unscored else ""
        return f"{head}; {self.noted} with notes{tail}"


def write_table(
    scorer: Scorer,
    source: Source,
    out: TextIO,
    chunk_size: int = CHUNK,
    show: Optional[bool] = None,
    log: Callable[[str], None] = lambda _m: None,
    desc: str = "predict",
) -> Summary:
    """Predict every record of ``source`` into ``out`` (CSV), ``chunk_size`` records at a time."""
    total, described = source.survey((lambda rec: scorer.read(rec, source.where(rec))) if scorer.strict else None)
    inputs, lead = source.columns(described), source.lead()
    names, renamed = output_names(inputs, [*lead, *scorer.columns.names, *TAIL])
    if renamed:
        log(renamed_message(renamed, names))
    produced = [c for c in names if c not in lead]
    w = csv.writer(out, lineterminator="\n")
    w.writerow([*(names[c] for c in lead), *inputs, *(names[c] for c in produced)])
    with Progress(total, desc, show=show) as bar:
        summary = Summary(progress=bar)
        for chunk in chunks(source.rows(described), chunk_size):
            rows = scorer.score([rec for _, rec in chunk], source.where)
            for (fields, rec), row in zip(chunk, rows):
                fields, cut = fitted(fields, len(inputs))
                if cut:
                    row["note"] = "; ".join(n for n in (row["note"], cut) if n)
                w.writerow([*([rec.id] if lead else []), *fields, *(_cell(row[c]) for c in produced)])
            summary.add(rows)
    return summary


def predict_file(
    scorer: Scorer,
    source: Source,
    output: Optional[str | Path],
    overwrite: bool = False,
    chunk_size: int = CHUNK,
    show: Optional[bool] = None,
    log: Callable[[str], None] = lambda _m: None,
    desc: str = "predict",
) -> Summary:
    """:func:`write_table` to ``output`` (``None``: standard output). An existing ``output`` is an
    error unless ``overwrite``, which replaces only a prediction CSV rnalm wrote (never the input);
    the CSV is written aside and renamed into place, by one process at a time."""
    if output is None:
        return write_table(scorer, source, sys.stdout, chunk_size, show, log, desc)
    out = Path(output)
    claim_output(out, PREDICTIONS, overwrite, inputs=[source.path])
    out.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(out):
        claim_output(out, PREDICTIONS, overwrite, inputs=[source.path])
        remove_stale_staging(out, PREDICTIONS)
        tmp = staging_path(out)
        try:
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                summary = write_table(scorer, source, fh, chunk_size, show, log, desc)
            swap_into_place(tmp, out, PREDICTIONS)
        finally:
            remove_path(tmp)
    return summary


def predict_run_file(
    run_dir: str | Path,
    input_path: str | Path,
    output_path: Optional[str | Path],
    fmt: Optional[str] = None,
    seq_column: Optional[str] = None,
    id_column: Optional[str] = None,
    batch_size: int = 64,
    backbone: Optional[str] = None,
    device: Optional[str] = "auto",
    overwrite: bool = False,
    unknown: Optional[str] = None,
    strict: bool = False,
    show: Optional[bool] = False,
) -> Summary:
    """Predict every sequence of a FASTA/CSV/TSV file with a run of ``rnalm finetune`` into a CSV
    (the input's columns, the run's named prediction columns, ``length``, ``read``, ``note``)."""
    pred = Predictor(run_dir, backbone, lambda _m: None, device)
    source = Source.open(input_path, fmt, id_column, seq_column, pred.seq_column)
    scorer = Scorer(pred, pred.columns(), unknown, strict, batch_size)
    return predict_file(scorer, source, output_path, overwrite, show=show)


__all__ = [
    "CHUNK",
    "PREDICTIONS",
    "SUFFIX",
    "Scorer",
    "Source",
    "Summary",
    "TAIL",
    "chunks",
    "fitted",
    "is_predictions_csv",
    "output_names",
    "predict_file",
    "predict_run_file",
    "renamed_message",
    "write_table",
]
