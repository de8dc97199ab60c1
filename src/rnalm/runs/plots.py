"""Figures of a run: predicted vs measured (regression), ROC and PR curves (classification), and
learning curves from ``trainer_state.json``. matplotlib is optional: without it the run still
completes and the skipped figures are listed in ``metrics.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np


def _plt():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def available() -> bool:
    return _plt() is not None


def scatter(y: np.ndarray, p: np.ndarray, path: Path, title: str, metrics: dict) -> bool:
    plt = _plt()
    if plt is None:
        return False
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(y, p, s=6, alpha=0.4, linewidths=0)
    lo, hi = float(min(np.min(y), np.min(p))), float(max(np.max(y), np.max(p)))
    ax.plot([lo, hi], [lo, hi], color="grey", lw=1, ls="--")
    ax.set_xlabel("measured")
    ax.set_ylabel("predicted")
    parts = [f"{k}={metrics[k]:.3f}" for k in ("spearman", "pearson", "r2") if metrics.get(k) is not None]
    ax.set_title(f"{title}\n{', '.join(parts)} (n={len(y)})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def roc_pr(y: np.ndarray, probs: np.ndarray, classes: Sequence[str], path: Path, title: str) -> bool:
    """ROC and precision-recall curves; one-vs-rest per class when there are more than two."""
    plt = _plt()
    if plt is None:
        return False
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.5))
    targets = [1] if len(classes) == 2 else range(len(classes))
    for c in targets:
        pos = (np.asarray(y) == c).astype(int)
        if pos.sum() == 0 or pos.sum() == pos.size:
            continue
        fpr, tpr, _ = roc_curve(pos, probs[:, c])
        prec, rec, _ = precision_recall_curve(pos, probs[:, c])
        a1.plot(fpr, tpr, lw=1, label=f"{classes[c]} (AUC {auc(fpr, tpr):.3f})")
        a2.plot(rec, prec, lw=1, label=f"{classes[c]} (AP {average_precision_score(pos, probs[:, c]):.3f})")
    a1.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
    a1.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC - {title}")
    a2.set(xlabel="recall", ylabel="precision", title=f"precision-recall - {title}")
    for a in (a1, a2):
        a.legend(fontsize=7, loc="lower right" if a is a1 else "lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def learning_curves(log_history: list[dict], metric: str, path: Path, title: str = "") -> bool:
    plt = _plt()
    if plt is None:
        return False
    train = [(e["step"], e["loss"]) for e in log_history if "loss" in e]
    evals = [e for e in log_history if "eval_loss" in e]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    if train:
        a1.plot(*zip(*train), lw=1, label="train loss")
    if evals:
        a1.plot([e["step"] for e in evals], [e["eval_loss"] for e in evals], marker="o", ms=3, lw=1, label="valid loss")
        key = f"eval_{metric}"
        pts = [(e["epoch"], e[key]) for e in evals if e.get(key) is not None]
        if pts:
            a2.plot(*zip(*pts), marker="o", ms=3, lw=1)
    a1.set(xlabel="step", ylabel="loss", title=f"loss {title}")
    a1.legend(fontsize=8)
    a2.set(xlabel="epoch", ylabel=metric, title=f"valid {metric} {title}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def fold_summary(values: list[Optional[float]], metric: str, path: Path) -> bool:
    plt = _plt()
    if plt is None:
        return False
    fig, ax = plt.subplots(figsize=(5, 3.5))
    xs = [i for i, v in enumerate(values) if v is not None]
    ax.bar(xs, [values[i] for i in xs])
    ax.set(xlabel="fold", ylabel=metric, title=f"{metric} per fold")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


__all__ = ["available", "fold_summary", "learning_curves", "roc_pr", "scatter"]
