"""A task's decision setting chosen on the training split after training (structure: the pair
threshold, :mod:`rnalm.structure.threshold`): choosing, recording, and combining it over folds."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from rnalm.finetune.context import (
    Context,
    Split,
)
from rnalm.runs.errors import RunDirError
from rnalm.runs.task_base import LabelState
from rnalm.structure.threshold import MAX_SEQUENCES, cv_record, read_record, subset_indices, write_record


def select_decision(
    ctx: Context,
    predict: Callable[[Split], np.ndarray],
    train: Split,
    state: LabelState,
    out_dir: Path,
    fold: Optional[int],
    max_sequences: Optional[int] = None,
    how: str = "structure.select_threshold",
) -> dict:
    """Choose the task's decision setting (structure: the pair threshold) on at most
    ``max_sequences`` training sequences (seeded subset), use it and record it in ``out_dir``.
    ``predict(split)`` gives the model's raw outputs. Shared by training and
    ``python -m rnalm.finetune.structure.calibrate``."""
    cap = MAX_SEQUENCES if max_sequences is None else max_sequences
    seed = ctx.cfg.train.seed + (fold or 0)
    # data.extra_train rows (at the end) train but do not set the threshold: it is fitted to data.train's
    # distribution, which the validation rows come from (BENCHMARKS.md, ArchiveII as extra training data)
    n_train = len(train.seqs) - train.extra_rows
    idx = subset_indices(n_train, cap, seed)
    sub = train.subset(idx)
    sub.targets = train.y[idx]
    t0 = time.time()
    record = ctx.task.select_decision(
        sub.targets, predict(sub), state, n_train=n_train, seed=seed, max_sequences=cap, how=how
    )
    if train.extra_rows:
        record["extra_train_rows_left_out"] = train.extra_rows
    ctx.task.use_decision(record)
    write_record(out_dir, record)
    ctx.log(
        f"{'fold ' + str(fold) + ': ' if fold is not None else ''}threshold {record['threshold']:.2f} chosen on "
        f"{record['n_sequences']} training sequences (train F1 {record['f1_train']:.4f}, at 0.5 "
        f"{record['f1_train_t050']:.4f}; {time.time() - t0:.1f}s)"
    )
    return record


def decision_summary(record: dict) -> dict:
    """What metrics.json keeps of a threshold record."""
    return {
        k: record[k]
        for k in ("threshold", "source", "combine", "folds", "n_sequences", "f1_train", "f1_train_t050")
        if k in record
    }


def write_cv_decision(run_dir: Path, folds: Sequence[int]) -> dict:
    """The top-level threshold record of a cross-validated run from its folds' records."""
    records = {}
    for i in folds:
        rec = read_record(run_dir / f"fold_{i}")
        if rec is None:
            raise RunDirError(
                f"{run_dir}/fold_{i}: no threshold record; run `python -m rnalm.finetune.structure.calibrate {run_dir}`"
            )
        records[i] = rec
    record = cv_record(records)
    write_record(run_dir, record)
    return record


__all__ = ["decision_summary", "select_decision", "write_cv_decision"]
