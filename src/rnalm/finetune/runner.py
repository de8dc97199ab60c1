"""``rnalm finetune``: from a config to a complete run directory.

Layout of a run directory::

    config.yaml            the resolved config (all defaults filled in)
    run_info.json          backbone identity (path, weights sha256, layer, alphabet), head inputs, data notes
    label_state.json       label scaler / class names fitted on the training split
    model.safetensors      best weights: the head (+ trained backbone parameters in full / LoRA mode)
    trainer_state.json     Hugging Face Trainer layout: log_history, best_metric, global_step ...
    metrics.json           valid / test metrics (per subset where the data defines subsets)
    predictions.csv        id, split, label, prediction (+ class probabilities)
    scatter_*.png | roc_pr_*.png, learning_curves.png
    checkpoint-<step>/     best and last checkpoints (resume)
    postprocess.json       structure runs with train.select_threshold: the pair threshold chosen on
                           the training split (rnalm.structure.threshold)

With ``cv.folds = k`` each fold gets a ``fold_<i>/`` directory with that layout, and the top level
holds out-of-fold ``predictions.csv`` and ``metrics.json`` with every fold's figures and their mean
± standard deviation.
"""
from __future__ import annotations

import copy
import csv
import json
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch
from safetensors.torch import save_file

from rnalm.finetune import plots
from rnalm.finetune.backbones import FrozenFeatures, LMBackbone, apply_lora, state_sha256
from rnalm.finetune.cache import EmbeddingCache, default_cache_dir
from rnalm.finetune.config import FinetuneConfig, expand_path
from rnalm.finetune.run_config import load_finetune_config
from rnalm.finetune.data import DataBundle, Records, load_data
from rnalm.finetune.errors import ConfigError, RunDirError
from rnalm.finetune.heads import build_head
from rnalm.finetune.metrics import summarize_folds
from rnalm.finetune.model import FeatureSource, SeqDataset, SequenceModel, resolve_device
from rnalm.finetune.sequences import default_alphabet, prepare
from rnalm.finetune.splits import holdout, kfold
from rnalm.finetune.task_base import LabelState, Task
from rnalm.finetune.tasks import get_task
from rnalm.finetune.trainer import STATE_FILE, WEIGHTS_FILE, Trainer, TrainerState
from rnalm.io.jsonfile import write_json
from rnalm.io.output_guard import OutputKind, input_inside, is_empty_dir, output_lock, write_marker

CONFIG_FILE = "config.yaml"
INFO_FILE = "run_info.json"
LABEL_FILE = "label_state.json"
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.csv"
FEATURE_MODEL_FILE = "model.skops"


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict[str, Any]


@dataclass
class Split:
    """One split's records, their normalised sequences and (after fitting labels) targets."""

    name: str
    recs: Records
    seqs: list[str]
    targets: Optional[np.ndarray] = None

    def subset(self, idx: Sequence[int], name: Optional[str] = None) -> "Split":
        idx = list(idx)
        return Split(name or self.name, self.recs.subset(idx), [self.seqs[i] for i in idx])


@dataclass
class Context:
    """Everything shared by the folds of a run: config, task, backbone, cached features."""

    cfg: FinetuneConfig
    task: Task
    run_dir: Path
    log: Callable[[str], None]
    alphabet: Any
    encoder: Optional[torch.nn.Module] = None
    sha256: Optional[str] = None
    frozen: Optional[FrozenFeatures] = None
    #: ViennaRNA base-pair probabilities (heads that need ``bpp``; :mod:`rnalm.structure.bpp`).
    pair_probs: Optional[Any] = None
    cache_root: Optional[Path] = None
    force_standardize: bool = False
    callbacks: Sequence[Any] = field(default_factory=list)
    device: torch.device = torch.device("cpu")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


# ------------------------------------------------------------------------------------ setup
def is_run_dir(path: Path) -> bool:
    """A fine-tuning run directory of an rnalm version before the marker: it holds the run's config."""
    return (path / CONFIG_FILE).is_file()


#: ``rnalm finetune`` run directories: ``overwrite=true`` replaces only these.
FINETUNE_RUN = OutputKind("finetune", "an rnalm fine-tuning run directory", is_run_dir)


def _prepare_run_dir(cfg: FinetuneConfig, resume: bool) -> Path:
    """Check the run directory (call under its lock) and mark it; ``overwrite`` removes only a run directory."""
    run_dir = Path(expand_path(cfg.output_dir))
    if resume:
        if not (run_dir / CONFIG_FILE).is_file():
            raise RunDirError(f"{run_dir}: nothing to resume (no {CONFIG_FILE})")
        return run_dir
    if run_dir.exists() and not is_empty_dir(run_dir):
        if not cfg.overwrite:
            raise RunDirError(f"{run_dir} already exists and is not empty; choose another output_dir, "
                              f"set overwrite=true, or resume it with `rnalm finetune --resume {run_dir}`")
        if not FINETUNE_RUN.owns(run_dir):
            raise RunDirError(f"{run_dir} is not a run directory (no {CONFIG_FILE}); refusing to delete it with overwrite=true")
        inside = input_inside(run_dir, [expand_path(p) for p in (cfg.data.train, cfg.data.valid, cfg.data.test)])
        if inside is not None:
            raise RunDirError(f"{run_dir} holds the data file {inside}; refusing to delete it with overwrite=true, "
                              f"choose another output_dir")
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_marker(run_dir, FINETUNE_RUN)
    return run_dir


def _load_backbone(ctx: Context) -> None:
    cfg = ctx.cfg.backbone
    if cfg.kind != "lm":
        ctx.alphabet = default_alphabet()
        return
    from rnalm.api import load

    path = expand_path(cfg.name)
    encoder, alphabet = load(path, device=ctx.device)
    ctx.encoder, ctx.alphabet = encoder, alphabet
    ctx.sha256 = state_sha256(encoder)
    ctx.log(f"backbone {cfg.name}: {encoder.config.num_layers} layers, {encoder.config.embed_dim} wide, "
            f"alphabet {alphabet.name}, weights sha256 {ctx.sha256[:12]}..., mode {cfg.mode}")


def _splits(ctx: Context, bundle: DataBundle) -> dict[str, Split]:
    d = ctx.cfg.data
    out = {}
    for name in ("train", "valid", "test"):
        recs = getattr(bundle, name)
        if recs is None:
            continue
        seqs = prepare(recs.seqs, recs.ids, recs.where, ctx.alphabet, d.truncate, d.max_length, d.unknown)
        out[name] = Split(name, recs, seqs)
    return out


def _resolve_head(cfg: FinetuneConfig, splits: dict[str, Split], encoder: Optional[torch.nn.Module]) -> None:
    """Fill in head settings that come from the data or the backbone (saved in config.yaml)."""
    h = cfg.head
    if h.type == "cnn" and h.pool == "flatten" and h.max_len is None:
        h.max_len = max(len(s) for sp in splits.values() for s in sp.seqs)
    if h.attention and encoder is not None:
        n = encoder.config.num_layers * encoder.config.attention_heads
        if h.attention_maps not in (None, n):
            raise ConfigError(f"head.attention_maps={h.attention_maps}, but the backbone gives {n} attention maps")
        h.attention_maps = n


# ------------------------------------------------------------------------------------ one model
def fit_labels(ctx: Context, train: Split, others: Sequence[Split]) -> LabelState:
    d = ctx.cfg.data
    state = ctx.task.fit(train.recs, d.label_column, d.label_transform, d.standardize or ctx.force_standardize)
    for sp in (train, *others):
        sp.targets = ctx.task.targets(sp.recs, state)
    return state


def _pair_probs(ctx: Context, needs: Sequence[str]) -> Optional[Any]:
    """The run's base-pair probability provider when the head reads ``bpp`` (made once, shared by folds)."""
    if "bpp" not in needs:
        return None
    if ctx.pair_probs is None:
        from rnalm.structure.bpp import PairProbabilities

        ctx.pair_probs = PairProbabilities()
    return ctx.pair_probs


def build_model(ctx: Context, out_dim: int) -> tuple[SequenceModel, FeatureSource]:
    cfg = ctx.cfg
    if cfg.backbone.kind == "none":
        head = build_head(cfg.head, None, out_dim)
        return SequenceModel(head), FeatureSource(head.needs, pair_probs=_pair_probs(ctx, head.needs))
    dim = ctx.encoder.config.embed_dim
    head = build_head(cfg.head, dim, out_dim)
    pp = _pair_probs(ctx, head.needs)
    if cfg.backbone.mode == "frozen":
        if "attentions" in head.needs:  # too large to cache: the frozen backbone runs with every batch
            backbone = LMBackbone(ctx.encoder, ctx.alphabet, cfg.backbone.layer, frozen=True)
            return SequenceModel(head, backbone), FeatureSource(head.needs, backbone=backbone, pair_probs=pp)
        return SequenceModel(head), FeatureSource(head.needs, frozen=ctx.frozen, pair_probs=pp)
    encoder = copy.deepcopy(ctx.encoder)  # ctx.encoder itself never trains: every fold starts from it
    if cfg.backbone.mode == "lora":
        encoder = apply_lora(encoder, cfg.backbone.lora)
    else:
        for p in encoder.parameters():
            p.requires_grad = True
    backbone = LMBackbone(encoder, ctx.alphabet, cfg.backbone.layer)
    return SequenceModel(head, backbone), FeatureSource(head.needs, backbone=backbone, pair_probs=pp)


def prediction_rows(ctx: Context, split: Split, outputs: np.ndarray, state: LabelState, fold: Optional[int]) -> list[dict]:
    cols = ctx.task.prediction_columns(split.targets, outputs, state)
    labels = ctx.task.label_values(split.targets, state)
    rows = []
    for i in range(len(split.seqs)):
        row = {"id": split.recs.ids[i], "split": split.name}
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
    m = ctx.task.metrics(split.targets, outputs, state)
    subsets = split.recs.extra.get("subset")
    if subsets:
        by = {}
        for value in sorted(set(subsets)):
            idx = [i for i, s in enumerate(subsets) if s == value]
            try:
                by[value] = ctx.task.metrics(split.targets[idx], outputs[idx], state)
            except ValueError:
                continue
        m["by_subset"] = by
    return m


def _plots(ctx: Context, out_dir: Path, split: Split, outputs: np.ndarray, state: LabelState, metrics: dict) -> list[str]:
    if not ctx.cfg.plots:
        return []
    return ctx.task.plot(split.name, split.targets, outputs, state, out_dir, metrics)


def write_predictions(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    keys: list[str] = []
    for r in rows:
        for k in r:
            if k not in keys:
                keys.append(k)
    keys = [k for k in keys if k != "sequence"] + ["sequence"]
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, (float, np.floating)) else v) for k, v in r.items()})
    tmp.replace(path)


def train_one(ctx: Context, train: Split, valid: Optional[Split], test: Optional[Split], out_dir: Path,
              fold: Optional[int] = None, resume: bool = False) -> tuple[dict, list[dict]]:
    """Train one model on ``train`` (early stopping on ``valid``), evaluate valid/test, write ``out_dir``."""
    cfg = ctx.cfg
    out_dir.mkdir(parents=True, exist_ok=True)
    evals = [s for s in (valid, test) if s is not None]
    state = fit_labels(ctx, train, evals)
    write_json(out_dir / LABEL_FILE, state.to_dict())
    metric = cfg.train.metric if cfg.train.metric != "auto" else ctx.task.default_metric(state)
    if metric != "loss" and metric not in ctx.task.metric_names(state):
        raise ConfigError(f"train.metric={metric!r} is not a {ctx.task.name} metric; one of "
                          f"{ctx.task.metric_names(state) + ['loss']}")
    seed_everything(cfg.train.seed + (fold or 0))
    ctx.task.use_decision(None)  # every model trains and selects its epoch at the default decision
    t0 = time.time()
    result: dict[str, Any] = {"n_train": len(train.seqs), "metric": metric}
    outputs: dict[str, np.ndarray] = {}
    if cfg.backbone.kind == "features":
        outputs, tstate = _train_features(ctx, train, evals, state, out_dir, metric)
        result.update(best_epoch=None, stopped_early=False)
    else:
        model, source = build_model(ctx, ctx.task.out_dim(state))
        model.to(ctx.device)
        n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        ctx.log(f"{'fold ' + str(fold) + ': ' if fold is not None else ''}training {n_params:,} parameters on "
                f"{len(train.seqs)} sequences ({cfg.head.type} head, {cfg.backbone.kind} backbone)")
        trainer = Trainer(model, ctx.task, state, cfg.train, SeqDataset(train.seqs, train.targets),
                          SeqDataset(valid.seqs, valid.targets) if valid is not None else None, source, out_dir,
                          metric, ctx.callbacks, ctx.log)
        outcome = trainer.train(resume=resume)
        model.load_saved_state(outcome.best_state)
        save_file(outcome.best_state, str(out_dir / WEIGHTS_FILE), metadata={"format": "rnalm-finetune"})
        tstate = outcome.state
        if cfg.train.select_threshold:
            record = select_decision(ctx, lambda sp: trainer.predict(SeqDataset(sp.seqs, sp.targets)), train, state,
                                     out_dir, fold)
            result["postprocess"] = decision_summary(record)
        for sp in evals:
            outputs[sp.name] = trainer.predict(SeqDataset(sp.seqs, sp.targets))
        result.update(best_epoch=outcome.best_epoch, stopped_early=outcome.stopped_early,
                      best_metric=tstate.best_metric, global_step=tstate.global_step, trainable_parameters=n_params)
        if not cfg.train.save_checkpoints:
            for d in out_dir.glob("checkpoint-*"):
                shutil.rmtree(d, ignore_errors=True)
    tstate.save(out_dir / STATE_FILE)
    rows: list[dict] = []
    figures: list[str] = []
    for sp in evals:
        m = split_metrics(ctx, sp, outputs[sp.name], state)
        result[sp.name] = m
        result[f"n_{sp.name}"] = len(sp.seqs)
        rows += prediction_rows(ctx, sp, outputs[sp.name], state, fold)
        figures += _plots(ctx, out_dir, sp, outputs[sp.name], state, m)
    if cfg.plots and any("eval_loss" in e for e in tstate.log_history):
        if plots.learning_curves(tstate.log_history, metric, out_dir / "learning_curves.png",
                                 f"(fold {fold})" if fold is not None else ""):
            figures.append("learning_curves.png")
    if cfg.plots and not plots.available():
        result["figures_skipped"] = "matplotlib is not installed"
    result["figures"] = figures
    result["train_seconds"] = round(time.time() - t0, 2)
    write_predictions(out_dir / PREDICTIONS_FILE, rows)
    write_json(out_dir / METRICS_FILE, result)
    return result, rows


def select_decision(ctx: Context, predict: Callable[[Split], np.ndarray], train: Split, state: LabelState,
                    out_dir: Path, fold: Optional[int], max_sequences: Optional[int] = None,
                    how: str = "train.select_threshold") -> dict:
    """Choose the task's decision setting (structure: the pair threshold) on at most
    ``max_sequences`` training sequences (seeded subset), use it and record it in ``out_dir``.
    ``predict(split)`` gives the model's raw outputs. Shared by training and
    ``python -m rnalm.finetune.structure.calibrate``."""
    from rnalm.structure.threshold import MAX_SEQUENCES, subset_indices, write_record

    cap = MAX_SEQUENCES if max_sequences is None else max_sequences
    seed = ctx.cfg.train.seed + (fold or 0)
    idx = subset_indices(len(train.seqs), cap, seed)
    sub = train.subset(idx)
    sub.targets = train.targets[idx]
    t0 = time.time()
    record = ctx.task.select_decision(sub.targets, predict(sub), state, n_train=len(train.seqs), seed=seed,
                                      max_sequences=cap, how=how)
    ctx.task.use_decision(record)
    write_record(out_dir, record)
    ctx.log(f"{'fold ' + str(fold) + ': ' if fold is not None else ''}threshold {record['threshold']:.2f} chosen on "
            f"{record['n_sequences']} training sequences (train F1 {record['f1_train']:.4f}, at 0.5 "
            f"{record['f1_train_t050']:.4f}; {time.time() - t0:.1f}s)")
    return record


def decision_summary(record: dict) -> dict:
    """What metrics.json keeps of a threshold record."""
    return {k: record[k] for k in ("threshold", "source", "combine", "folds", "n_sequences", "f1_train",
                                   "f1_train_t050") if k in record}


def _train_features(ctx: Context, train: Split, evals: Sequence[Split], state: LabelState, out_dir: Path,
                    metric: str) -> tuple[dict[str, np.ndarray], TrainerState]:
    from rnalm.finetune.features import FeatureModel, feature_matrix

    fs = ctx.cfg.backbone.features
    t0 = time.time()
    model = FeatureModel(fs, ctx.task.name, ctx.cfg.train.seed).fit(feature_matrix(train.seqs, fs, ctx.cache_root), train.targets)
    model.save(out_dir / FEATURE_MODEL_FILE)
    n_classes = ctx.task.out_dim(state) if ctx.task.name == "classification" else 0
    outputs = {sp.name: model.outputs(feature_matrix(sp.seqs, fs, ctx.cache_root), n_classes) for sp in evals}
    tstate = TrainerState(epoch=1.0, global_step=fs.max_iter, max_steps=fs.max_iter, num_train_epochs=1)
    valid = next((sp for sp in evals if sp.name == "valid"), None)
    if valid is not None:
        m = ctx.task.metrics(valid.targets, outputs["valid"], state)
        tstate.log_history.append({"epoch": 1.0, "step": fs.max_iter,
                                   **{f"eval_{k}": v for k, v in m.items() if k != "n"}})
        tstate.best_metric = m.get(metric)
        tstate.best_global_step = fs.max_iter
    tstate.log_history.append({"epoch": 1.0, "step": fs.max_iter, "train_runtime": round(time.time() - t0, 4)})
    ctx.log(f"feature baseline: gradient boosting on {len(train.seqs)} sequences in {time.time() - t0:.1f}s")
    return outputs, tstate


# ------------------------------------------------------------------------------------ whole runs
def _strata(ctx: Context, split: Split) -> Optional[list]:
    if ctx.task.name != "classification" or not ctx.cfg.cv.stratify:
        return None
    return [str(v).strip() for v in split.recs.labels]


def _groups(split: Split) -> Optional[list]:
    return split.recs.groups if split.recs.has_groups else None


def _run_info(ctx: Context, bundle: DataBundle, needs: Sequence[str]) -> dict:
    cfg = ctx.cfg
    from rnalm import __version__

    info: dict[str, Any] = {
        "rnalm_version": __version__,
        "task": cfg.task,
        "backbone": {"name": cfg.backbone.name, "kind": cfg.backbone.kind, "mode": cfg.backbone.mode,
                     "alphabet": ctx.alphabet.to_dict()},
        "head": {"type": cfg.head.type, "needs": sorted(needs)},
        **({"vienna": {"version": ctx.pair_probs.version, "use": "base-pair probabilities (head.vienna_bpp)"}}
           if ctx.pair_probs is not None else {}),
        "label_name": bundle.label_name,
        "notes": bundle.notes,
        "force_standardize": bundle.force_standardize,
    }
    if ctx.encoder is not None:
        info["backbone"].update(path=_backbone_ref(cfg.backbone.name), sha256=ctx.sha256,
                                layer=LMBackbone(ctx.encoder, ctx.alphabet, cfg.backbone.layer).layer,
                                embed_dim=ctx.encoder.config.embed_dim,
                                num_layers=ctx.encoder.config.num_layers,
                                max_length=ctx.alphabet.max_length)
    return info


def _backbone_ref(name: str) -> str:
    """What the run records as its backbone: ``shipped:NAME`` for a model shipped with rnalm (its
    location changes with the installation), else the checkpoint's absolute path."""
    from rnalm import shipped

    expanded = expand_path(name)
    if not Path(expanded).exists() and shipped.is_ref(expanded):
        return shipped.ref(str(expanded).removeprefix(shipped.PREFIX))
    return str(Path(expanded).resolve())


def head_needs(ctx: Context) -> frozenset:
    if ctx.cfg.backbone.kind == "features":
        return frozenset()
    dim = ctx.encoder.config.embed_dim if ctx.encoder is not None else None
    return build_head(ctx.cfg.head, dim, 1).needs


def finetune(config: FinetuneConfig | str | Path | dict, overrides: Sequence[str] = (), resume: bool = False,
             callbacks: Sequence[Any] = (), log: Optional[Callable[[str], None]] = print) -> RunResult:
    """Run a fine-tuning config end to end and return the run directory and its metrics.

    ``config``: a :class:`FinetuneConfig`, a YAML path or a dict; ``overrides``: ``key=value``
    strings. ``resume=True`` with a run directory path (or a config whose ``output_dir`` is one)
    continues an interrupted run from its last checkpoint using the run's saved config.
    """
    log = log or (lambda _m: None)
    if resume and isinstance(config, (str, Path)) and Path(config).is_dir():
        run_dir = Path(config)
        if not (run_dir / CONFIG_FILE).is_file():
            raise RunDirError(f"{run_dir}: no {CONFIG_FILE}; not a run directory to resume")
        cfg = load_finetune_config(run_dir / CONFIG_FILE, overrides)
        cfg.output_dir = str(run_dir)
    elif isinstance(config, FinetuneConfig):
        cfg = load_finetune_config(data=config.to_dict(), overrides=overrides)
    elif isinstance(config, dict):
        cfg = load_finetune_config(data=config, overrides=overrides)
    else:
        cfg = load_finetune_config(config, overrides)
    with output_lock(Path(expand_path(cfg.output_dir))):
        run_dir = _prepare_run_dir(cfg, resume)
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        prev_det = torch.are_deterministic_algorithms_enabled()
        if cfg.train.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        try:
            return _finetune(cfg, run_dir, resume, callbacks, log)
        finally:
            torch.use_deterministic_algorithms(prev_det)


def _finetune(cfg: FinetuneConfig, run_dir: Path, resume: bool, callbacks: Sequence[Any],
              log: Callable[[str], None]) -> RunResult:
    task = get_task(cfg.task)
    ctx = Context(cfg, task, run_dir, log, alphabet=None, callbacks=callbacks, device=resolve_device(cfg.train.device))
    bundle = load_data(cfg.data, cfg.task)
    ctx.force_standardize = bundle.force_standardize and cfg.task == "regression"
    _load_backbone(ctx)
    splits = _splits(ctx, bundle)
    _resolve_head(cfg, splits, ctx.encoder)
    ctx.cache_root = Path(expand_path(cfg.backbone.cache_dir)) if cfg.backbone.cache_dir else default_cache_dir()
    needs = head_needs(ctx)
    if ctx.encoder is not None and cfg.backbone.mode == "frozen":
        if not (set(needs) & {"cls", "mean", "tokens"}):
            raise ConfigError(f"head {cfg.head.type!r} uses no language-model features; drop backbone.name or "
                              f"use a head that reads embeddings")
    if ctx.encoder is not None and cfg.backbone.mode == "frozen" and "attentions" in needs:
        log("attention maps are not cached: the frozen backbone runs with every batch")
    elif ctx.encoder is not None and cfg.backbone.mode == "frozen":
        cache = EmbeddingCache(ctx.cache_root, ctx.sha256, LMBackbone(ctx.encoder, ctx.alphabet, cfg.backbone.layer).layer) \
            if cfg.backbone.cache else None
        ctx.frozen = FrozenFeatures(LMBackbone(ctx.encoder, ctx.alphabet, cfg.backbone.layer), needs, cache,
                                    cfg.backbone.embed_batch_size, progress=log is print)
        t0 = time.time()
        ctx.frozen.ensure(s for sp in splits.values() for s in sp.seqs)
        log(f"frozen embeddings: {ctx.frozen.computed} computed, {ctx.frozen.from_cache} from cache "
            f"({time.time() - t0:.1f}s)")
    if "bpp" in needs:
        from rnalm.structure.bpp import PairProbabilities

        ctx.pair_probs = PairProbabilities(ctx.cache_root if cfg.backbone.cache else None)
        t0 = time.time()
        ctx.pair_probs.ensure((s for sp in splits.values() for s in sp.seqs), log)
        log(f"ViennaRNA {ctx.pair_probs.version} base-pair probabilities: {ctx.pair_probs.computed} computed, "
            f"{ctx.pair_probs.from_cache} from cache ({time.time() - t0:.1f}s)")
    (run_dir / CONFIG_FILE).write_text(cfg.to_yaml())
    info = _run_info(ctx, bundle, needs)
    for note in bundle.notes:
        log(note)
    if cfg.cv.folds >= 2:
        metrics = _run_cv(ctx, splits, info, resume)
    else:
        metrics = _run_holdout(ctx, splits, info, resume)
    metrics["notes"] = bundle.notes
    write_json(run_dir / METRICS_FILE, metrics)
    log(f"run directory: {run_dir}")
    return RunResult(run_dir, metrics)


def holdout_splits(ctx: Context, splits: dict[str, Split]) -> tuple[Split, Optional[Split], Optional[str]]:
    """``(train, valid, note)`` of a run without cross-validation (``valid_fraction`` held out of
    ``data.train`` when there is no ``data.valid``)."""
    cfg = ctx.cfg
    train = splits["train"]
    valid = splits.get("valid")
    note = None
    if valid is None and cfg.data.valid_fraction > 0:
        tr, va = holdout(len(train.seqs), cfg.data.valid_fraction, cfg.train.seed, _strata(ctx, train), _groups(train))
        train, valid = train.subset(tr, "train"), train.subset(va, "valid")
        note = f"{len(va)} rows held out of data.train (valid_fraction={cfg.data.valid_fraction}, seed {cfg.train.seed})"
    return train, valid, note


def cv_folds(ctx: Context, data: Split) -> list:
    return kfold(len(data.seqs), ctx.cfg.cv.folds, ctx.cfg.train.seed, _strata(ctx, data), _groups(data))


def fold_splits(ctx: Context, data: Split, folds: list, i: int) -> tuple[Split, Split, Split]:
    """``(train, valid, test)`` of fold ``i`` (``folds`` from :func:`cv_folds`)."""
    cfg = ctx.cfg
    tr_idx, te_idx = folds[i]
    train, test = data.subset(tr_idx, "train"), data.subset(te_idx, "test")
    if cfg.cv.inner_valid_fraction > 0:
        sub = train
        a, b = holdout(len(sub.seqs), cfg.cv.inner_valid_fraction, cfg.train.seed + i, _strata(ctx, sub),
                       _groups(sub) if cfg.cv.inner_valid_grouped else None)
        train, valid = sub.subset(a, "train"), sub.subset(b, "valid")
    else:
        valid = test.subset(range(len(test.seqs)), "valid")
    return train, valid, test


def rebuild_splits(ctx: Context) -> dict[str, Split]:
    """A run's data, read and prepared as :func:`finetune` did (``ctx.alphabet`` set), before the
    holdout / fold split."""
    return _splits(ctx, load_data(ctx.cfg.data, ctx.cfg.task))


def _run_holdout(ctx: Context, splits: dict[str, Split], info: dict, resume: bool) -> dict:
    cfg = ctx.cfg
    train, valid, note = holdout_splits(ctx, splits)
    if note:
        info["valid_split"] = note
    write_json(ctx.run_dir / INFO_FILE, {**info, "folds": None})
    result, _ = train_one(ctx, train, valid, splits.get("test"), ctx.run_dir, None, resume)
    result = {"task": cfg.task, **result}
    for name in ("valid", "test"):
        if name in result:
            ctx.log(f"{name}: " + ", ".join(f"{k}={v:.4f}" for k, v in result[name].items()
                                             if isinstance(v, float) and k != "n"))
    return result


def _run_cv(ctx: Context, splits: dict[str, Split], info: dict, resume: bool) -> dict:
    cfg = ctx.cfg
    data = splits["train"]
    k = cfg.cv.folds
    folds = cv_folds(ctx, data)
    only = cfg.cv.only if cfg.cv.only is not None else list(range(k))
    write_json(ctx.run_dir / INFO_FILE, {**info, "folds": only, "n_folds": k})
    per_fold, all_rows = [], []
    for i in only:
        fold_dir = ctx.run_dir / f"fold_{i}"
        if resume and (fold_dir / METRICS_FILE).is_file():
            result = json.loads((fold_dir / METRICS_FILE).read_text())
            with open(fold_dir / PREDICTIONS_FILE, newline="") as fh:
                all_rows += [r for r in csv.DictReader(fh) if r["split"] == "test"]
            ctx.log(f"fold {i}: already complete")
        else:
            train, valid, test = fold_splits(ctx, data, folds, i)
            result, rows = train_one(ctx, train, valid, test, fold_dir, i, resume)
            all_rows += [r for r in rows if r["split"] == "test"]
            ctx.log(f"fold {i}: test " + ", ".join(f"{m}={v:.4f}" for m, v in result["test"].items()
                                                    if isinstance(v, float) and m != "n"))
        per_fold.append({"fold": i, **result})
    metric = per_fold[0]["metric"]
    out = {"task": cfg.task, "metric": metric, "cv": {
        "folds": k, "run": only, "stratified": _strata(ctx, data) is not None, "grouped": _groups(data) is not None,
        "selection_on_test_fold": cfg.cv.inner_valid_fraction == 0, "per_fold": per_fold}}
    out["cv"].update(fold_summaries(per_fold))
    summary = out["cv"]["mean_std"]
    if cfg.train.select_threshold:
        out["postprocess"] = decision_summary(write_cv_decision(ctx.run_dir, only))
    pooled = _pooled_metrics(ctx, all_rows)
    if pooled is not None:
        out["cv"]["pooled_out_of_fold"] = pooled
    write_predictions(ctx.run_dir / PREDICTIONS_FILE, all_rows)
    if cfg.plots:
        plots.fold_summary([f["test"].get(metric) for f in per_fold], metric, ctx.run_dir / f"folds_{metric}.png")
    s = summary.get(metric, {})
    if s.get("mean") is not None:
        ctx.log(f"{k}-fold CV: test {metric} = {s['mean']:.4f} ± {s['std']:.4f}")
    return out


def fold_summaries(per_fold: list[dict]) -> dict:
    """``mean_std`` (and ``mean_std_by_subset``) of the folds' test metrics."""
    out: dict[str, Any] = {"mean_std": summarize_folds([f["test"] for f in per_fold])}
    subsets = sorted({s for f in per_fold for s in f["test"].get("by_subset", {})})
    if subsets:
        out["mean_std_by_subset"] = {
            s: summarize_folds([f["test"]["by_subset"][s] for f in per_fold if s in f["test"].get("by_subset", {})])
            for s in subsets}
    return out


def write_cv_decision(run_dir: Path, folds: Sequence[int]) -> dict:
    """The top-level threshold record of a cross-validated run from its folds' records."""
    from rnalm.structure.threshold import cv_record, read_record, write_record

    records = {}
    for i in folds:
        rec = read_record(run_dir / f"fold_{i}")
        if rec is None:
            raise RunDirError(f"{run_dir}/fold_{i}: no threshold record; run `python -m rnalm.finetune.structure.calibrate "
                              f"{run_dir}`")
        records[i] = rec
    record = cv_record(records)
    write_record(run_dir, record)
    return record


def _pooled_metrics(ctx: Context, rows: list[dict]) -> Optional[dict]:
    """Metrics over all out-of-fold predictions together (regression only: scales agree across folds)."""
    if ctx.task.name != "regression" or not rows:
        return None
    from rnalm.finetune.metrics import regression_metrics

    y = np.array([float(r["label"]) for r in rows])
    p = np.array([float(r["prediction"]) for r in rows])
    return regression_metrics(y, p)


__all__ = ["RunResult", "cv_folds", "decision_summary", "finetune", "fold_splits", "fold_summaries",
           "holdout_splits", "rebuild_splits", "select_decision", "train_one", "write_cv_decision"]
