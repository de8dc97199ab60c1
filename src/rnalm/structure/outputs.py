"""What ``rnalm fold`` writes: the summary table, and per-record files only on request.

``summary.tsv`` (or the table on standard output) has one row per input record, in input order:
``id``, ``length``, ``method`` (the model, or ``vienna``; empty when not folded), ``structure``
(dot-bracket, pseudoknots in ``[]``, ``{}``, ...), ``pairs``, ``energy`` and ``note``. The energy
is ViennaRNA's free energy in kcal/mol (Turner 2004, 37 C) of the structure in the row: the MFE for
``vienna`` rows, the evaluated energy of the predicted structure for model rows, and empty where
ViennaRNA cannot score it (a pseudoknot or a non-canonical pair) or the record was not folded.

Per-record files (``--files ct,bpseq,dbn,npy``) and plots (``--plots``: ``<name>.arc.png``,
``<name>.dotplot.png``) are written for folded records only, named by
:func:`rnalm.io.record_names.file_name` (``a/b`` -> ``a%2Fb``, as every command names files).
Every file is written atomically and with the mode the umask gives.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from rnalm.errors import RnalmError, option
from rnalm.io.atomic import atomic_save_npy, atomic_write_text
from rnalm.io.output_guard import OutputKind
from rnalm.io.record_names import file_name
from rnalm.structure.folding import Folded
from rnalm.structure.formats import format_bpseq, format_ct, format_dbn
from rnalm.structure.plots import arc_diagram, dot_plot

#: Per-record files ``--files`` may ask for.
FILE_KINDS = ("ct", "bpseq", "dbn", "npy")
SUMMARY_FILE = "summary.tsv"
SUMMARY_COLUMNS = ["id", "length", "method", "structure", "pairs", "energy", "note"]
#: The summary header of rnalm versions that wrote every file per record.
LEGACY_SUMMARY_COLUMNS = ["id", "file", "length", "pairs", "pseudoknot_pairs", "energy"]


def file_kinds(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"ct,bpseq"`` (or a list) as a tuple of kinds, each checked; empty for none."""
    if not text:
        return ()
    kinds = [k.strip().lower() for k in (text.split(",") if isinstance(text, str) else text) if k.strip()]
    bad = [k for k in kinds if k not in FILE_KINDS]
    if bad:
        raise RnalmError(f"{option('files')} takes a comma-separated list of {', '.join(FILE_KINDS)}; got {bad[0]!r}")
    return tuple(dict.fromkeys(kinds))


def write_files(done: Folded, out_dir: Path, kinds: Sequence[str], plots: bool) -> str:
    """Write ``done``'s requested files into ``out_dir``; a note when a plot could not be drawn."""
    pred = done.prediction
    if pred is None:
        return ""
    s, stem = pred.structure, file_name(done.id)
    title = s.id if done.energy is None else f"ENERGY = {done.energy:.2f}  {s.id}"
    if "ct" in kinds:
        atomic_write_text(out_dir / f"{stem}.ct", format_ct(s, title=title))
    if "bpseq" in kinds:
        atomic_write_text(out_dir / f"{stem}.bpseq", f"#Name: {s.id}\n" + format_bpseq(s))
    if "dbn" in kinds:
        atomic_write_text(out_dir / f"{stem}.dbn", format_dbn(s))
    if "npy" in kinds and pred.probs is not None:
        atomic_save_npy(out_dir / f"{stem}.npy", pred.probs.astype(np.float32))
    if not plots:
        return ""
    try:
        arc_diagram(s, out_dir / f"{stem}.arc.png")
        dot_plot(s, pred.probs, out_dir / f"{stem}.dotplot.png")
    except Exception as exc:  # a figure that fails must not cost the structures already folded
        return f"plots not written: {type(exc).__name__}: {exc}"
    return ""


def add_note(done: Folded, note: str) -> None:
    if note:
        done.note = f"{done.note}; {note}" if done.note else note


def tsv_line(values: Iterable[str]) -> str:
    """One TSV line (fields holding tabs, quotes or newlines quoted as CSV does)."""
    buf = io.StringIO()
    csv.writer(buf, delimiter="\t", lineterminator="\n").writerow(list(values))
    return buf.getvalue()


def summary_header() -> str:
    return tsv_line(SUMMARY_COLUMNS)


def summary_line(row: dict[str, str]) -> str:
    return tsv_line(row[c] for c in SUMMARY_COLUMNS)


def is_fold_output(path: Path) -> bool:
    """A folder ``rnalm fold`` wrote before the marker: its ``summary.tsv`` has rnalm's header."""
    with open(path / SUMMARY_FILE, encoding="utf-8", errors="replace") as fh:
        return fh.readline(4096).rstrip("\n").split("\t") in (SUMMARY_COLUMNS, LEGACY_SUMMARY_COLUMNS)


#: ``rnalm fold --output``: ``--overwrite`` replaces only such a folder.
FOLD_OUTPUT = OutputKind("fold", "an rnalm fold output folder", is_fold_output)


def write_summary(rows: Iterable[dict[str, str]], out_dir: Path) -> Path:
    return atomic_write_text(out_dir / SUMMARY_FILE, summary_header() + "".join(summary_line(r) for r in rows))


__all__ = [
    "FILE_KINDS",
    "FOLD_OUTPUT",
    "LEGACY_SUMMARY_COLUMNS",
    "SUMMARY_COLUMNS",
    "SUMMARY_FILE",
    "add_note",
    "file_kinds",
    "is_fold_output",
    "summary_header",
    "summary_line",
    "tsv_line",
    "write_files",
    "write_summary",
]
