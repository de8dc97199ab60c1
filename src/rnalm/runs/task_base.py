"""What every fine-tuning task type provides (:class:`Task`) and what it learns from the training
labels (:class:`LabelState`, saved in the run directory so ``rnalm predict`` maps outputs back
exactly). The task types themselves and their table are in :mod:`rnalm.runs.tasks`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from rnalm.runs.config import FinetuneConfig, TrainConfig
from rnalm.runs.errors import ConfigError
from rnalm.runs.table import Records


@dataclass
class LabelState:
    """What the task learned from the training labels (JSON-serialisable)."""

    task: str
    label_column: str = "label"
    transform: str = "none"
    standardize: bool = False
    mean: float = 0.0
    std: float = 1.0
    classes: list = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LabelState":
        return cls(**d)


class Task:
    """Base class; subclasses define the label handling of one kind of prediction."""

    name = ""
    #: head types that only this task can use (checked for every config).
    own_heads: tuple[str, ...] = ()
    #: hold-outs and folds keep the label proportions (with ``cv.stratify``): class labels.
    stratify_by_label = False
    #: labels that a data loader may ask to standardize (``DataBundle.force_standardize``).
    scales_labels = False

    @classmethod
    def from_config(cls, cfg: FinetuneConfig) -> "Task":
        """The task set up with a run's settings (a task with its own config section reads it here)."""
        return cls()

    @classmethod
    def check_config(cls, cfg: FinetuneConfig) -> None:
        """Task-specific config rules (may fill in task defaults); raise ``ConfigError``."""

    def class_count(self, state: LabelState) -> int:
        """Classes a gradient-boosting baseline predicts probabilities for (0: a value per row)."""
        return 0

    def pooled_metrics(self, labels: Sequence[Any], predictions: Sequence[Any]) -> Optional[dict]:
        """Metrics over every fold's out-of-fold predictions together (``predictions.csv`` strings),
        where they are comparable across folds; ``None`` where they are not."""
        return None

    def fit(self, train: Records, label_column: str, transform: str, standardize: bool) -> LabelState:
        raise NotImplementedError

    def targets(self, recs: Records, state: LabelState) -> np.ndarray:
        """Training targets in model space (float32 (N,) for regression, int64 (N,) class indices)."""
        raise NotImplementedError

    def out_dim(self, state: LabelState) -> int:
        raise NotImplementedError

    def loss_fn(self, name: str, huber_delta: float) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        raise NotImplementedError

    def default_metric(self, state: LabelState) -> str:
        raise NotImplementedError

    def metrics(self, targets: np.ndarray, outputs: np.ndarray, state: LabelState) -> dict[str, Optional[float]]:
        """Metrics from model-space targets and raw outputs, reported in label space."""
        raise NotImplementedError

    def combine(self, outputs: Sequence[np.ndarray]) -> np.ndarray:
        """The raw outputs of several models of one run (its folds or members, trained on the same
        label state) as one model's: their mean."""
        return np.mean(np.stack([np.asarray(o, dtype=np.float64) for o in outputs]), axis=0)

    def decode(self, outputs: np.ndarray, state: LabelState) -> dict[str, np.ndarray]:
        """Columns for predictions.csv from raw outputs (``prediction`` always present)."""
        raise NotImplementedError

    def label_values(self, targets: np.ndarray, state: LabelState) -> np.ndarray:
        """Model-space targets back to the label column's values (for predictions.csv)."""
        raise NotImplementedError

    def metric_names(self, state: LabelState) -> list[str]:
        raise NotImplementedError

    def train_loss(self, cfg: TrainConfig) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """The loss the trainer minimises (default: :meth:`loss_fn` with the config's choice)."""
        return self.loss_fn(cfg.loss, cfg.huber_delta)

    def batch_plan(self, lengths: Sequence[int], cfg: TrainConfig, train: bool, seed: int) -> Optional[list[list[int]]]:
        """Batches of dataset indices (training: shuffled from ``seed``), or ``None`` for the
        trainer's fixed-size batches. Tasks whose memory grows faster than the length (pair maps)
        budget their batches here."""
        return None

    def prediction_columns(self, targets: np.ndarray, outputs: np.ndarray, state: LabelState) -> dict[str, np.ndarray]:
        """Columns for predictions.csv when the targets are known (default: :meth:`decode`)."""
        return self.decode(outputs, state)

    def collate_targets(self, targets: list) -> torch.Tensor:
        """Batch per-row targets (a task with variable-size targets, e.g. pair maps, pads here)."""
        return torch.as_tensor(np.asarray(targets))

    def concat_outputs(self, outputs: list[torch.Tensor]) -> np.ndarray:
        """Join model outputs -- one single-row slice per sequence, in dataset order -- into what
        ``metrics`` / ``decode`` receive."""
        return torch.cat(outputs).numpy()

    def plot(
        self, name: str, targets: np.ndarray, outputs: np.ndarray, state: LabelState, out_dir: Path, metrics: dict
    ) -> list[str]:
        """Write this split's figures into ``out_dir``; returns their file names (none without matplotlib)."""
        return []

    def select_decision(
        self,
        targets: np.ndarray,
        outputs: np.ndarray,
        state: LabelState,
        *,
        n_train: int,
        seed: int,
        max_sequences: Optional[int],
        how: str,
    ) -> dict:
        """Choose a decision setting (the structure task's pair threshold) on training targets and
        outputs; a JSON-serialisable record (``structure.select_threshold``)."""
        raise ConfigError(f"structure.select_threshold does not apply to task={self.name}")

    def use_decision(self, record: Optional[dict]) -> None:
        """Evaluate and decode with this record from :meth:`select_decision` (``None``: the default)."""


__all__ = ["LabelState", "Task"]
