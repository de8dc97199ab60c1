"""The engine behind ``rnalm fold``: fold every record and write the summary and requested files.

The pieces, one job each: :mod:`~rnalm.structure.checks` (letters), :mod:`~rnalm.structure.predictor`
(predictions of a model or ViennaRNA), :mod:`~rnalm.structure.folding` (which predictor folds which
record; the row each becomes), :mod:`~rnalm.structure.outputs` (summary table, per-record files,
plots). :func:`fold_records` puts them together for a folder; ``rnalm fold`` adds the staging,
resume and progress around it, ``rnalm.fold`` returns the rows as a DataFrame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional, Sequence

from rnalm.errors import RnalmError
from rnalm.io.record_names import file_name
from rnalm.structure.checks import FOLD_LETTERS, FoldInputError, check_sequence
from rnalm.structure.folding import VIENNA_MAX_LENGTH, FoldPolicy, fold
from rnalm.structure.outputs import (
    FILE_KINDS,
    FOLD_OUTPUT,
    SUMMARY_COLUMNS,
    SUMMARY_FILE,
    add_note,
    is_fold_output,
    write_files,
    write_summary,
)
from rnalm.structure.plots import require_matplotlib
from rnalm.structure.predictor import (
    PostprocessOptions,
    Prediction,
    Predictor,
    ProbabilityModel,
    model_predictor,
    vienna_predictor,
)


def fold_records(
    records: Iterable[tuple[str, str]],
    predictor: Predictor,
    out_dir: str | Path,
    max_length: Optional[int] = VIENNA_MAX_LENGTH,
    batch_size: int = 1,
    plots: bool = False,
    progress=None,
    files: Sequence[str] = FILE_KINDS,
    long: str = "vienna",
    unknown: Optional[str] = None,
    strict: bool = False,
) -> list[dict]:
    """Fold every record into ``out_dir``: the requested per-record ``files`` (all by default), plots,
    and ``summary.tsv``. Returns the summary rows (text values) with each record's ``file`` stem;
    ``progress`` (an :class:`rnalm.io.progress.Progress`) is advanced per record."""
    records = list(records)
    if not records:
        raise FoldInputError("no records to fold")
    policy = FoldPolicy(long, max_length, unknown, strict, probabilities="npy" in files or plots)
    if plots:
        require_matplotlib()
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise RnalmError(f"output {out_dir} exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for done in fold(records, predictor, policy, batch_size):
        add_note(done, write_files(done, out_dir, files, plots))
        rows.append({**done.row(), "file": file_name(done.id)})
        if progress is not None:
            progress.update(1)
    write_summary(rows, out_dir)
    return rows


__all__ = [
    "FILE_KINDS",
    "FOLD_LETTERS",
    "FOLD_OUTPUT",
    "FoldInputError",
    "PostprocessOptions",
    "Prediction",
    "Predictor",
    "ProbabilityModel",
    "SUMMARY_COLUMNS",
    "SUMMARY_FILE",
    "check_sequence",
    "fold_records",
    "is_fold_output",
    "model_predictor",
    "vienna_predictor",
]
