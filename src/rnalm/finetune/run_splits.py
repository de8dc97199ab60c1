"""A run's hold-out and cross-validation splits, derived from its config exactly as training made them.

Stratified by label where the task asks for it (:attr:`~rnalm.runs.task_base.Task.stratify_by_label`
with ``cv.stratify``), grouped where the data defines groups; the index math is :mod:`rnalm.runs.splits`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from rnalm.finetune.context import (
    Context,
    Split,
    prepare_splits,
)
from rnalm.finetune.data.homology import shares_kmer
from rnalm.finetune.data.loader_table import load_data
from rnalm.runs.config import FinetuneConfig
from rnalm.runs.config_file import load_finetune_config
from rnalm.runs.errors import RunDirError
from rnalm.runs.rundir import RunDir
from rnalm.runs.splits import holdout, kfold
from rnalm.runs.table import Records
from rnalm.runs.task_base import Task
from rnalm.runs.tasks import get_task


def label_strata(task: Task, cfg: FinetuneConfig, recs: Records) -> Optional[list]:
    """The strata of ``recs`` (their labels) when the task stratifies and ``cv.stratify`` is on."""
    if not task.stratify_by_label or not cfg.cv.stratify:
        return None
    return [str(v).strip() for v in recs.labels]


def record_groups(recs: Records) -> Optional[list]:
    """The groups that hold-outs and folds keep whole, where the data defines them."""
    return recs.groups if recs.has_groups else None


def strata(ctx: Context, split: Split) -> Optional[list]:
    return label_strata(ctx.task, ctx.cfg, split.recs)


def groups(split: Split) -> Optional[list]:
    return record_groups(split.recs)


def with_extra_training(
    ctx: Context, train: Split, extra: Optional[Split], held: Sequence[Optional[Split]]
) -> tuple[Split, Optional[str]]:
    """``train`` followed by the ``data.extra_train`` rows, less those whose (prepared) sequence is a
    held-out row's or, with ``data.extra_train_kmer``, shares a k-mer with one: extra data must not
    carry the validation or test sequences, or their close relatives, into training."""
    if extra is None or not extra.seqs:
        return train, None
    others = [s for sp in held if sp is not None for s in sp.seqs]
    seen = set(others)  # every split was prepared by the run's alphabet: same letters, same case
    drop = np.array([s in seen for s in extra.seqs], dtype=bool)
    exact = int(drop.sum())
    k = ctx.cfg.data.extra_train_kmer
    if k and others:
        drop |= shares_kmer(extra.seqs, others, k)
    keep = np.flatnonzero(~drop)
    kept = extra.subset(keep)
    joined = Split(train.name, Records.join([train.recs, kept.recs]), train.seqs + kept.seqs, extra_rows=len(keep))
    left = f"{exact} same sequence as a held-out row"
    left += f", {int(drop.sum()) - exact} sharing a {k}-mer with one" if k else ""
    return joined, f"{len(keep)} of {len(extra.seqs)} data.extra_train rows added to training ({left} left out)"


def holdout_splits(ctx: Context, splits: dict[str, Split]) -> tuple[Split, Optional[Split], Optional[str]]:
    """``(train, valid, note)`` of a run without cross-validation (``valid_fraction`` held out of
    ``data.train`` when there is no ``data.valid``), the ``data.extra_train`` rows added to training."""
    cfg = ctx.cfg
    train = splits["train"]
    valid = splits.get("valid")
    notes = []
    if valid is None and cfg.data.valid_fraction > 0:
        tr, va = holdout(len(train.seqs), cfg.data.valid_fraction, cfg.train.seed, strata(ctx, train), groups(train))
        train, valid = train.subset(tr, "train"), train.subset(va, "valid")
        notes.append(
            f"{len(va)} rows held out of data.train (valid_fraction={cfg.data.valid_fraction}, seed {cfg.train.seed})"
        )
    train, extra_note = with_extra_training(ctx, train, splits.get("extra_train"), [valid, splits.get("test")])
    notes += [extra_note] if extra_note else []
    return train, valid, "; ".join(notes) or None


def cv_folds(ctx: Context, data: Split) -> list:
    return kfold(len(data.seqs), ctx.cfg.cv.folds, ctx.cfg.train.seed, strata(ctx, data), groups(data))


def fold_splits(
    ctx: Context, data: Split, folds: list, i: int, extra: Optional[Split] = None
) -> tuple[Split, Split, Split]:
    """``(train, valid, test)`` of fold ``i`` (``folds`` from :func:`cv_folds`), the ``extra``
    (``data.extra_train``) rows added to its training side."""
    cfg = ctx.cfg
    tr_idx, te_idx = folds[i]
    train, test = data.subset(tr_idx, "train"), data.subset(te_idx, "test")
    if cfg.cv.inner_valid_fraction > 0:
        sub = train
        a, b = holdout(
            len(sub.seqs),
            cfg.cv.inner_valid_fraction,
            cfg.train.seed + i,
            strata(ctx, sub),
            groups(sub) if cfg.cv.inner_valid_grouped else None,
        )
        train, valid = sub.subset(a, "train"), sub.subset(b, "valid")
    else:
        valid = test.subset(range(len(test.seqs)), "valid")
    train, _ = with_extra_training(ctx, train, extra, [valid, test])
    return train, valid, test


def rebuild_splits(ctx: Context) -> dict[str, Split]:
    """A run's data, read and prepared as :func:`finetune` did (``ctx.alphabet`` set), before the
    holdout / fold split."""
    return prepare_splits(ctx, load_data(ctx.cfg.data, ctx.cfg.task))


def validation_records(run_dir: str | Path) -> tuple[Records, FinetuneConfig, str]:
    """The validation rows of a hold-out run, exactly as ``rnalm finetune`` held them out: its
    ``data.valid``, else the ``valid_fraction`` of ``data.train`` (same seed, strata and groups).
    Returns the records (raw labels), the run's config and a note saying where they came from."""
    cfg = load_finetune_config(RunDir(Path(run_dir)).config)
    bundle = load_data(cfg.data, cfg.task)
    if bundle.valid is not None:
        return bundle.valid, cfg, "data.valid"
    if cfg.cv.folds >= 2:
        raise RunDirError(f"{run_dir} is a {cfg.cv.folds}-fold cross-validated run: it has no single validation split")
    train = bundle.train
    _, va = holdout(
        len(train),
        cfg.data.valid_fraction,
        cfg.train.seed,
        label_strata(get_task(cfg.task), cfg, train),
        record_groups(train),
    )
    note = f"{len(va)} rows held out of data.train (valid_fraction {cfg.data.valid_fraction}, seed {cfg.train.seed})"
    return train.subset(va), cfg, note


__all__ = [
    "cv_folds",
    "fold_splits",
    "groups",
    "holdout_splits",
    "label_strata",
    "rebuild_splits",
    "record_groups",
    "strata",
    "validation_records",
    "with_extra_training",
]
