"""Fit a trained classification run's probability temperature on its validation rows.

    python -m rnalm.finetune.calibrate_probabilities RUN_DIR [--repeats 5] [--device cpu]

Nothing is retrained. The run's final probabilities (the mean over its members or folds, as
``rnalm predict`` computes them, in float32) on its validation rows -- exactly the rows
``rnalm finetune`` held out (:func:`rnalm.finetune.run_splits.validation_records`) -- get the one
temperature T that minimises their log-loss (bounded search over [0.05, 20]); T is written to
``calibration.json`` in the run directory, where every later prediction with the run applies it
(:mod:`rnalm.runs.calibration`). The predicted class and accuracy do not change, nor does a binary
model's AUROC.

The same rows chose the run's early-stopping epochs, so the in-sample log-loss at T flatters it.
The record therefore also holds a cross-fitted estimate: T fitted on one half of the rows
(stratified), log-loss and expected calibration error scored on the other, both halves, over
``--repeats`` seeded splits. That figure, not the in-sample one, says whether the temperature helps.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.model_selection import StratifiedKFold

from rnalm.errors import RnalmError
from rnalm.finetune.run_splits import validation_records
from rnalm.io.jsonfile import JsonFileError, read_json_object, write_json
from rnalm.metrics import classification_metrics, expected_calibration_error
from rnalm.runs.calibration import CALIBRATION_FILE, scale_probabilities
from rnalm.runs.errors import RunDirError
from rnalm.runs.predict import Predictor
from rnalm.runs.tasks import ClassificationTask
from rnalm.version import __version__

HOW = "python -m rnalm.finetune.calibrate_probabilities"
BOUNDS = (0.05, 20.0)
ECE_BINS = 10


def log_loss(y: np.ndarray, probs: np.ndarray) -> float:
    """Mean negative log-probability of the true class (:func:`rnalm.metrics.classification_metrics`)."""
    value = classification_metrics(y, probs)["log_loss"]
    if value is None:
        raise RunDirError(f"log-loss undefined for {len(y)} rows of {probs.shape[1]} classes")
    return value


def fit_temperature(y: np.ndarray, probs: np.ndarray) -> float:
    """The temperature minimising the log-loss of ``probs`` (N, C) on class indices ``y``."""

    def loss(t: float) -> float:
        return log_loss(y, scale_probabilities(probs, t))

    return float(minimize_scalar(loss, bounds=BOUNDS, method="bounded").x)


def cross_fitted(y: np.ndarray, probs: np.ndarray, repeats: int) -> dict:
    """Log-loss and ECE before and after a temperature fitted on the other half of the rows."""
    after, ece_after, temps = [], [], []
    for seed in range(repeats):
        scaled = np.empty_like(probs)
        for fit_rows, score_rows in StratifiedKFold(2, shuffle=True, random_state=seed).split(probs, y):
            t = fit_temperature(y[fit_rows], probs[fit_rows])
            scaled[score_rows] = scale_probabilities(probs[score_rows], t)
            temps.append(t)
        after.append(log_loss(y, scaled))
        ece_after.append(expected_calibration_error(y, scaled, ECE_BINS))
    return {
        "halves": 2,
        "repeats": repeats,
        "log_loss_before": log_loss(y, probs),  # the same rows in every repeat
        "log_loss_after": float(np.mean(after)),
        "ece_before": expected_calibration_error(y, probs, ECE_BINS),
        "ece_after": float(np.mean(ece_after)),
        "half_temperatures": [round(t, 4) for t in temps],
    }


def written_here(record: dict) -> bool:
    """Whether a ``calibration.json`` record is one this module wrote (so a new fit may replace it)."""
    return record.get("method") == "temperature" and str(record.get("command", "")).startswith(HOW)


def check_replaceable(path: Path) -> None:
    """rnalm replaces only what it created: an existing file must be a record of this module's."""
    if not path.exists():
        return
    try:
        ours = path.is_file() and written_here(read_json_object(path))
    except JsonFileError:
        ours = False
    if not ours:
        raise RunDirError(
            f"{path}: exists and was not written by {HOW}; move it out of the run directory to fit a new temperature"
        )


def calibrate(run_dir: Path, repeats: int = 5, device: Optional[str] = "cpu") -> dict:
    """Fit and write the run's temperature; returns the record written."""
    check_replaceable(Path(run_dir) / CALIBRATION_FILE)
    recs, cfg, where = validation_records(run_dir)
    pred = Predictor(run_dir, device=device, dtype="float32", log=lambda _m: None)
    if not isinstance(pred.task, ClassificationTask):
        raise RunDirError(f"{run_dir}: task {cfg.task!r} has no class probabilities to calibrate")
    per_model = pred.raw_outputs(pred.prepare(recs))
    y = pred.task.targets(recs, per_model[0][1])  # class indices; an unknown class names its record
    probs = np.exp(pred.task.combine([o for o, _ in per_model]))
    if np.unique(y).size < 2:
        raise RunDirError(f"{run_dir}: the validation rows hold one class only; a temperature cannot be fitted")
    t = fit_temperature(y, probs)
    scaled = scale_probabilities(probs, t)
    record = {
        "method": "temperature",
        "temperature": t,
        "fitted_on": f"{len(y)} rows of data.valid" if where == "data.valid" else where,
        "models": len(per_model),
        "in_sample": {
            "log_loss_before": log_loss(y, probs),
            "log_loss_after": log_loss(y, scaled),
            "ece_before": expected_calibration_error(y, probs, ECE_BINS),
            "ece_after": expected_calibration_error(y, scaled, ECE_BINS),
        },
        "cross_fitted": cross_fitted(y, probs, repeats),
        "ece_bins": ECE_BINS,
        "command": f"{HOW} {run_dir} --repeats {repeats}",
        "rnalm_version": __version__,
    }
    write_json(Path(run_dir) / CALIBRATION_FILE, record)
    return record


def summary_line(r: dict) -> str:
    c = r["cross_fitted"]
    return (
        f"temperature {r['temperature']:.3f} on {r['fitted_on']}; cross-fitted log-loss "
        f"{c['log_loss_before']:.4f} -> {c['log_loss_after']:.4f}, ECE {c['ece_before']:.4f} -> {c['ece_after']:.4f}"
    )


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog=HOW, description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("run_dir", type=Path, help="run directory of `rnalm finetune` with a classification task")
    ap.add_argument(
        "--repeats", type=int, default=5, help="seeded half splits of the cross-fitted estimate (default 5)"
    )
    ap.add_argument("--device", default="cpu", help="cpu, cuda, ... (default cpu)")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error(f"--repeats {args.repeats}: must be at least 1")
    try:
        record = calibrate(args.run_dir, args.repeats, args.device)
    except RnalmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary_line(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
