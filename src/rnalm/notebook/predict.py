"""``rnalm.predict``: a task model's predictions as a DataFrame, the rows ``rnalm predict`` writes.

Example (offline, with a model shipped inside the package)::

    import rnalm
    df = rnalm.predict(["GGGACAUUUGCUUCUGACACAACUGUGUUCACUAGC", "AUGGCUUCU"], task="te")
    df[["id", "te_log", "length", "note"]]

The input's own columns are kept (a DataFrame's, a CSV/TSV file's), then come the named
prediction columns (``te_log``, ``halflife``, ``ires_probability``, ``family`` + ``prob_CLASS``;
a run of ``rnalm finetune``: see :mod:`rnalm.runs.prediction_columns`), ``length``, ``read`` and
``note``. Records are scored by the same code as the command line's
(:class:`rnalm.runs.prediction_table.Scorer`), so a record the model cannot score gets ``NaN``
predictions and a note rather than an error (``strict=True``: an error naming it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import pandas as pd

from rnalm import shipped
from rnalm.errors import RnalmError
from rnalm.io.progress import Progress
from rnalm.notebook.inputs import SEQUENCE_LETTERS, Inputs, Sequences, as_records
from rnalm.predictors import task as task_predictors
from rnalm.predictors.task import TaskPredictor
from rnalm.runs.prediction_table import CHUNK, SUFFIX, TAIL, Summary, chunks, fitted, output_names, renamed_message


def _predictor(
    task: Optional[str], run: Optional[str | os.PathLike], device: Optional[str], dtype: Optional[str] = "auto"
) -> TaskPredictor:
    if (task is None) == (run is None):
        raise RnalmError(
            f"pass task= (a shipped model: {shipped.PREDICT_TASKS}) or run= (a run directory of rnalm finetune)"
        )
    if task is not None:
        return task_predictors.from_shipped(shipped.task_entry(task), device=device, log=lambda _m: None, dtype=dtype)
    return task_predictors.from_run(
        Path(run),  # type: ignore[arg-type]
        device=device,
        log=lambda _m: None,
        dtype=dtype,
    )


def _inputs(data: Sequences, predictor: TaskPredictor, seq_column: Optional[str], id_column: Optional[str]) -> Inputs:
    """A file is read exactly as ``rnalm predict`` reads it (every column of a table kept)."""
    if isinstance(data, (str, os.PathLike)) and not set(str(data)) <= SEQUENCE_LETTERS and Path(data).is_file():
        source = predictor.source(Path(data), None, seq_column, id_column)
        _, described = source.survey()
        rows = list(source.rows(described))
        columns = source.columns(described)
        frame = pd.DataFrame([fitted(fields, len(columns))[0] for fields, _ in rows], columns=columns)
        if source.lead():
            frame.insert(0, "id" if "id" not in frame.columns else "id" + SUFFIX, [rec.id for _, rec in rows])
        return Inputs([rec for _, rec in rows], frame)
    return as_records(data, seq_column, id_column)


def predict(
    data: Sequences,
    task: Optional[str] = None,
    run: Optional[str | os.PathLike] = None,
    *,
    seq_column: Optional[str] = None,
    id_column: Optional[str] = None,
    unknown: Optional[str] = None,
    strict: bool = False,
    batch_size: int = 64,
    device: Optional[str] = None,
    progress: Optional[bool] = None,
    dtype: Optional[str] = "auto",
) -> pd.DataFrame:
    """Predictions of a shipped task model (``task="te"``, ``"halflife"``, ``"ires"``, ``"family"``, ``"mrl"``)
    or a run of ``rnalm finetune`` (``run=RUN_DIR``) for ``data``: sequences, ``(id, sequence)``
    pairs, a dict, a pandas Series or DataFrame, or a FASTA/CSV/TSV path.

    Returns the input as a DataFrame (its columns and index kept; ``id``/``sequence`` for bare
    sequences) with the prediction columns, ``length`` (letters in the input), ``read`` (letters the
    model read) and ``note`` added. ``unknown`` (``"mask"`` or a letter) replaces letters the model
    cannot read; ``progress``: a bar (a widget in a notebook) -- ``None`` shows it where someone can
    see it, with the closing line on standard error. ``dtype``: ``"auto"`` (bfloat16 where the device
    computes it natively, else float32), ``"float32"`` or ``"bfloat16"`` (:mod:`rnalm.precision`).

    >>> df = predict(["GGGACAUUUGCUUCUGACACAACUGUGUUCACUAGC"], task="te")  # doctest: +SKIP
    >>> list(df.columns)  # doctest: +SKIP
    ['id', 'sequence', 'te_log', 'length', 'read', 'note']
    """
    predictor = _predictor(task, run, device, dtype)
    inputs = _inputs(data, predictor, seq_column, id_column)
    scorer = predictor.scorer(unknown, strict, batch_size)
    rows: list[dict] = []
    with Progress(len(inputs.records), predictor.description, show=progress) as bar:
        summary = Summary(progress=bar)
        for chunk in chunks(inputs.records, CHUNK):
            scored = scorer.score(chunk, lambda r: f"record {r.id!r}")
            rows.extend(scored)
            summary.add(scored)
        shown = bar.bar is not None
    frame = inputs.frame.copy()
    names, renamed = output_names([str(c) for c in frame.columns], [*scorer.columns.names, *TAIL])
    if renamed:
        print(renamed_message(renamed, names), file=sys.stderr)
    for c, out in names.items():
        values = [row[c] for row in rows]
        frame[out] = pd.array(values, dtype="Int64") if c in ("length", "read") else values
    if shown:
        print(f"{summary.line()}; dtype {predictor.precision.summary()}", file=sys.stderr)
    return frame


__all__ = ["predict"]
