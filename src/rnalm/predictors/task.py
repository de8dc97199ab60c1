"""Task predictors: a fine-tuning run or a task model shipped with rnalm.

:class:`TaskPredictor` loads the run on first use (``rnalm predict``'s
:class:`~rnalm.runs.predict.Predictor`: backbone checked by sha256, a cross-validated run
averaged over its fold models) and gives rows of ``id``, ``prediction`` and class probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from rnalm import shipped
from rnalm.api import resolve
from rnalm.predictors.base import Record
from rnalm.runs.predict import Predictor as RunPredictor
from rnalm.runs.predict import predict_file
from rnalm.runs.table import Records


@dataclass
class TaskPredictor:
    """A trained task model: its run directory and, where it moved or is shipped, its backbone."""

    description: str
    run_dir: Path
    backbone: Optional[str] = None
    device: str = "auto"
    log: Callable[[str], None] = print
    _loaded: Optional[RunPredictor] = field(default=None, repr=False)

    @property
    def model(self) -> RunPredictor:
        if self._loaded is None:
            self._loaded = RunPredictor(self.run_dir, self.backbone, self.log, self.device)
        return self._loaded

    def predict(self, records: Sequence[Record], batch_size: int = 64) -> list[dict[str, Any]]:
        ids = [rid for rid, _ in records]
        recs = Records(ids=ids, seqs=[s for _, s in records], labels=[None] * len(ids), where=ids)
        seqs = self.model.prepare(recs)
        cols = self.model.predict(seqs, batch_size)
        return [{"id": rid, **{k: v[i] for k, v in cols.items()}} for i, rid in enumerate(ids)]

    def predict_file(
        self,
        input_path: str | Path,
        output_path: str | Path,
        fmt: Optional[str] = None,
        seq_column: Optional[str] = None,
        id_column: Optional[str] = None,
        batch_size: int = 64,
        overwrite: bool = False,
        log: Optional[Callable[[str], None]] = None,
    ) -> Path:
        """``rnalm predict``'s CSV for a FASTA/CSV/TSV file (:func:`rnalm.runs.predict.predict_file`)."""
        return predict_file(
            self.run_dir,
            input_path,
            output_path,
            fmt,
            seq_column,
            id_column,
            batch_size,
            self.backbone,
            log=log or self.log,
            device=self.device,
            overwrite=overwrite,
        )


def from_run(
    run_dir: str | Path, backbone: Optional[str] = None, device: str = "auto", log: Callable[[str], None] = print
) -> TaskPredictor:
    """A run directory of ``rnalm finetune`` (``backbone``: its backbone checkpoint, if it moved)."""
    return TaskPredictor(f"run {run_dir}", Path(run_dir), backbone, device, log)


def from_shipped(
    entry: shipped.Entry, backbone: Optional[str] = None, device: str = "auto", log: Callable[[str], None] = print
) -> TaskPredictor:
    """The task model shipped as ``entry``, its weights sha256-verified; its shipped backbone is
    resolved to the installed folder unless ``backbone`` names another."""
    entry.verify(entry.weight_files())
    if entry.backbone and not backbone:
        backbone = str(resolve(entry.backbone))
    return TaskPredictor(f"shipped model {entry.name}", entry.path, backbone, device, log)


__all__ = ["TaskPredictor", "from_run", "from_shipped"]
