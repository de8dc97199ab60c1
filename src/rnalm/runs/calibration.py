"""A classification run's temperature: how its class probabilities are calibrated after training.

Models trained to early-stop on a ranking metric (AUROC, accuracy), and averages of such models,
can be confidently wrong: an IRES probability of 0.95 that is right 80 % of the time misleads a
user who filters on it. One temperature T, fitted on the run's validation rows by
:mod:`rnalm.finetune.calibrate_probabilities` and kept in ``calibration.json`` beside the weights,
rescales the run's final probabilities (the mean over members or folds, as ``rnalm predict``
reports them): ``p_i ** (1 / T) / sum_j p_j ** (1 / T)``, i.e. a softmax of ``log p / T``. A power
keeps each row's order, so the predicted class and accuracy are unchanged, and so is a binary
model's AUROC (the positive class's probability moves monotonically); a multi-class model's
one-vs-rest AUROC can move slightly, as rows are renormalised. T > 1 softens the probabilities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from rnalm.io.jsonfile import read_json_object
from rnalm.runs.errors import RunDirError

CALIBRATION_FILE = "calibration.json"
#: Probabilities are floored here before the logarithm (a member may output an exact 0 in float32).
PROBABILITY_FLOOR = 1e-12


def scale_probabilities(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Rows of class probabilities at ``temperature`` (1 returns them unchanged)."""
    p = np.asarray(probs, dtype=np.float64)
    if temperature == 1.0:
        return p
    z = np.log(np.clip(p, PROBABILITY_FLOOR, None)) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Calibration:
    """The record in ``calibration.json``: ``temperature`` and how it was fitted."""

    temperature: float
    record: dict[str, Any]

    @classmethod
    def read(cls, run_dir: str | Path) -> Optional["Calibration"]:
        """The run's calibration, or ``None`` when it has none."""
        path = Path(run_dir) / CALIBRATION_FILE
        if not path.is_file():
            return None
        record = read_json_object(path)
        t = record.get("temperature")
        if record.get("method") != "temperature" or not isinstance(t, (int, float)) or not math.isfinite(t) or t <= 0:
            raise RunDirError(f"{path}: expected method 'temperature' and a positive temperature, got {record!r}")
        return cls(float(t), record)

    def apply(self, probs: np.ndarray) -> np.ndarray:
        return scale_probabilities(probs, self.temperature)


__all__ = ["CALIBRATION_FILE", "Calibration", "scale_probabilities"]
