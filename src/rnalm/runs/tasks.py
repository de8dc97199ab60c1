"""Tasks: how labels are parsed, what the model outputs, which loss, which metrics, which plots.

A task is looked up by name in :data:`TASKS` (``regression``, ``classification`` and ``structure``,
:mod:`rnalm.runs.structure_task`); the interface they share is :mod:`rnalm.runs.task_base`. The
training loop never branches on the task: it asks the task for targets, a loss, batches,
decoded predictions and metrics. Everything a task learns from the training
labels (class names, the label scaler) is a :class:`LabelState`, saved in the run directory so
``rnalm predict`` maps outputs back exactly.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch.nn.functional as F

from rnalm.metrics import classification_metrics, regression_metrics
from rnalm.runs import plots
from rnalm.runs.config import FinetuneConfig
from rnalm.runs.errors import ConfigError, DataError
from rnalm.runs.structure_task import StructureTask
from rnalm.runs.table import Records, parse_float
from rnalm.runs.task_base import LabelState, Task

_TRANSFORMS: dict[str, Callable[[float], float]] = {
    "none": lambda x: x,
    "log": math.log,
    "log2": math.log2,
    "log10": math.log10,
    "log1p": math.log1p,
}


class RegressionTask(Task):
    name = "regression"
    scales_labels = True

    def pooled_metrics(self, labels: Sequence[Any], predictions: Sequence[Any]) -> Optional[dict]:
        """Scales agree across folds: one set of metrics over all out-of-fold predictions."""
        return regression_metrics(np.array([float(v) for v in labels]), np.array([float(v) for v in predictions]))

    def fit(self, train: Records, label_column: str, transform: str, standardize: bool) -> LabelState:
        state = LabelState(self.name, label_column, transform, standardize)
        y = self._parse(train, state)
        if y.size < 2:
            raise DataError(f"regression needs at least 2 training rows, got {y.size}")
        if np.ptp(y) == 0:
            raise DataError(
                f"label column {label_column!r} is constant ({y[0]!r}) in the training data: nothing to learn"
            )
        if standardize:
            state.mean, state.std = float(y.mean()), float(y.std())
        return state

    def _parse(self, recs: Records, state: LabelState) -> np.ndarray:
        fn = _TRANSFORMS[state.transform]
        out = np.empty(len(recs), dtype=np.float64)
        for i, (v, w) in enumerate(zip(recs.labels, recs.where)):
            x = parse_float(v, w, state.label_column)
            try:
                out[i] = fn(x)
            except ValueError:
                raise DataError(
                    f"{w}: label {x!r} cannot be {state.transform}-transformed (must be positive)"
                ) from None
        return out

    def targets(self, recs: Records, state: LabelState) -> np.ndarray:
        return ((self._parse(recs, state) - state.mean) / state.std).astype(np.float32)

    def out_dim(self, state: LabelState) -> int:
        return 1

    def loss_fn(self, name: str, huber_delta: float):
        if name in ("auto", "mse"):
            return lambda out, y: F.mse_loss(out.squeeze(-1), y)
        if name == "huber":
            return lambda out, y: F.huber_loss(out.squeeze(-1), y, delta=huber_delta)
        raise ConfigError(f"train.loss={name!r} does not apply to regression (use mse or huber)")

    def default_metric(self, state: LabelState) -> str:
        return "spearman"

    def metric_names(self, state: LabelState) -> list[str]:
        return ["mse", "rmse", "mae", "r2", "pearson", "spearman"]

    def label_values(self, targets: np.ndarray, state: LabelState) -> np.ndarray:
        return np.asarray(targets, dtype=np.float64) * state.std + state.mean

    def decode(self, outputs: np.ndarray, state: LabelState) -> dict[str, np.ndarray]:
        values = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)[:, 0]
        return {"prediction": values * state.std + state.mean}

    def metrics(self, targets, outputs, state):
        return regression_metrics(self.label_values(targets, state), self.decode(outputs, state)["prediction"])

    def plot(self, name, targets, outputs, state, out_dir, metrics):
        path = out_dir / f"scatter_{name}.png"
        ok = plots.scatter(
            self.label_values(targets, state), self.decode(outputs, state)["prediction"], path, name, metrics
        )
        return [path.name] if ok else []


def _sort_classes(values: set[str]) -> list[str]:
    try:
        return sorted(values, key=lambda v: (float(v), v))
    except ValueError:
        return sorted(values)


class ClassificationTask(Task):
    name = "classification"
    stratify_by_label = True

    def class_count(self, state: LabelState) -> int:
        return self.out_dim(state)

    def fit(self, train: Records, label_column: str, transform: str, standardize: bool) -> LabelState:
        labels = self._raw(train, label_column)
        classes = _sort_classes(set(labels))
        if len(classes) < 2:
            raise DataError(
                f"label column {label_column!r} has a single class ({classes[0]!r}) in the training data; "
                f"classification needs at least two"
            )
        return LabelState(self.name, label_column, classes=classes)

    @staticmethod
    def _raw(recs: Records, label_column: str) -> list[str]:
        out = []
        for v, w in zip(recs.labels, recs.where):
            s = "" if v is None else str(v).strip()
            if s.lower() in ("", "nan", "na", "n/a", "null", "none"):
                raise DataError(f"{w}: label in column {label_column!r} is missing ({v!r})")
            # "1" and "1.0" are the same class.
            try:
                f = float(s)
                if f.is_integer():
                    s = str(int(f))
            except ValueError:
                pass
            out.append(s)
        return out

    def targets(self, recs: Records, state: LabelState) -> np.ndarray:
        index = {c: i for i, c in enumerate(state.classes)}
        out = np.empty(len(recs), dtype=np.int64)
        for i, (lab, w) in enumerate(zip(self._raw(recs, state.label_column), recs.where)):
            if lab not in index:
                raise DataError(f"{w}: class {lab!r} does not occur in the training data (classes: {state.classes})")
            out[i] = index[lab]
        return out

    def out_dim(self, state: LabelState) -> int:
        return len(state.classes)

    def loss_fn(self, name: str, huber_delta: float):
        if name in ("auto", "ce"):
            return lambda out, y: F.cross_entropy(out, y)
        raise ConfigError(f"train.loss={name!r} does not apply to classification (use ce)")

    def default_metric(self, state: LabelState) -> str:
        return "auroc" if len(state.classes) == 2 else "accuracy"

    def metric_names(self, state: LabelState) -> list[str]:
        return ["accuracy", "f1", "auroc", "auprc", "log_loss"]

    @staticmethod
    def probabilities(outputs: np.ndarray) -> np.ndarray:
        x = np.asarray(outputs, dtype=np.float64)
        x = x - x.max(1, keepdims=True)
        e = np.exp(x)
        return e / e.sum(1, keepdims=True)

    def label_values(self, targets: np.ndarray, state: LabelState) -> np.ndarray:
        return np.asarray(state.classes, dtype=object)[np.asarray(targets, dtype=np.int64)]

    def combine(self, outputs: Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities averaged, as log-probabilities (their softmax is that mean exactly)."""
        mean = np.mean(np.stack([self.probabilities(o) for o in outputs]), axis=0)
        return np.log(np.maximum(mean, np.finfo(np.float64).tiny))

    def decode(self, outputs: np.ndarray, state: LabelState) -> dict[str, np.ndarray]:
        probs = self.probabilities(outputs)
        cols = {"prediction": np.asarray(state.classes, dtype=object)[probs.argmax(1)]}
        for i, c in enumerate(state.classes):
            cols[f"prob_{c}"] = probs[:, i]
        return cols

    def metrics(self, targets, outputs, state):
        return classification_metrics(targets, self.probabilities(outputs))

    def plot(self, name, targets, outputs, state, out_dir, metrics):
        path = out_dir / f"roc_pr_{name}.png"
        ok = plots.roc_pr(targets, self.probabilities(outputs), state.classes, path, name)
        return [path.name] if ok else []


#: Every task type, by its ``task:`` name.
TASKS: dict[str, type[Task]] = {
    "regression": RegressionTask,
    "classification": ClassificationTask,
    "structure": StructureTask,
}


def get_task(name: str, cfg: Optional[FinetuneConfig] = None) -> Task:
    """The task type ``name``; with ``cfg``, set up with that run's settings (``structure`` section)."""
    try:
        cls = TASKS[name]
    except KeyError:
        raise ConfigError(f"task={name!r} is not one of {sorted(TASKS)}") from None
    return cls.from_config(cfg) if cfg is not None else cls()


__all__ = ["ClassificationTask", "RegressionTask", "TASKS", "get_task"]
