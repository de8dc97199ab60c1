"""Training one model (one run, or one fold of it) and writing its directory."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
from safetensors.torch import save_file

from rnalm.finetune.context import (
    Context,
    Split,
    fresh_model,
)
from rnalm.finetune.decision import decision_summary, select_decision
from rnalm.finetune.evaluation import (
    fit_labels,
    prediction_rows,
    split_figures,
    split_metrics,
    write_predictions,
)
from rnalm.finetune.trainer import Trainer, TrainerState
from rnalm.io.jsonfile import write_json
from rnalm.runs import plots
from rnalm.runs.errors import ConfigError
from rnalm.runs.feature_model import FeatureModel, feature_matrix
from rnalm.runs.model import SeqDataset
from rnalm.runs.rundir import (
    FEATURE_MODEL_FILE,
    LABEL_FILE,
    METRICS_FILE,
    PREDICTIONS_FILE,
    STATE_FILE,
    WEIGHTS_FILE,
)
from rnalm.runs.task_base import LabelState
from rnalm.training.seeding import seed_everything


def train_one(
    ctx: Context,
    train: Split,
    valid: Optional[Split],
    test: Optional[Split],
    out_dir: Path,
    fold: Optional[int] = None,
    resume: bool = False,
) -> tuple[dict, list[dict]]:
    """Train one model on ``train`` (early stopping on ``valid``), evaluate valid/test, write ``out_dir``."""
    cfg = ctx.cfg
    out_dir.mkdir(parents=True, exist_ok=True)
    evals = [s for s in (valid, test) if s is not None]
    state = fit_labels(ctx, train, evals)
    write_json(out_dir / LABEL_FILE, state.to_dict())
    metric = cfg.train.metric if cfg.train.metric != "auto" else ctx.task.default_metric(state)
    if metric != "loss" and metric not in ctx.task.metric_names(state):
        raise ConfigError(
            f"train.metric={metric!r} is not a {ctx.task.name} metric; one of {ctx.task.metric_names(state) + ['loss']}"
        )
    seed_everything(cfg.train.seed + (fold or 0))
    ctx.task.use_decision(None)  # every model trains and selects its epoch at the default decision
    t0 = time.time()
    result: dict[str, Any] = {"n_train": len(train.seqs), "metric": metric}
    outputs: dict[str, np.ndarray] = {}
    if cfg.backbone.kind == "features":
        outputs, tstate = train_features(ctx, train, evals, state, out_dir, metric)
        result.update(best_epoch=None, stopped_early=False)
    else:
        outputs, tstate = _train_network(ctx, train, valid, evals, state, out_dir, metric, fold, resume, result)
    tstate.save(out_dir / STATE_FILE)
    rows: list[dict] = []
    figures: list[str] = []
    for sp in evals:
        m = split_metrics(ctx, sp, outputs[sp.name], state)
        result[sp.name] = m
        result[f"n_{sp.name}"] = len(sp.seqs)
        rows += prediction_rows(ctx, sp, outputs[sp.name], state, fold)
        figures += split_figures(ctx, out_dir, sp, outputs[sp.name], state, m)
    if cfg.plots and any("eval_loss" in e for e in tstate.log_history):
        if plots.learning_curves(
            tstate.log_history, metric, out_dir / "learning_curves.png", f"(fold {fold})" if fold is not None else ""
        ):
            figures.append("learning_curves.png")
    if cfg.plots and not plots.available():
        result["figures_skipped"] = "matplotlib is not installed"
    result["figures"] = figures
    result["train_seconds"] = round(time.time() - t0, 2)
    write_predictions(out_dir / PREDICTIONS_FILE, rows)
    write_json(out_dir / METRICS_FILE, result)
    return result, rows


def _train_network(
    ctx: Context,
    train: Split,
    valid: Optional[Split],
    evals: list[Split],
    state: LabelState,
    out_dir: Path,
    metric: str,
    fold: Optional[int],
    resume: bool,
    result: dict[str, Any],
) -> tuple[dict[str, np.ndarray], TrainerState]:
    """Train a neural model (backbone + head) for :func:`train_one`; its outputs on ``evals`` and the
    trainer state. Training facts (best epoch, steps, parameters, post-processing) go into ``result``."""
    cfg = ctx.cfg
    outputs: dict[str, np.ndarray] = {}
    model, source = fresh_model(ctx, ctx.task.out_dim(state))
    model.to(ctx.device)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    ctx.log(
        f"{'fold ' + str(fold) + ': ' if fold is not None else ''}training {n_params:,} parameters on "
        f"{len(train.seqs)} sequences ({cfg.head.type} head, {cfg.backbone.kind} backbone)"
    )
    trainer = Trainer(
        model,
        ctx.task,
        state,
        cfg.train,
        SeqDataset(train.seqs, train.targets),
        SeqDataset(valid.seqs, valid.targets) if valid is not None else None,
        source,
        out_dir,
        metric,
        ctx.callbacks,
        ctx.log,
        progress=ctx.progress,
        precision=ctx.precision,
    )
    outcome = trainer.train(resume=resume)
    model.load_saved_state(outcome.best_state)
    save_file(outcome.best_state, str(out_dir / WEIGHTS_FILE), metadata={"format": "rnalm-finetune"})
    tstate = outcome.state
    if cfg.structure.select_threshold:
        record = select_decision(
            ctx, lambda sp: trainer.predict(SeqDataset(sp.seqs, sp.targets)), train, state, out_dir, fold
        )
        result["postprocess"] = decision_summary(record)
    for sp in evals:
        outputs[sp.name] = trainer.predict(SeqDataset(sp.seqs, sp.targets))
    result.update(
        best_epoch=outcome.best_epoch,
        stopped_early=outcome.stopped_early,
        best_metric=tstate.best_metric,
        global_step=tstate.global_step,
        trainable_parameters=n_params,
    )
    if not cfg.train.save_checkpoints:
        for d in out_dir.glob("checkpoint-*"):
            shutil.rmtree(d, ignore_errors=True)
    return outputs, tstate


def train_features(
    ctx: Context, train: Split, evals: Sequence[Split], state: LabelState, out_dir: Path, metric: str
) -> tuple[dict[str, np.ndarray], TrainerState]:
    fs = ctx.cfg.backbone.features
    t0 = time.time()
    model = FeatureModel(fs, ctx.task.name, ctx.cfg.train.seed).fit(
        feature_matrix(train.seqs, fs, ctx.cache_root), train.y
    )
    model.save(out_dir / FEATURE_MODEL_FILE)
    n_classes = ctx.task.class_count(state)
    outputs = {sp.name: model.outputs(feature_matrix(sp.seqs, fs, ctx.cache_root), n_classes) for sp in evals}
    tstate = TrainerState(epoch=1.0, global_step=fs.max_iter, max_steps=fs.max_iter, num_train_epochs=1)
    valid = next((sp for sp in evals if sp.name == "valid"), None)
    if valid is not None:
        m = ctx.task.metrics(valid.y, outputs["valid"], state)
        tstate.log_history.append(
            {"epoch": 1.0, "step": fs.max_iter, **{f"eval_{k}": v for k, v in m.items() if k != "n"}}
        )
        tstate.best_metric = m.get(metric)
        tstate.best_global_step = fs.max_iter
    tstate.log_history.append({"epoch": 1.0, "step": fs.max_iter, "train_runtime": round(time.time() - t0, 4)})
    ctx.log(f"feature baseline: gradient boosting on {len(train.seqs)} sequences in {time.time() - t0:.1f}s")
    return outputs, tstate


__all__ = ["train_features", "train_one"]
