"""Pretraining corpus from the public datasets in ``../shared/data``: every sequence, deduplicated.

Each dataset's layout is described once in :data:`SOURCES` (file, how to read its sequences).
Validation files are left out by default, so that sequences later used to *evaluate* fine-tuned
models were never seen during pretraining; ``include_valid=True`` adds them. Sequences are
written as RNA letters (T -> U) to a FASTA whose ids say where each record came from.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from rnalm.errors import RnalmError
from rnalm.io.output_guard import (
    OutputKind,
    claim_output,
    output_lock,
    remove_path,
    remove_stale_staging,
    staging_path,
    swap_into_place,
)
from rnalm.io.seqio import open_text


def _csv_column(column: str, delimiter: str = ",") -> Callable[[Path], Iterator[str]]:
    def read(path: Path) -> Iterator[str]:
        with open(path, newline="") as fh:
            for row in csv.DictReader(fh, delimiter=delimiter):
                yield row[column]

    return read


def _fasta(path: Path) -> Iterator[str]:
    """Sequences of a FASTA file, plain or gzip-compressed."""
    seq: list[str] = []
    with open_text(path) as fh:
        for line in fh:
            line = line.strip()
            if line.startswith(">"):
                if seq:
                    yield "".join(seq)
                seq = []
            elif line:
                seq.append(line)
    if seq:
        yield "".join(seq)


def _jsonl(path: Path) -> Iterator[str]:
    with open(path) as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)["sequence"]


def _cao(path: Path) -> Iterator[str]:
    """Tab-separated ``sequence<TAB>annotation`` lines, with a few FASTA-style records mixed in."""
    with open(path) as fh:
        for line in fh:
            first = line.strip().split("\t")[0]
            if first and not first.startswith(">") and set(first.upper()) <= set("ACGTUN"):
                yield first


@dataclass(frozen=True)
class Source:
    path: str
    read: Callable[[Path], Iterator[str]]
    validation: bool = False


SOURCES: tuple[Source, ...] = (
    Source("utr5_te_hek/train.csv", _csv_column("seq")),
    Source("utr5_te_hek/valid.csv", _csv_column("seq"), validation=True),
    Source("utr3_halflife/train.csv", _csv_column("seq")),
    Source("utr3_halflife/valid.csv", _csv_column("seq"), validation=True),
    Source("ires/train.csv", _csv_column("seq")),
    Source("ss_bprna/VL0.jsonl", _jsonl),
    Source("ss_archiveii/ArchiveII.csv", _csv_column("sequence")),
    Source("ncrna_family/train.fasta", _fasta),
    Source("rnafm_tutorial/RF00001.fasta", _fasta),
    Source("rnafm_tutorial/RF00005.fasta", _fasta),
    Source("rnafm_tutorial/RF00010.fasta", _fasta),
    Source("rnafm_tutorial/format_rnacentral_active.100.sample-Max50.fasta", _fasta),
    Source("mrl_sample2019_snv/snv_phenotype_log_diff.csv", _csv_column("utr")),
    Source("cao_endogenous/final_endogenous.txt", _cao),
    # unlabelled ncRNA diversity (8 families); its families overlap ArchiveII's structures
    Source("rnastralign/train.fasta.gz", _fasta),
    Source("rnastralign/val.fasta.gz", _fasta, validation=True),
)


def _first_line(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        return fh.readline(4096).rstrip("\n")


#: Record ids :func:`build_corpus` writes: ``>SOURCE_PATH_WITH_COLONS:ROW``.
_CORPUS_ID = re.compile("^>(" + "|".join(re.escape(s.path.replace("/", ":")) for s in SOURCES) + r"):\d+$")


def is_corpus_fasta(path: Path) -> bool:
    """True for a FASTA :func:`build_corpus` wrote: its first id names one of :data:`SOURCES` (or it is empty)."""
    if not path.is_file():
        return False
    try:
        first = _first_line(path)
    except (OSError, EOFError, gzip.BadGzipFile):
        return False
    return first == "" or bool(_CORPUS_ID.match(first))


#: ``rnalm corpus --output``: ``--overwrite`` replaces only a corpus FASTA rnalm wrote.
CORPUS = OutputKind("corpus", "a corpus FASTA written by rnalm corpus", is_corpus_fasta)


def build_corpus(
    data_dir: str | Path, output: str | Path, include_valid: bool = False, min_length: int = 10, overwrite: bool = False
) -> dict[str, int]:
    """Write the deduplicated corpus FASTA atomically; return per-source counts of kept records.

    An existing ``output`` is an error unless ``overwrite``, which replaces only a corpus FASTA
    rnalm wrote; one process writes it at a time.
    """
    data_dir, output = Path(data_dir), Path(output)
    if not data_dir.is_dir():
        raise RnalmError(f"{data_dir}: not a directory (expected the shared datasets folder)")
    claim_output(output, CORPUS, overwrite, inputs=[data_dir])
    output.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(output):
        claim_output(output, CORPUS, overwrite, inputs=[data_dir])
        remove_stale_staging(output, CORPUS)
        tmp = staging_path(output)
        try:
            counts = _write_corpus(
                data_dir, tmp, gzip.open if output.suffix == ".gz" else open, include_valid, min_length
            )
            swap_into_place(tmp, output, CORPUS)
        finally:
            remove_path(tmp)
    return counts


def _write_corpus(data_dir: Path, tmp: Path, opener: Callable, include_valid: bool, min_length: int) -> dict[str, int]:
    seen: set[str] = set()
    counts: dict[str, int] = {}
    with opener(tmp, "wt") as out:
        for src in SOURCES:
            if src.validation and not include_valid:
                continue
            path = data_dir / src.path
            if not path.is_file():
                counts[src.path] = -1  # missing
                continue
            kept = 0
            for i, seq in enumerate(src.read(path)):
                seq = "".join(seq.split()).upper().replace("T", "U")
                if len(seq) < min_length or seq in seen:
                    continue
                seen.add(seq)
                kept += 1
                out.write(f">{src.path.replace('/', ':')}:{i}\n{seq}\n")
            counts[src.path] = kept
    return counts
