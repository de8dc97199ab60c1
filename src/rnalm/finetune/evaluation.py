"""Scoring a trained model's outputs: labels fitted on the training split, metrics per split (and per
subset), prediction rows and ``predictions.csv``, figures, and the summaries over folds."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from rnalm.finetune.context import (
    Context,
    Split,
)
from rnalm.io.atomic import atomic_write_text
from rnalm.metrics import summarize_folds
from rnalm.runs.task_base import LabelState


def fit_labels(ctx: Context, train: Split, others: Sequence[Split]) -> LabelState:
    d = ctx.cfg.data
    state = ctx.task.fit(train.recs, d.label_column, d.label_transform, d.standardize or ctx.force_standardize)
    for sp in (train, *others):
        sp.targets = ctx.task.targets(sp.recs, state)
    return state


def prediction_rows(
    ctx: Context, split: Split, outputs: np.ndarray, state: LabelState, fold: Optional[int]
) -> list[dict]:
    cols = ctx.task.prediction_columns(split.y, outputs, state)
    labels = ctx.task.label_values(split.y, state)
    rows = []
    for i in range(len(split.seqs)):
        row: dict[str, Any] = {"id": split.recs.ids[i], "split": split.name}
        if fold is not None:
            row["fold"] = fold
        if "subset" in split.recs.extra:
            row["subset"] = split.recs.extra["subset"][i]
        row["label"] = labels[i]
        for k, v in cols.items():
            row[k] = v[i]
        row["sequence"] = split.seqs[i]
        rows.append(row)
    return rows


def split_metrics(ctx: Context, split: Split, outputs: np.ndarray, state: LabelState) -> dict:
    m: dict[str, Any] = ctx.task.metrics(split.y, outputs, state)
    subsets = split.recs.extra.get("subset")
    if subsets:
        by = {}
        for value in sorted(set(subsets)):
            idx = [i for i, s in enumerate(subsets) if s == value]
            try:
                by[value] = ctx.task.metrics(split.y[idx], outputs[idx], state)
            except ValueError:
                continue
        m["by_subset"] = by
    return m


def split_figures(
    ctx: Context, out_dir: Path, split: Split, outputs: np.ndarray, state: LabelState, metrics: dict
) -> list[str]:
    if not ctx.cfg.plots:
        return []
    return ctx.task.plot(split.name, split.y, outputs, state, out_dir, metrics)


def write_predictions(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    keys: list[str] = []
    for r in rows:
        for k in r:
            if k not in keys:
                keys.append(k)
    keys = [k for k in keys if k != "sequence"] + ["sequence"]
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, (float, np.floating)) else v) for k, v in r.items()})
    atomic_write_text(path, buf.getvalue())


def fold_summaries(per_fold: list[dict]) -> dict:
    """``mean_std`` (and ``mean_std_by_subset``) of the folds' test metrics."""
    out: dict[str, Any] = {"mean_std": summarize_folds([f["test"] for f in per_fold])}
    subsets = sorted({s for f in per_fold for s in f["test"].get("by_subset", {})})
    if subsets:
        out["mean_std_by_subset"] = {
            s: summarize_folds([f["test"]["by_subset"][s] for f in per_fold if s in f["test"].get("by_subset", {})])
            for s in subsets
        }
    return out


def pooled_metrics(ctx: Context, rows: list[dict]) -> Optional[dict]:
    """Metrics over all out-of-fold predictions together, where the task's outputs allow it."""
    if not rows:
        return None
    return ctx.task.pooled_metrics([r["label"] for r in rows], [r["prediction"] for r in rows])


__all__ = [
    "fit_labels",
    "fold_summaries",
    "pooled_metrics",
    "prediction_rows",
    "split_figures",
    "split_metrics",
    "write_predictions",
]
