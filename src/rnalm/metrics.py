"""Standard metrics for sequence-level prediction, as the papers report them.

Regression: MSE, RMSE, MAE, R² (coefficient of determination), Pearson r and Spearman ρ.
Classification: accuracy, F1 (binary: of the second class; multi-class: macro), AUROC and AUPRC
(average precision; one-vs-rest macro averages for more than two classes), and log-loss (mean
negative log-probability of the true class, natural log): the one metric here that moves with every
change of the probabilities, so a near-ceiling AUROC still separates models. A metric that is
undefined on the given data (a constant prediction, a single class present) is ``None`` rather
than a warning and a NaN.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

#: metrics where smaller is better; everything else is maximised.
LOWER_IS_BETTER = frozenset({"mse", "rmse", "mae", "loss", "log_loss"})


def greater_is_better(metric: str) -> bool:
    return metric.removeprefix("eval_") not in LOWER_IS_BETTER


def _finite(x: float) -> Optional[float]:
    x = float(x)
    return x if math.isfinite(x) else None


def regression_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, Optional[float]]:
    from scipy import stats

    y = np.asarray(y, dtype=np.float64).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    if y.shape != p.shape or y.size == 0:
        raise ValueError(f"regression metrics need equal, non-empty arrays, got {y.shape} and {p.shape}")
    err = p - y
    mse = float(np.mean(err**2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    out: dict[str, Optional[float]] = {
        "mse": mse,
        "rmse": math.sqrt(mse),
        "mae": float(np.mean(np.abs(err))),
        "r2": _finite(1.0 - float(np.sum(err**2)) / ss_tot) if ss_tot > 0 else None,
        "pearson": None,
        "spearman": None,
        "n": int(y.size),
    }
    if y.size > 1 and np.ptp(y) > 0 and np.ptp(p) > 0:
        out["pearson"] = _finite(stats.pearsonr(y, p)[0])
        out["spearman"] = _finite(stats.spearmanr(y, p)[0])
    return out


def classification_metrics(y: np.ndarray, probs: np.ndarray) -> dict[str, Optional[float]]:
    """``y``: class indices (N,); ``probs``: class probabilities (N, C)."""
    from sklearn import metrics as skm

    y = np.asarray(y, dtype=np.int64).ravel()
    probs = np.asarray(probs, dtype=np.float64)
    n_classes = probs.shape[1]
    pred = probs.argmax(1)
    out: dict[str, Optional[float]] = {
        "accuracy": float(np.mean(pred == y)),
        "f1": None,
        "auroc": None,
        "auprc": None,
        "log_loss": None,
        "n": int(y.size),
    }
    if y.size and probs.shape[0] == y.size and y.max() < n_classes:
        p_true = np.clip(probs[np.arange(y.size), y], 1e-15, 1.0)
        out["log_loss"] = float(-np.mean(np.log(p_true)))
    present = np.unique(y)
    if n_classes == 2:
        out["f1"] = float(skm.f1_score(y, pred, pos_label=1, average="binary", zero_division=0))
        if present.size == 2:
            out["auroc"] = float(skm.roc_auc_score(y, probs[:, 1]))
            out["auprc"] = float(skm.average_precision_score(y, probs[:, 1]))
        return out
    out["f1"] = float(skm.f1_score(y, pred, labels=np.arange(n_classes), average="macro", zero_division=0))
    # One-vs-rest over the classes present in y (a class absent from y has no ROC curve).
    aurocs, auprcs = [], []
    for c in present:
        pos = (y == c).astype(np.int64)
        if 0 < pos.sum() < y.size:
            aurocs.append(skm.roc_auc_score(pos, probs[:, c]))
            auprcs.append(skm.average_precision_score(pos, probs[:, c]))
    if aurocs:
        out["auroc"] = float(np.mean(aurocs))
        out["auprc"] = float(np.mean(auprcs))
    return out


def expected_calibration_error(y: np.ndarray, probs: np.ndarray, bins: int = 10) -> float:
    """Top-label expected calibration error: rows binned by their highest probability (``bins``
    equal-width bins over (0, 1]), the row-weighted mean gap between each bin's accuracy and its mean
    highest probability. 0 for a model whose stated confidence is its hit rate."""
    y = np.asarray(y, dtype=np.int64).ravel()
    probs = np.asarray(probs, dtype=np.float64)
    conf = probs.max(1)
    hit = probs.argmax(1) == y
    which = np.clip(np.ceil(conf * bins).astype(np.int64) - 1, 0, bins - 1)
    gap = 0.0
    for b in np.unique(which):
        rows = which == b
        gap += rows.sum() * abs(hit[rows].mean() - conf[rows].mean())
    return float(gap / max(y.size, 1))


def summarize_folds(per_fold: list[dict]) -> dict[str, dict[str, Optional[float]]]:
    """``{metric: {"mean", "std", "n_folds"}}`` over folds (sample std, ddof=1; None-valued folds skipped)."""
    keys = [k for k, v in (per_fold[0] if per_fold else {}).items() if k != "n" and not isinstance(v, dict)]
    out: dict[str, dict[str, Optional[float]]] = {}
    for k in keys:
        vals = [f[k] for f in per_fold if isinstance(f.get(k), (int, float)) and f.get(k) is not None]
        if not vals:
            out[k] = {"mean": None, "std": None, "n_folds": 0}
            continue
        arr = np.asarray(vals, dtype=np.float64)
        out[k] = {
            "mean": float(arr.mean()),
            "std": float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
            "n_folds": int(arr.size),
        }
    return out


__all__ = [
    "LOWER_IS_BETTER",
    "classification_metrics",
    "expected_calibration_error",
    "greater_is_better",
    "regression_metrics",
    "summarize_folds",
]
