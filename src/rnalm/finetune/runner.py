"""``rnalm finetune``: from a config to a complete run directory.

The run directory it writes is laid out as :mod:`rnalm.runs.rundir` describes.
"""

from __future__ import annotations

import copy
import csv
import json
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Collection, Optional, Sequence

import torch
import yaml

from rnalm import shipped
from rnalm.errors import option
from rnalm.finetune.context import (
    Context,
    Split,
    load_backbone,
    prepare_splits,
    resolve_head,
)
from rnalm.finetune.data.loader_table import load_data
from rnalm.finetune.data.loaders import DataBundle
from rnalm.finetune.decision import decision_summary, write_cv_decision
from rnalm.finetune.evaluation import (
    fit_labels,
    fold_summaries,
    pooled_metrics,
    prediction_rows,
    split_metrics,
    write_predictions,
)
from rnalm.finetune.one_model import train_one
from rnalm.finetune.run_splits import cv_folds, fold_splits, groups, holdout_splits, strata
from rnalm.io.jsonfile import write_json
from rnalm.io.output_guard import OutputKind, input_inside, is_empty_dir, output_lock, write_marker
from rnalm.io.progress import wanted
from rnalm.metrics import summarize_folds
from rnalm.numerics import current, reproducible
from rnalm.precision import Precision, resolve
from rnalm.runs import plots
from rnalm.runs.backbones import FrozenFeatures, LMBackbone
from rnalm.runs.builder import head_needs
from rnalm.runs.config import FinetuneConfig, expand_path
from rnalm.runs.config_file import load_finetune_config
from rnalm.runs.embedding_cache import EmbeddingCache, default_cache_dir, embedding_cache_id
from rnalm.runs.errors import ConfigError, RunDirError
from rnalm.runs.model import run_device
from rnalm.runs.predict import Predictor
from rnalm.runs.rundir import (
    CONFIG_FILE,
    INFO_FILE,
    METRICS_FILE,
    PREDICTIONS_FILE,
    RunDir,
)
from rnalm.runs.tasks import get_task
from rnalm.structure.bpp import PairProbabilities
from rnalm.version import __version__


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict[str, Any]
    #: the type the run computed in
    precision: Precision = field(default_factory=lambda: resolve("float32", "cpu"))


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
            raise RunDirError(
                f"{run_dir} already exists and is not empty; choose another {option('output_dir')}, "
                f"pass {option('overwrite')} to replace it, or {option('resume')} to continue it"
            )
        if not FINETUNE_RUN.owns(run_dir):
            raise RunDirError(
                f"{run_dir} is not a run directory (no {CONFIG_FILE}); refusing to delete it with {option('overwrite')}"
            )
        data_files = (cfg.data.train, cfg.data.valid, cfg.data.test, *(e.path for e in cfg.data.extra_sources()))
        inside = input_inside(run_dir, [expand_path(p) for p in data_files])
        if inside is not None:
            raise RunDirError(
                f"{run_dir} holds the data file {inside}; refusing to delete it with {option('overwrite')}, "
                f"choose another {option('output_dir')}"
            )
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_marker(run_dir, FINETUNE_RUN)
    return run_dir


def _run_info(ctx: Context, bundle: DataBundle, needs: Collection[str]) -> dict:
    cfg = ctx.cfg
    info: dict[str, Any] = {
        "rnalm_version": __version__,
        "task": cfg.task,
        "backbone": {
            "name": cfg.backbone.name,
            "kind": cfg.backbone.kind,
            "mode": cfg.backbone.mode,
            "alphabet": ctx.alphabet.to_dict(),
        },
        "head": {"type": cfg.head.type, "needs": sorted(needs)},
        **(
            {
                "vienna": {
                    "version": ctx.pair_probs.version,
                    "use": "base-pair probabilities (structure.vienna_bpp)",
                    "params": list(ctx.pair_probs.params),  # energy parameter sets, one map each
                }
            }
            if ctx.pair_probs is not None
            else {}
        ),
        "label_name": bundle.label_name,
        "notes": bundle.notes,
        "force_standardize": bundle.force_standardize,
        "numerics": current().to_dict(),  # whether the math ran in the run-to-run reproducible mode
        "precision": ctx.precision.to_dict(),  # the type the run computed in (predictions from it use it too)
    }
    if ctx.encoder is not None:
        info["backbone"].update(
            path=_backbone_ref(cfg.backbone.name),
            sha256=ctx.sha256,
            layer=LMBackbone(ctx.encoder, ctx.alphabet, cfg.backbone.layer).layer,
            embed_dim=ctx.encoder.config.embed_dim,
            num_layers=ctx.encoder.config.num_layers,
            max_length=ctx.alphabet.max_length,
        )
    return info


def _backbone_ref(name: str) -> str:
    """What the run records as its backbone: ``shipped:NAME`` for a model shipped with rnalm (its
    location changes with the installation), else the checkpoint's absolute path."""
    expanded = expand_path(name)
    if not Path(expanded).exists() and shipped.is_ref(expanded):
        return shipped.ref(str(expanded).removeprefix(shipped.PREFIX))
    return str(Path(expanded).resolve())


def recorded_dtype(run_dir: Path) -> str:
    """The type a run directory's saved config records; float32 for runs saved before
    ``train.dtype`` existed (they all trained in float32)."""
    try:
        data = yaml.safe_load((run_dir / CONFIG_FILE).read_text()) or {}
    except (OSError, yaml.YAMLError):
        return "float32"
    train = data.get("train") if isinstance(data, dict) else None
    value = train.get("dtype") if isinstance(train, dict) else None
    return str(value) if value not in (None, "auto") else "float32"


#: tasks that ``train.dtype=auto`` keeps in float32, and why
FLOAT32_TASKS = {
    "structure": "the pairwise head's base-pair prior, log(p / (1 - p)), overflows in bfloat16",
}


def run_precision(cfg: FinetuneConfig, run_dir: Path, device: torch.device, resume: bool) -> Precision:
    """``train.dtype`` resolved for ``device``; a resumed run continues in the type it recorded."""
    if not resume:
        if cfg.train.dtype == "auto" and cfg.task in FLOAT32_TASKS:
            return Precision("float32", f"auto: task={cfg.task}: {FLOAT32_TASKS[cfg.task]}", device.type)
        return resolve(cfg.train.dtype, device, "train.dtype")
    recorded = recorded_dtype(run_dir)
    if cfg.train.dtype not in ("auto", recorded):
        raise ConfigError(
            f"{run_dir} was trained in {recorded}; {option('resume')} continues in it "
            f"(drop {option('train.dtype', cfg.train.dtype)}, or start a new run)"
        )
    return resolve(recorded, device, "train.dtype")


def finetune(
    config: FinetuneConfig | str | Path | dict,
    overrides: Sequence[str] = (),
    resume: bool = False,
    callbacks: Sequence[Any] = (),
    log: Optional[Callable[[str], None]] = print,
    progress: Optional[bool] = None,
) -> RunResult:
    """Run a fine-tuning config end to end and return the run directory and its metrics.

    ``config``: a :class:`FinetuneConfig`, a YAML path or a dict; ``overrides``: ``key=value``
    strings. ``resume=True`` with a run directory path (or a config whose ``output_dir`` is one)
    continues an interrupted run from its last checkpoint using the run's saved config.
    ``progress``: a bar over each epoch's steps -- ``None`` on a terminal or in a notebook only,
    ``True`` always, ``False`` never.
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
        # the run's type, read before anything is written: config.yaml then records it resolved
        precision = run_precision(cfg, run_dir, run_device(cfg.train.device), resume)
        cfg.train.dtype = precision.name
        if cfg.train.deterministic:
            reproducible()  # run-to-run identical math (a no-op under RNALM_FAST_MATH=1)
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        prev_det = torch.are_deterministic_algorithms_enabled()
        if cfg.train.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        try:
            return _finetune(cfg, run_dir, resume, callbacks, log, progress, precision)
        finally:
            torch.use_deterministic_algorithms(prev_det)


def _finetune(
    cfg: FinetuneConfig,
    run_dir: Path,
    resume: bool,
    callbacks: Sequence[Any],
    log: Callable[[str], None],
    progress: Optional[bool],
    precision: Precision,
) -> RunResult:
    task = get_task(cfg.task, cfg)
    ctx = Context(
        cfg,
        task,
        run_dir,
        log,
        alphabet=None,
        callbacks=callbacks,
        device=run_device(cfg.train.device),
        progress=progress,
        precision=precision,
    )
    log(f"precision: {precision.summary()}; weights and optimizer state float32")
    bundle = load_data(cfg.data, cfg.task)
    ctx.force_standardize = bundle.force_standardize and task.scales_labels
    load_backbone(ctx)
    splits = prepare_splits(ctx, bundle)
    resolve_head(cfg, splits, ctx.encoder)
    ctx.cache_root = Path(expand_path(cfg.backbone.cache_dir)) if cfg.backbone.cache_dir else default_cache_dir()
    needs = head_needs(cfg, ctx.encoder)
    if ctx.encoder is not None and cfg.backbone.mode == "frozen":
        if not (set(needs) & {"cls", "mean", "tokens"}):
            raise ConfigError(
                f"head {cfg.head.type!r} uses no language-model features; drop backbone.name or "
                f"use a head that reads embeddings"
            )
    if ctx.encoder is not None and cfg.backbone.mode == "frozen" and "attentions" in needs:
        log("attention maps are not cached: the frozen backbone runs with every batch")
    elif ctx.encoder is not None and ctx.sha256 is not None and cfg.backbone.mode == "frozen":
        cache = (
            EmbeddingCache(
                ctx.cache_root,
                embedding_cache_id(ctx.sha256, precision),
                LMBackbone(ctx.encoder, ctx.alphabet, cfg.backbone.layer).layer,
            )
            if cfg.backbone.cache
            else None
        )
        ctx.frozen = FrozenFeatures(
            LMBackbone(ctx.encoder, ctx.alphabet, cfg.backbone.layer),
            needs,
            cache,
            cfg.backbone.embed_batch_size,
            progress=wanted(ctx.progress),  # a bar where -q/--progress and the terminal allow
        )
        t0 = time.time()
        with precision.autocast():
            ctx.frozen.ensure(s for sp in splits.values() for s in sp.seqs)
        log(
            f"frozen embeddings: {ctx.frozen.computed} computed, {ctx.frozen.from_cache} from cache "
            f"({time.time() - t0:.1f}s)"
        )
    if "bpp" in needs:
        ctx.pair_probs = PairProbabilities(
            ctx.cache_root if cfg.backbone.cache else None, params=cfg.structure.vienna_params
        )
        t0 = time.time()
        ctx.pair_probs.ensure((s for sp in splits.values() for s in sp.seqs), log)
        log(
            f"ViennaRNA {ctx.pair_probs.version} base-pair probabilities ({', '.join(ctx.pair_probs.params)}): "
            f"{ctx.pair_probs.computed} maps computed, "
            f"{ctx.pair_probs.from_cache} from cache ({time.time() - t0:.1f}s)"
        )
    (run_dir / CONFIG_FILE).write_text(cfg.to_yaml())
    info = _run_info(ctx, bundle, needs)
    for note in bundle.notes:
        log(note)
    if cfg.cv.folds >= 2:
        metrics = _run_cv(ctx, splits, info, resume)
    elif cfg.train.members > 1:
        metrics = _run_members(ctx, splits, info, resume)
    else:
        metrics = _run_holdout(ctx, splits, info, resume)
    metrics["notes"] = bundle.notes
    write_json(run_dir / METRICS_FILE, metrics)
    log(f"run directory: {run_dir}")
    return RunResult(run_dir, metrics, ctx.precision)


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
            ctx.log(
                f"{name}: "
                + ", ".join(f"{k}={v:.4f}" for k, v in result[name].items() if isinstance(v, float) and k != "n")
            )
    return result


def _run_members(ctx: Context, splits: dict[str, Split], info: dict, resume: bool) -> dict:
    """An ensemble on one split: ``train.members`` models that differ only in their seed (initial
    weights, batch order), each in ``member_<i>/``; the run's figures are the ensemble's, computed
    by :class:`~rnalm.runs.predict.Predictor` exactly as ``rnalm predict`` will combine them."""
    cfg = ctx.cfg
    train, valid, note = holdout_splits(ctx, splits)  # drawn by train.seed, shared by every member
    if note:
        info["valid_split"] = note
    n = cfg.train.members
    write_json(ctx.run_dir / INFO_FILE, {**info, "folds": None, "members": list(range(n))})
    # the ensemble's figures need the splits' targets even when every member is resumed complete
    # (a run stopped after its last member, or members joined from another run) and none refits them
    fit_labels(ctx, train, [s for s in (valid, splits.get("test")) if s is not None])
    per_member = []
    for i in range(n):
        member_dir = RunDir(ctx.run_dir).member(i).path
        if resume and (member_dir / METRICS_FILE).is_file():
            result = json.loads((member_dir / METRICS_FILE).read_text())
            ctx.log(f"member {i}: already complete")
        else:
            member_cfg = copy.deepcopy(cfg)
            member_cfg.train.seed = cfg.train.seed + i
            ctx.log(f"member {i + 1}/{n}: seed {member_cfg.train.seed}")
            result, _ = train_one(
                replace(ctx, cfg=member_cfg), train, valid, splits.get("test"), member_dir, None, resume
            )
        per_member.append({"member": i, "seed": cfg.train.seed + i, **result})
    predictor = Predictor(ctx.run_dir, log=lambda _m: None, device=str(ctx.device), dtype=ctx.precision.name)
    state = predictor.states[0]
    out: dict[str, Any] = {
        "task": cfg.task,
        "metric": per_member[0]["metric"],
        "n_train": per_member[0]["n_train"],
        "trainable_parameters": per_member[0].get("trainable_parameters"),
        "train_seconds": round(sum(m.get("train_seconds", 0.0) for m in per_member), 2),
        "members": per_member,
    }
    rows: list[dict] = []
    for sp in (s for s in (valid, splits.get("test")) if s is not None):
        outputs = ctx.task.combine([o for o, _ in predictor.raw_outputs(sp.seqs, cfg.train.eval_batch_size)])
        out[sp.name] = split_metrics(ctx, sp, outputs, state)
        out[f"n_{sp.name}"] = len(sp.seqs)
        out[f"members_{sp.name}"] = summarize_folds([m[sp.name] for m in per_member])
        rows += prediction_rows(ctx, sp, outputs, state, None)
        ctx.log(
            f"{sp.name} (ensemble of {n}): "
            + ", ".join(f"{k}={v:.4f}" for k, v in out[sp.name].items() if isinstance(v, float))
        )
    write_predictions(ctx.run_dir / PREDICTIONS_FILE, rows)
    return out


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
            train, valid, test = fold_splits(ctx, data, folds, i, splits.get("extra_train"))
            result, rows = train_one(ctx, train, valid, test, fold_dir, i, resume)
            all_rows += [r for r in rows if r["split"] == "test"]
            ctx.log(
                f"fold {i}: test "
                + ", ".join(f"{m}={v:.4f}" for m, v in result["test"].items() if isinstance(v, float) and m != "n")
            )
        per_fold.append({"fold": i, **result})
    metric = per_fold[0]["metric"]
    out = {
        "task": cfg.task,
        "metric": metric,
        "cv": {
            "folds": k,
            "run": only,
            "stratified": strata(ctx, data) is not None,
            "grouped": groups(data) is not None,
            "selection_on_test_fold": cfg.cv.inner_valid_fraction == 0,
            "per_fold": per_fold,
        },
    }
    out["cv"].update(fold_summaries(per_fold))
    summary = out["cv"]["mean_std"]
    if cfg.structure.select_threshold:
        out["postprocess"] = decision_summary(write_cv_decision(ctx.run_dir, only))
    pooled = pooled_metrics(ctx, all_rows)
    if pooled is not None:
        out["cv"]["pooled_out_of_fold"] = pooled
    write_predictions(ctx.run_dir / PREDICTIONS_FILE, all_rows)
    if cfg.plots:
        plots.fold_summary([f["test"].get(metric) for f in per_fold], metric, ctx.run_dir / f"folds_{metric}.png")
    s = summary.get(metric, {})
    if s.get("mean") is not None:
        ctx.log(f"{k}-fold CV: test {metric} = {s['mean']:.4f} ± {s['std']:.4f}")
    return out


__all__ = ["FINETUNE_RUN", "RunResult", "finetune", "is_run_dir"]
