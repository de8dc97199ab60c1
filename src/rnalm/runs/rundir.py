"""The run directory of ``rnalm finetune``: one owner for its layout, for writing and for reading.

Layout::

    config.yaml            the resolved config (all defaults filled in)
    run_info.json          backbone identity (path, weights sha256, layer, alphabet), head inputs, data notes
    label_state.json       label scaler / class names fitted on the training split
    model.safetensors      best weights: the head (+ trained backbone parameters in full / LoRA mode)
    model.skops            the gradient-boosting model of a ``backbone.name: features`` run (instead)
    trainer_state.json     Hugging Face Trainer layout: log_history, best_metric, global_step ...
    metrics.json           valid / test metrics (per subset where the data defines subsets)
    predictions.csv        id, split, label, prediction (+ class probabilities)
    scatter_*.png | roc_pr_*.png, learning_curves.png
    checkpoint-<step>/     best and last checkpoints (resume)
    postprocess.json       structure runs with structure.select_threshold: the pair threshold chosen on
                           the training split (rnalm.structure.threshold)

With ``cv.folds = k`` each fold gets a ``fold_<i>/`` directory with that layout, and the top level
holds out-of-fold ``predictions.csv`` and ``metrics.json`` with every fold's figures and their mean
± standard deviation; ``run_info.json`` then lists the folds that were run (``folds``).

With ``train.members = n`` (an ensemble on one split) each member gets a ``member_<i>/`` directory
with that layout, and the top level holds the ensemble's ``predictions.csv`` and ``metrics.json``
(the members' figures beside it); ``run_info.json`` lists the members (``members``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnalm.io.jsonfile import read_json_object

CONFIG_FILE = "config.yaml"
INFO_FILE = "run_info.json"
LABEL_FILE = "label_state.json"
WEIGHTS_FILE = "model.safetensors"
FEATURE_MODEL_FILE = "model.skops"
STATE_FILE = "trainer_state.json"
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.csv"
CHECKPOINT_PREFIX = "checkpoint-"
FOLD_PREFIX = "fold_"
MEMBER_PREFIX = "member_"


@dataclass(frozen=True)
class RunDir:
    """A run directory (or one fold of it): where each of its files lives."""

    path: Path

    @classmethod
    def at(cls, path: str | Path) -> "RunDir":
        return cls(Path(path))

    @property
    def config(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def info(self) -> Path:
        return self.path / INFO_FILE

    @property
    def labels(self) -> Path:
        return self.path / LABEL_FILE

    @property
    def weights(self) -> Path:
        return self.path / WEIGHTS_FILE

    @property
    def feature_model(self) -> Path:
        return self.path / FEATURE_MODEL_FILE

    @property
    def trainer_state(self) -> Path:
        return self.path / STATE_FILE

    @property
    def metrics(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def predictions(self) -> Path:
        return self.path / PREDICTIONS_FILE

    def checkpoint(self, step: int) -> Path:
        return self.path / f"{CHECKPOINT_PREFIX}{step}"

    def fold(self, i: int) -> "RunDir":
        return RunDir(self.path / f"{FOLD_PREFIX}{i}")

    def member(self, i: int) -> "RunDir":
        return RunDir(self.path / f"{MEMBER_PREFIX}{i}")

    def has_config(self) -> bool:
        """Holds the run's config: a run directory (finished or not)."""
        return self.config.is_file()

    def is_finished(self) -> bool:
        """Holds the config and the run info, written once the data and backbone were read."""
        return self.config.is_file() and self.info.is_file()

    def read_info(self) -> dict[str, Any]:
        return read_json_object(self.info)

    def model_dirs(self, info: dict[str, Any]) -> list["RunDir"]:
        """Where the run's trained models are: one per fold of a cross-validated run, one per member of
        an ensemble, else the run itself."""
        if info.get("folds"):
            return [self.fold(i) for i in info["folds"]]
        if info.get("members"):
            return [self.member(i) for i in info["members"]]
        return [self]


__all__ = [
    "CHECKPOINT_PREFIX",
    "CONFIG_FILE",
    "FEATURE_MODEL_FILE",
    "FOLD_PREFIX",
    "MEMBER_PREFIX",
    "INFO_FILE",
    "LABEL_FILE",
    "METRICS_FILE",
    "PREDICTIONS_FILE",
    "RunDir",
    "STATE_FILE",
    "WEIGHTS_FILE",
]
