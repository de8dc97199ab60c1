"""A submission's sequences, read and checked as the CLI reads a file, into the job's input file.

JSON sequences become a FASTA file; pasted text and uploads are kept as given (so ``rnalm predict -i``
on the same file gives the same CSV) and read with :func:`rnalm.io.seqio.iter_records` like the
CLI: a malformed file, an empty sequence or a repeated id is refused before the job is queued,
with the record and line named. Letters are the model's to judge, in the job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from rnalm.errors import RnalmError
from rnalm.io.seqio import FORMATS, iter_records, unique_ids
from rnalm.serve.config import Limits

SUFFIXES = {".fasta": "fasta", ".fa": "fasta", ".fna": "fasta", ".csv": "csv", ".tsv": "tsv", ".txt": None}


class InputError(RnalmError):
    """A submission that cannot become a job; the message names the record and what to do."""


def fasta_text(sequences: Sequence[dict]) -> str:
    """JSON ``[{"id": ..., "sequence": ...}]`` as FASTA, each id checked as a FASTA header can carry it."""
    lines = []
    for i, item in enumerate(sequences):
        rid, seq = item.get("id"), item.get("sequence")
        where = f"sequences[{i}]"
        if not isinstance(rid, str) or not rid or rid != rid.strip() or any(c.isspace() for c in rid):
            raise InputError(f"{where}.id must be a non-empty string without spaces, got {rid!r}")
        if not isinstance(seq, str) or not seq.strip():
            raise InputError(f"{where} ({rid!r}).sequence must be a non-empty string")
        if any(c in ">\n\r" for c in seq):
            raise InputError(
                f"{where} ({rid!r}).sequence: position {_first(seq, '>' + chr(10) + chr(13))}: "
                "a sequence is letters only"
            )
        lines.append(f">{rid}\n{seq.strip()}\n")
    return "".join(lines)


def _first(seq: str, bad: str) -> int:
    return next(i for i, c in enumerate(seq, 1) if c in bad)


def input_name(filename: Optional[str], fmt: Optional[str]) -> str:
    """The job's input file name: its format from ``fmt``, else the upload's suffix, else detected."""
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"input_format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt is None and filename:
        fmt = SUFFIXES.get(Path(filename.lower().removesuffix(".gz")).suffix)
    return f"input.{fmt}" if fmt else "input.txt"


def check(path: Path, limits: Limits, id_column: Optional[str] = None, seq_column: Optional[str] = None) -> int:
    """Read the input file as the CLI does and apply the limits; the number of records."""
    fmt = {".fasta": "fasta", ".csv": "csv", ".tsv": "tsv"}.get(path.suffix)
    n = 0
    try:
        for rec in unique_ids(iter_records(path, fmt, id_column, seq_column), path):
            n += 1
            if n > limits.sequences:
                raise InputError(f"more than {limits.sequences} sequences: split the input into several jobs")
            if len(rec.seq) > limits.length:
                raise InputError(
                    f"record {rec.id!r} (record {n}) is {len(rec.seq)} nt, longer than this server's limit of "
                    f"{limits.length} nt"
                )
    except InputError:
        raise
    except RnalmError as exc:
        raise InputError(str(exc).replace(str(path), "input")) from exc
    if n == 0:
        raise InputError("no sequences given")
    return n
