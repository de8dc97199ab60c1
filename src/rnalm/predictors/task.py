"""Task predictors: a fine-tuning run or a task model shipped with rnalm.

:class:`TaskPredictor` loads the run on first use (``rnalm predict``'s
:class:`~rnalm.runs.predict.Predictor`: backbone checked by sha256, a cross-validated run
averaged over its fold models) and gives rows of ``id``, the named prediction columns
(``te_log``, ``ires_probability``, ``family`` + ``prob_CLASS``, ...; :mod:`rnalm.runs.prediction_columns`),
``length``, ``read`` and ``note``. A shipped model's column name, unit and window come from the
manifest; a run's from its config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from rnalm import shipped
from rnalm.api import resolve
from rnalm.io.seqio import Record as SeqRecord
from rnalm.precision import Precision
from rnalm.predictors.base import Record
from rnalm.runs.predict import Predictor as RunPredictor
from rnalm.runs.prediction_columns import PredictionColumns
from rnalm.runs.prediction_table import CHUNK, Scorer, Source, Summary, chunks, predict_file
from rnalm.runs.sequences import Window


@dataclass
class TaskPredictor:
    """A trained task model: its run directory and, where it moved or is shipped, its backbone."""

    description: str
    run_dir: Path
    backbone: Optional[str] = None
    device: Optional[str] = "auto"
    log: Callable[[str], None] = print
    #: what the predictions are called and their unit (a shipped model's, from the manifest);
    #: ``None``: from the run's label column
    name: Optional[str] = None
    unit: str = ""
    #: ``--dtype``: ``auto`` (bfloat16 where the device computes it natively), ``float32`` or ``bfloat16``
    dtype: Optional[str] = "float32"
    _loaded: Optional[RunPredictor] = field(default=None, repr=False)

    @property
    def model(self) -> RunPredictor:
        if self._loaded is None:
            self._loaded = RunPredictor(self.run_dir, self.backbone, self.log, self.device, self.dtype)
        return self._loaded

    @property
    def precision(self) -> Precision:
        """What the model computes in, and why (:mod:`rnalm.precision`)."""
        return self.model.precision

    @property
    def columns(self) -> PredictionColumns:
        return self.model.columns(self.name, self.unit)

    @property
    def window(self) -> Window:
        return self.model.window

    def scorer(self, unknown: Optional[str] = None, strict: bool = False, batch_size: int = 64) -> Scorer:
        """The model with its columns, ready to score chunks of records."""
        return Scorer(self.model, self.columns, unknown, strict, batch_size)

    def predict(
        self, records: Sequence[Record], batch_size: int = 64, unknown: Optional[str] = None
    ) -> list[dict[str, Any]]:
        """One row per ``(id, sequence)``: ``id``, the prediction columns, ``length``, ``read``, ``note``
        (a record the model cannot score gets ``None`` predictions and a note saying why)."""
        scorer = self.scorer(unknown, False, batch_size)
        rows: list[dict[str, Any]] = []
        recs = [SeqRecord(rid, seq, "", i, i + 1) for i, (rid, seq) in enumerate(records)]
        for chunk in chunks(recs, CHUNK):
            for rec, row in zip(chunk, scorer.score(chunk, lambda r: f"record {r.id!r}")):
                rows.append({"id": rec.id, **row})
        return rows

    def source(
        self,
        input_path: str | Path,
        fmt: Optional[str] = None,
        seq_column: Optional[str] = None,
        id_column: Optional[str] = None,
    ) -> Source:
        """How a file is read for this model (the run's sequence column, when the file has it)."""
        return Source.open(input_path, fmt, id_column, seq_column, self.model.seq_column)

    def predict_file(
        self,
        input_path: str | Path,
        output_path: Optional[str | Path],
        fmt: Optional[str] = None,
        seq_column: Optional[str] = None,
        id_column: Optional[str] = None,
        batch_size: int = 64,
        overwrite: bool = False,
        unknown: Optional[str] = None,
        strict: bool = False,
        show: Optional[bool] = None,
        log: Optional[Callable[[str], None]] = None,
        chunk_size: int = CHUNK,
    ) -> Summary:
        """``rnalm predict``'s CSV for a FASTA/CSV/TSV file (``output_path`` ``None``: standard output)."""
        source = self.source(input_path, fmt, seq_column, id_column)
        scorer = self.scorer(unknown, strict, batch_size)
        return predict_file(scorer, source, output_path, overwrite, chunk_size, show, log or self.log, self.description)


def from_run(
    run_dir: str | Path,
    backbone: Optional[str] = None,
    device: Optional[str] = "auto",
    log: Callable[[str], None] = print,
    dtype: Optional[str] = "float32",
) -> TaskPredictor:
    """A run directory of ``rnalm finetune`` (``backbone``: its backbone checkpoint, if it moved)."""
    return TaskPredictor(f"run {run_dir}", Path(run_dir), backbone, device, log, dtype=dtype)


def from_shipped(
    entry: shipped.Entry,
    backbone: Optional[str] = None,
    device: Optional[str] = "auto",
    log: Callable[[str], None] = print,
    dtype: Optional[str] = "float32",
) -> TaskPredictor:
    """The task model shipped as ``entry``, its weights sha256-verified; its shipped backbone is
    resolved to the installed folder unless ``backbone`` names another."""
    entry.verify(entry.weight_files())
    if entry.backbone and not backbone:
        backbone = str(resolve(entry.backbone))
    p = entry.prediction
    return TaskPredictor(
        f"shipped model {entry.name}", entry.path, backbone, device, log, p.get("name"), p.get("unit", ""), dtype
    )


__all__ = ["TaskPredictor", "from_run", "from_shipped"]
