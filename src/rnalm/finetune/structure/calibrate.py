"""Choose the base-pair threshold of an already trained structure run on its training split.

    python -m rnalm.finetune.structure.calibrate RUN_DIR [--max-sequences 400] [--device cpu]

What ``structure.select_threshold: true`` does at the end of training (:mod:`rnalm.structure.threshold`),
for runs trained without it -- nothing is retrained:

1. the run's model(s) are loaded as ``rnalm fold --model`` loads them (:mod:`rnalm.runs.structure_model`;
   frozen embeddings and ViennaRNA probabilities are read from the run's caches when it used them);
2. the run's data is read and split by the runner's own code (same seed, ``valid_fraction``,
   ``max_length`` filter, ``limit``; per fold for cross-validated runs), so the training split is
   exactly the one the model was trained on;
3. the threshold is chosen on at most ``--max-sequences`` training sequences (the same seeded subset
   training would use) and written to ``postprocess.json`` (per ``fold_<i>/`` and, with the mean of
   the fold thresholds, at the top for cross-validated runs); an ensemble run (``member_<i>/``, made
   by :mod:`rnalm.finetune.structure.combine`) is judged by the mean of its members' maps, as
   ``rnalm fold`` predicts with it;
4. the valid / test metrics are recomputed at it and ``metrics.json`` / ``predictions.csv`` are
   rewritten (atomically), the figures at 0.5 kept under ``<metric>_t050`` keys.

It prints one line: the threshold, the training F1 at it and at 0.5, the validation F1 at it and at
0.5 (the mean over folds for cross-validated runs).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from scipy.special import logit

from rnalm.errors import RnalmError
from rnalm.finetune.context import Context, Split
from rnalm.finetune.decision import decision_summary, select_decision, write_cv_decision
from rnalm.finetune.evaluation import fit_labels, fold_summaries, prediction_rows, split_metrics, write_predictions
from rnalm.finetune.run_splits import cv_folds, fold_splits, holdout_splits, rebuild_splits
from rnalm.io.jsonfile import write_json
from rnalm.runs.rundir import INFO_FILE, METRICS_FILE, PREDICTIONS_FILE
from rnalm.runs.structure_model import RunModel
from rnalm.structure.threshold import MAX_SEQUENCES, SUFFIX_T050

HOW = "python -m rnalm.finetune.structure.calibrate"
#: Probabilities are clipped to [eps, 1 - eps] before the logit of an ensemble's mean map.
LOGIT_EPS = 1e-7


def _predict(model: RunModel, index: Optional[int]) -> Callable[[Split], np.ndarray]:
    """Raw outputs (logits) of model ``index``, or with ``None`` the logits of the mean of every
    model's probability maps (an ensemble run's prediction, in the form the task scores)."""

    def predict(sp: Split) -> np.ndarray:
        outs = model.outputs(sp.seqs, index) if index is not None else [_logit(p) for p in model(sp.seqs)]
        arr = np.empty(len(outs), dtype=object)
        for k, o in enumerate(outs):
            arr[k] = o
        return arr

    return predict


def _logit(p: np.ndarray) -> np.ndarray:
    return logit(np.clip(p.astype(np.float64), LOGIT_EPS, 1 - LOGIT_EPS)).astype(np.float32)


def run_context(model: RunModel) -> Context:
    """The training context of a loaded structure run, for re-deriving its splits and metrics."""
    r = model.run
    return Context(
        r.cfg,
        r.task,
        r.run_dir,
        log=_quiet,
        alphabet=r.alphabet,
        encoder=r.encoder,
        sha256=r.sha256,
        frozen=r.frozen,
        pair_probs=r.pair_probs,
        device=r.device,
    )


def _quiet(_message: str) -> None:
    """Calibration reports through its return value, not the run's log."""


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise RnalmError(f"{path} is missing; the run did not finish")
    return json.loads(path.read_text())


def _model_split(
    model: RunModel,
    index: Optional[int],
    out_dir: Path,
    train: Split,
    evals: list[Split],
    fold: Optional[int],
    max_sequences: int,
) -> tuple[dict, dict, list[dict]]:
    """Threshold record, updated metrics.json dict and prediction rows of one model directory."""
    ctx = run_context(model)
    state = fit_labels(ctx, train, evals)
    predict = _predict(model, index)
    record = select_decision(ctx, predict, train, state, out_dir, fold, max_sequences, HOW)
    metrics = _read_json(out_dir / METRICS_FILE)
    rows: list[dict] = []
    for sp in evals:
        outputs = predict(sp)
        metrics[sp.name] = split_metrics(ctx, sp, outputs, state)
        rows += prediction_rows(ctx, sp, outputs, state, fold)
    metrics["postprocess"] = decision_summary(record)
    return record, metrics, rows


def calibrate(run_dir: str | Path, max_sequences: int = MAX_SEQUENCES, device: Optional[str] = None) -> dict:
    """Calibrate ``run_dir`` in place; returns ``{"threshold", "f1_train", "f1_train_t050", "f1_valid",
    "f1_valid_t050", ...}``."""
    run_dir = Path(run_dir)
    if max_sequences < 1:
        raise RnalmError(f"--max-sequences must be >= 1, got {max_sequences}")
    if not (run_dir / INFO_FILE).is_file():
        raise RnalmError(f"{run_dir}: not an `rnalm finetune` run directory (no {INFO_FILE})")
    model = RunModel.load(run_dir, device, use_cache=True)
    if model is None:
        raise RnalmError(f"{run_dir}: not a task=structure run; only structure runs have a pair threshold")
    ctx = run_context(model)
    splits = rebuild_splits(ctx)
    info = model.info
    if not info.get("folds"):
        train, valid, _ = holdout_splits(ctx, splits)
        evals = [s for s in (valid, splits.get("test")) if s is not None]
        index = None if info.get("members") else 0  # an ensemble is judged by its mean map
        record, metrics, rows = _model_split(model, index, run_dir, train, evals, None, max_sequences)
        write_predictions(run_dir / PREDICTIONS_FILE, rows)
        write_json(run_dir / METRICS_FILE, metrics)
        valid_m = [metrics.get("valid") or metrics.get("test") or {}]
    else:
        data = splits["train"]
        folds = cv_folds(ctx, data)
        top = _read_json(run_dir / METRICS_FILE)
        per_fold, test_rows, valid_m = [], [], []
        for index, i in enumerate(info["folds"]):
            fold_dir = run_dir / f"fold_{i}"
            train, valid, test = fold_splits(ctx, data, folds, i, splits.get("extra_train"))
            _, metrics, rows = _model_split(model, index, fold_dir, train, [valid, test], i, max_sequences)
            write_predictions(fold_dir / PREDICTIONS_FILE, rows)
            write_json(fold_dir / METRICS_FILE, metrics)
            per_fold.append({"fold": i, **metrics})
            test_rows += [r for r in rows if r["split"] == "test"]
            valid_m.append(metrics["valid"])
        record = write_cv_decision(run_dir, info["folds"])
        top["cv"]["per_fold"] = per_fold
        top["cv"].update(fold_summaries(per_fold))
        top["postprocess"] = decision_summary(record)
        write_predictions(run_dir / PREDICTIONS_FILE, test_rows)
        write_json(run_dir / METRICS_FILE, top)
    return {
        "run_dir": str(run_dir),
        "threshold": record["threshold"],
        "n_sequences": record["n_sequences"],
        "f1_train": record["f1_train"],
        "f1_train_t050": record["f1_train_t050"],
        "f1_valid": _mean(valid_m, "f1"),
        "f1_valid_t050": _mean(valid_m, f"f1{SUFFIX_T050}"),
        "folds": record.get("folds"),
    }


def _mean(metrics: list[dict], key: str) -> Optional[float]:
    """The mean of ``key`` over ``metrics`` (None unless every one has it)."""
    return float(np.mean([m[key] for m in metrics])) if metrics and all(key in m for m in metrics) else None


def _fmt(x: Optional[float]) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def summary_line(r: dict) -> str:
    fmt = _fmt
    where = f"mean of folds {r['folds']}" if r.get("folds") else f"{r['n_sequences']} training sequences"
    valid = "valid (fold mean)" if r.get("folds") else "valid"
    return (
        f"{r['run_dir']}: threshold {r['threshold']:.2f} ({where}); train F1 {fmt(r['f1_train'])} "
        f"(at 0.5: {fmt(r['f1_train_t050'])}); {valid} F1 {fmt(r['f1_valid'])} (at 0.5: {fmt(r['f1_valid_t050'])})"
    )


def add_selection_options(ap: argparse.ArgumentParser, whose: str) -> None:
    """``--max-sequences`` and ``--device``, shared by the commands that choose a threshold."""
    ap.add_argument(
        "--max-sequences",
        type=int,
        default=MAX_SEQUENCES,
        help=f"training sequences the threshold is chosen on at most (seeded subset; default {MAX_SEQUENCES})",
    )
    ap.add_argument("--device", default=None, help=f"cpu, cuda, ... (default: {whose} train.device)")


def report(choose: Callable[[], dict]) -> int:
    """Run ``choose`` and print its summary line (exit 0), or its error (exit 2)."""
    try:
        r = choose()
    except RnalmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary_line(r))
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m rnalm.finetune.structure.calibrate",
        description="Choose a trained structure run's base-pair threshold on its training "
        "split and recompute its metrics at it (nothing is retrained).",
    )
    ap.add_argument("run_dir", type=Path, help="run directory of `rnalm finetune` with task: structure")
    add_selection_options(ap, "the run's")
    args = ap.parse_args(argv)
    return report(lambda: calibrate(args.run_dir, args.max_sequences, args.device))


if __name__ == "__main__":
    raise SystemExit(main())
