"""The check metric of a shipped model: one number, recomputed from the installed files.

Every shipped folder holds ``check.csv``, a fixed subset of the validation data drawn (seeded) when
the model was packaged, and the manifest records the metric the packaged files gave on it. The
same functions compute it at packaging time and in the test suite, so a reproduced value proves the
installed weights, configs and code still produce the packaged model's predictions.

* backbone -- ``mlm_acc``: masked-token accuracy with the pretraining validation procedure
  (:func:`rnalm.pretrain.objective.evaluate`: 15 % BERT masking from fixed seeds, token-budget
  batches), columns ``id,sequence``;
* task -- the run's selection metric (Spearman for regression, AUROC for two classes, accuracy for
  more) through :class:`rnalm.runs.predict.Predictor`, columns ``id,sequence,label`` (the label
  as in the data file);
* structure -- ``f1`` (per-sequence F1 averaged over sequences, the structure task's selection
  metric) of the structures ``rnalm fold`` writes (the shipped model with the
  manifest's post-processing), columns ``id,sequence,structure`` (dot-bracket).
"""

from __future__ import annotations

import contextlib
import csv
import math
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from rnalm import shipped
from rnalm.api import load, resolve
from rnalm.predictors import fold, task
from rnalm.pretrain.config import ObjectiveConfig, OptimConfig, PretrainConfig
from rnalm.pretrain.data import Example
from rnalm.pretrain.objective import evaluate as evaluate_mlm
from rnalm.runs.table import Records
from rnalm.runs.tasks import ClassificationTask
from rnalm.shipped import Entry, ShippedModelError
from rnalm.structure.metrics import evaluate as evaluate_pairs
from rnalm.structure.pairs import dot_bracket_to_pairs
from rnalm.structure.predict import PostprocessOptions, check_sequence

CHECK_FILE = "check.csv"
#: masking and batching of the backbone check (the pretraining validation defaults).
MLM_MASK_RATE = 0.15
MLM_TOKENS_PER_BATCH = 4096
MLM_MAX_BATCH = 128
#: numbers in a manifest's ``check.all`` that are not outputs of the shipped files (row count; the
#: float32 weights' figure recorded beside a float16 model's).
NOT_RECOMPUTED = frozenset({"n", "float32_reference"})


def read_check(path: str | Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_check(path: str | Path, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> Path:
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({c: r[c] for c in columns})
    return path


# ------------------------------------------------------------------------------------ backbone
def backbone_metrics(model_dir: str | Path, seqs: Sequence[str], ids: Optional[Sequence[str]] = None) -> dict:
    """``mlm_acc`` / ``mlm_loss`` of the native model in ``model_dir`` on ``seqs`` (fixed masking)."""
    model, alphabet = load(model_dir)
    if not model.config.lm_head:
        raise ShippedModelError(f"{model_dir}: the backbone has no language-model head, so no MLM check metric")
    ids = list(ids) if ids is not None else [f"s{i}" for i in range(len(seqs))]
    examples = [Example(i, alphabet.normalize(s, i)) for i, s in zip(ids, seqs)]
    cfg = PretrainConfig(
        objective=ObjectiveConfig(mask_rate=MLM_MASK_RATE),
        optim=OptimConfig(tokens_per_batch=MLM_TOKENS_PER_BATCH, max_batch=MLM_MAX_BATCH),
    )
    with torch.no_grad():
        res = evaluate_mlm(
            model, examples, [None] * len(examples), alphabet, cfg, torch.device("cpu"), contextlib.nullcontext
        )
    return {k: float(v) for k, v in res.items()}


# ------------------------------------------------------------------------------------ tasks
def task_records(rows: Sequence[dict[str, str]], where: str = CHECK_FILE):
    recs = Records()
    for i, r in enumerate(rows):
        recs.append(r["id"], r["sequence"], r["label"], f"{where}:{i + 2}")
    return recs


def task_metrics(
    run_dir: str | Path,
    rows: Sequence[dict[str, str]],
    backbone: Optional[str] = None,
    log: Callable[[str], None] = lambda _m: None,
) -> dict:
    """All validation metrics of the run in ``run_dir`` on labelled ``rows`` (model outputs averaged
    over fold models for cross-validated runs, class probabilities at the run's temperature where it
    has one: what ``rnalm predict`` reports)."""
    pred = task.from_run(run_dir, backbone, device="cpu", log=log).model
    recs = task_records(rows)
    seqs = pred.prepare(recs)
    per_model = pred.raw_outputs(seqs)
    state = per_model[0][1]
    targets = pred.task.targets(recs, state)
    if pred.calibration is not None and isinstance(pred.task, ClassificationTask):
        # log-probabilities at the run's temperature: their softmax is what predict reports
        probs = pred.class_probabilities(pred.task, [o for o, _ in per_model])
        outputs = np.log(np.maximum(probs, np.finfo(np.float64).tiny))
    else:
        outputs = per_model[0][0] if len(per_model) == 1 else pred.task.combine([o for o, _ in per_model])
    return {k: v for k, v in pred.task.metrics(targets, outputs, state).items()}


# ------------------------------------------------------------------------------------ structure
def structure_metrics(run_dir: str | Path, rows: Sequence[dict[str, str]], postprocess: Optional[dict] = None) -> dict:
    """Pair metrics (``f1`` = ``f1_seq_mean``, ...) of the structure model in ``run_dir`` against ``rows``."""
    predictor = fold.from_run(run_dir, PostprocessOptions(**(postprocess or {})))
    batch = [(r["id"], check_sequence(r["id"], r["sequence"])) for r in rows]
    preds = []
    for i in range(0, len(batch), 8):
        preds += predictor(batch[i : i + 8])
    trues = [dot_bracket_to_pairs(r["structure"], r["id"]) for r in rows]
    res = evaluate_pairs([p.structure.pairs for p in preds], trues, [len(s) for _, s in batch])
    # the structure task's names (f1 = per-sequence F1 averaged over sequences, as in its metrics.json)
    res.update({k[: -len("_seq_mean")]: v for k, v in list(res.items()) if k.endswith("_seq_mean")})
    return res


# ------------------------------------------------------------------------------------ any entry
def entry_metrics(entry: Entry, rows: Optional[Sequence[dict[str, str]]] = None) -> dict:
    """All check metrics of a shipped entry on its ``check.csv`` (or on ``rows``)."""
    if rows is None:
        rows = read_check(entry.path / entry.check.get("file", CHECK_FILE))
    with shipped.using_root(entry.root):
        if entry.kind == "backbone":
            return backbone_metrics(entry.path, [r["sequence"] for r in rows], [r["id"] for r in rows])
        if entry.kind == "task":
            bb = str(resolve(entry.backbone)) if entry.backbone else None
            return task_metrics(entry.path, rows, bb)
        if entry.kind == "structure":
            return structure_metrics(entry.path, rows, entry.postprocess)
    raise ShippedModelError(f"shipped model {entry.name}: unknown kind {entry.kind!r}")


def recheck(entry: Entry) -> dict[str, tuple[float, float]]:
    """``{metric: (recorded, recomputed)}`` for the check metric and every other number recorded
    on the check subset (log-loss, MSE, ... move with any change of the outputs, where a ranking
    metric at its ceiling would not), after verifying the entry's sha256s."""
    entry.verify()
    name, recorded = entry.check.get("metric"), entry.check.get("value")
    if name is None or recorded is None:
        raise ShippedModelError(f"shipped model {entry.name}: the manifest records no check metric")
    now = entry_metrics(entry)
    value = now.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise ShippedModelError(f"shipped model {entry.name}: check metric {name} could not be computed")
    out = {name: (float(recorded), float(value))}
    for k, v in (entry.check.get("all") or {}).items():
        if (
            k != name
            and k not in NOT_RECOMPUTED
            and isinstance(v, (int, float))
            and not isinstance(v, bool)
            and math.isfinite(v)
        ):
            got = now.get(k)
            out[k] = (float(v), float("nan") if got is None else float(got))
    return out


def check_entry(entry: Entry) -> tuple[float, float]:
    """``(recorded, recomputed)`` check metric of a shipped entry (after verifying its sha256s)."""
    return recheck(entry)[entry.check["metric"]]


__all__ = [
    "CHECK_FILE",
    "backbone_metrics",
    "check_entry",
    "entry_metrics",
    "read_check",
    "recheck",
    "structure_metrics",
    "task_metrics",
    "write_check",
]
