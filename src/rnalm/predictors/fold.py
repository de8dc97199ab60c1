"""Secondary-structure predictors: a trained structure run, the shipped structure model, ViennaRNA.

Each is a :class:`FoldPredictor`: ``predict(records)`` (or calling it, as ``rnalm fold``'s writer
does) gives one :class:`~rnalm.structure.predict.Prediction` per record -- pairs after the chosen
post-processing, and the base-pair probability map.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from rnalm.predictors.base import Record
from rnalm.runs.structure_model import load_run_model
from rnalm.shipped import Entry
from rnalm.structure.predict import PostprocessOptions, Prediction, ProbabilityModel, model_predictor, vienna_predictor
from rnalm.structure.predict import Predictor as PredictFn


@dataclass
class FoldPredictor:
    """A structure model with its post-processing."""

    description: str
    fn: PredictFn
    #: a run's pair threshold chosen on its training split (``postprocess.json``), if it has one.
    threshold_record: Optional[dict] = None

    def predict(self, records: Sequence[Record]) -> list[Prediction]:
        return self.fn(list(records))

    __call__ = predict


def vienna(bpp: bool = True) -> FoldPredictor:
    """ViennaRNA's MFE structure (with its base-pair probabilities as the map)."""
    return FoldPredictor("ViennaRNA", vienna_predictor(bpp=bpp))


def from_model(
    description: str, model: ProbabilityModel, options: PostprocessOptions, threshold_record: Optional[dict] = None
) -> FoldPredictor:
    """Any probability model (sequences -> ``L x L`` maps) followed by ``options``."""
    return FoldPredictor(description, model_predictor(model, options), threshold_record)


def run_defaults(run_dir: str | Path) -> tuple[ProbabilityModel, PostprocessOptions, Optional[dict]]:
    """A structure run's probability model, its default post-processing (its recorded threshold, if
    any) and that threshold record."""
    model = load_run_model(run_dir)
    record = getattr(model, "threshold_record", None)
    options = PostprocessOptions(threshold=float(record["threshold"])) if record is not None else PostprocessOptions()
    return model, options, record


def from_run(run_dir: str | Path, options: Optional[PostprocessOptions] = None) -> FoldPredictor:
    """A trained structure run (``rnalm finetune`` with ``task: structure``)."""
    model, defaults, record = run_defaults(run_dir)
    return FoldPredictor(f"run {run_dir}", model_predictor(model, options or defaults), record)


def shipped_options(entry: Entry) -> PostprocessOptions:
    """The post-processing recorded with a shipped structure model."""
    return PostprocessOptions(**entry.postprocess)


def from_shipped(entry: Entry, options: Optional[PostprocessOptions] = None, verify: bool = True) -> FoldPredictor:
    """The structure model shipped as ``entry`` (its weights sha256-verified unless ``verify=False``),
    read where it is installed: its backbone is named ``shipped:NAME`` and resolved like any
    shipped reference."""
    if verify:
        entry.verify(entry.weight_files())
    model = load_run_model(entry.path)
    return FoldPredictor(f"shipped model {entry.name}", model_predictor(model, options or shipped_options(entry)))


__all__ = ["FoldPredictor", "from_model", "from_run", "from_shipped", "run_defaults", "shipped_options", "vienna"]
