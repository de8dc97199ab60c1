"""The pretraining loop: MLM (+ MFE + structure), DDP or FSDP under torchrun, exact resume.

Reproducibility contract. Micro-batch ``m`` (counted over the whole run) is fully determined by
the seed: its examples come from the epoch's seeded token-budget batches, and its masking from a
generator seeded with ``(seed, m)``. An optimisation step consumes ``grad_accum * world_size``
consecutive micro-batches, rank ``r`` taking those with ``m % world_size == r``. Hence one process
with ``grad_accum = k`` and ``k`` processes with ``grad_accum = 1`` compute the same update (DDP
averages gradients across ranks as accumulation averages them across micro-batches), and a run
resumed from a checkpoint continues exactly as the uninterrupted run would. FSDP averages gradients
the same way, so the contract holds for ``distributed: fsdp`` too (up to float reduction order).
It holds in bfloat16 (``dtype``) as in float32: autocast changes the type of the forward's matrix
products, not the order of the work, and a resumed run computes in the type its run folder records.

Checkpoints hold full (unsharded) tensors in both modes: the model as a native rnalm directory and
the optimizer state keyed by parameter name, gathered to rank 0 under FSDP. A checkpoint written
under FSDP therefore has the same format as one written under DDP or by a single process.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch
import yaml

from rnalm.alphabet import Alphabet
from rnalm.configfile import to_yaml
from rnalm.errors import RnalmError, option
from rnalm.io.native import save_native
from rnalm.io.output_guard import output_lock
from rnalm.io.progress import Progress
from rnalm.model import RNAEncoder
from rnalm.numerics import reproducible
from rnalm.precision import Precision, resolve
from rnalm.pretrain.build import build_model
from rnalm.pretrain.checkpoints import (
    full_model,
    full_optim_state,
    latest_checkpoint,
    restore_checkpoint,
    save_checkpoint,
)
from rnalm.pretrain.config import PretrainConfig, dtype_choice
from rnalm.pretrain.data import CorpusReport, Example, MicroBatches, load_corpus
from rnalm.pretrain.distributed import Dist, apply_fsdp, barrier, finish_distributed, init_distributed, wrap_for_ddp
from rnalm.pretrain.labels import LabelCache, LabelStats, compute_labels
from rnalm.pretrain.objective import collate, compute_losses, evaluate, summarise
from rnalm.pretrain.run_output import claim_pretrain_output
from rnalm.pretrain.runlog import RunLog
from rnalm.schema import check_fields
from rnalm.training.schedule import lr_factor


def pretrain(
    cfg: PretrainConfig, resume: bool = False, overwrite: bool = False, progress: Optional[bool] = None
) -> dict[str, Any]:
    """Run pretraining; returns the final metrics. Writes to ``cfg.output``.

    An existing, non-empty output needs ``resume`` (continue from its newest checkpoint) or
    ``overwrite`` (start over; only an rnalm pretraining output, see :mod:`.run_output`). The
    main rank holds the output's one-writer lock for the whole run. ``progress``: a bar over the
    steps and a closing line (steps, time, rate) on standard error -- ``None``: the bar on a
    terminal or in a notebook when the config's ``progress`` is true; ``True`` always; ``False``
    neither.
    """
    check_fields(cfg, "pretrain config")
    if cfg.distributed not in ("ddp", "fsdp"):
        raise RnalmError(f"distributed must be 'ddp' or 'fsdp', got {cfg.distributed!r}")
    if resume and overwrite:
        raise RnalmError(f"{option('resume')} and {option('overwrite')} exclude each other")
    reproducible()  # run-to-run identical math (a no-op under RNALM_FAST_MATH=1)
    dist = init_distributed(cfg.device)
    out = Path(cfg.output)
    with ExitStack() as held:
        if dist.main:
            held.enter_context(output_lock(out))
            claim_pretrain_output(out, resume, overwrite, [*cfg.data.paths, cfg.model.init_from])
        show = progress if progress is not None else (None if cfg.progress else False)
        return _pretrain(cfg, resume, dist, out, show if dist.main else False, progress is not False)


@dataclass
class _Run:
    """Everything one pretraining run holds while it trains."""

    cfg: PretrainConfig
    dist: Dist
    out: Path
    model: RNAEncoder
    alphabet: Alphabet
    info: dict
    device: torch.device
    train: list[Example]
    valid: list[Example]
    report: CorpusReport
    log: RunLog
    precision: Precision
    train_labels: list = field(default_factory=list)
    valid_labels: list = field(default_factory=list)
    step: int = 0

    @property
    def sharded(self) -> bool:
        return self.cfg.distributed == "fsdp" and self.dist.world > 1

    def autocast(self) -> AbstractContextManager:
        """The context forward passes run in: bf16 autocast when the run computes in bfloat16."""
        return self.precision.autocast()


def _pretrain(
    cfg: PretrainConfig, resume: bool, dist: Dist, out: Path, show: Optional[bool], closing_line: bool
) -> dict[str, Any]:
    run = _start(cfg, dist, out, resume)
    _label_examples(run)
    if run.sharded:  # before the optimizer: fully_shard replaces parameters with sharded DTensors
        apply_fsdp(run.model)
    params = [p for p in run.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        params, lr=cfg.optim.lr, betas=(cfg.optim.betas[0], cfg.optim.betas[1]), weight_decay=cfg.optim.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_factor(cfg.optim.schedule, cfg.optim.warmup_steps, cfg.optim.max_steps)
    )
    if resume:
        ck = latest_checkpoint(out)
        if ck is not None:
            run.step = restore_checkpoint(ck, run.model, optimizer, scheduler)
            run.log.truncate_after(run.step)
            run.log.info(f"resumed from {ck} at step {run.step}")
    if dist.main and run.step == 0:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text(to_yaml(run.cfg))
    bar = _train(run, params, optimizer, scheduler, show)
    metrics = _finish(run)
    if dist.main and closing_line:
        print(f"rnalm pretrain: {bar.summary()}, {run.precision.summary()} -> {out}", file=sys.stderr, flush=True)
    return metrics


def recorded_dtype(out: Path) -> Optional[str]:
    """The type a run folder's config records (``dtype``, or the older ``bf16`` flag), or None."""
    try:
        data = yaml.safe_load((out / "config.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(data, dict) or ("dtype" not in data and "bf16" not in data):
        return None
    return dtype_choice(data.get("dtype"), data.get("bf16"), str(data.get("device", "cpu")))


def run_precision(cfg: PretrainConfig, device: torch.device, out: Path, resume: bool) -> Precision:
    """The run's type: what its folder records when it resumes from a checkpoint (so it continues
    as it started), else ``dtype`` resolved for ``device`` (:func:`rnalm.precision.resolve`)."""
    asked = cfg.dtype_choice()
    recorded = recorded_dtype(out) if resume and latest_checkpoint(out) is not None else None
    if recorded is None or recorded == "auto":
        return resolve(asked, device)
    if asked not in ("auto", recorded):
        raise RnalmError(
            f"{out} was trained in {recorded}; {option('resume')} continues in it "
            f"(drop {option('dtype', asked)}, or start a new run)"
        )
    return resolve(recorded, device)


def _start(cfg: PretrainConfig, dist: Dist, out: Path, resume: bool) -> _Run:
    """Seed, build the model on this rank's device, read the corpus, and report both."""
    torch.manual_seed(cfg.seed)
    model, alphabet, info = build_model(cfg.model, cfg.objective)
    device = torch.device(
        cfg.device if not cfg.device.startswith("cuda") or dist.world == 1 else f"cuda:{dist.local_rank}"
    )
    model.to(device)
    precision = run_precision(cfg, device, out, resume)
    cfg = dataclasses.replace(cfg, dtype=precision.name, bf16=None)  # type: ignore[arg-type]  # the folder records the resolved type
    info = {**info, "precision": precision.to_dict()}
    train, valid, report = load_corpus(cfg.data, alphabet, model.config.max_length)
    log = RunLog(out, dist.main, cfg.tensorboard)
    log.info(f"precision: {precision.summary()}; weights and optimizer state float32")
    log.info(f"corpus: {report.summary()}")
    n_params = sum(p.numel() for p in model.parameters())
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info(
        f"model: {model.config.num_layers} layers x {model.config.embed_dim}, {n_params / 1e6:.3f}M "
        f"parameters, trainable {n_train / 1e6:.3f}M ({100 * n_train / n_params:.1f}%)"
    )
    return _Run(
        cfg,
        dist,
        out,
        model,
        alphabet,
        info,
        device,
        train,
        valid,
        report,
        log,
        precision,
        [None] * len(train),
        [None] * len(valid),
    )


def _label_examples(run: _Run) -> None:
    """ViennaRNA labels (MFE, structure) for the objectives that need them: rank 0 computes them into
    the label cache, the other ranks then read that cache."""
    obj, dist, train, valid = run.cfg.objective, run.dist, run.train, run.valid
    if not (obj.mfe_weight > 0 or obj.structure_weight > 0):
        return
    cache_path = obj.label_cache or run.out / "labels.sqlite"
    label_stats = LabelStats()
    t0 = time.time()
    if dist.main:
        cache = LabelCache(cache_path)
        run.train_labels = compute_labels(
            [e.seq for e in train],
            cache,
            obj.label_processes,
            [e.header_label for e in train],
            label_stats,
            [e.id for e in train],
        )
        run.valid_labels = compute_labels(
            [e.seq for e in valid],
            cache,
            obj.label_processes,
            [e.header_label for e in valid],
            label_stats,
            [e.id for e in valid],
        )
    if dist.world > 1:  # other ranks read the cache rank 0 filled
        barrier(dist)
        if not dist.main:
            cache = LabelCache(cache_path)
            run.train_labels = compute_labels([e.seq for e in train], cache, 1, [e.header_label for e in train])
            run.valid_labels = compute_labels([e.seq for e in valid], cache, 1, [e.header_label for e in valid])
    run.log.info(
        f"labels in {time.time() - t0:.1f}s: cache hits {label_stats.cache_hits}, folded "
        f"{label_stats.folded}, from headers {label_stats.from_header}, invalid (masked) "
        f"{label_stats.invalid} {label_stats.invalid_examples}"
    )


def _train(
    run: _Run,
    params: list[torch.nn.Parameter],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    show: Optional[bool],
) -> Progress:
    """Optimisation steps from ``run.step`` to ``optim.max_steps``: log, evaluate and save on schedule.

    Returns the (closed) progress bar over those steps, which counted and timed them."""
    cfg = run.cfg
    step_model = wrap_for_ddp(run.model, run.dist, run.sharded, run.device)
    micro = MicroBatches(
        [len(e.seq) // run.alphabet.k_mer + 2 for e in run.train],
        cfg.optim.tokens_per_batch,
        cfg.optim.max_batch,
        cfg.seed,
    )
    bar = Progress(max(cfg.optim.max_steps - run.step, 0), "pretrain", unit="steps", show=show)
    window: dict[str, float] = {}
    t_last, tokens_seen = time.time(), 0
    run.model.train()
    while run.step < cfg.optim.max_steps:
        optimizer.zero_grad(set_to_none=True)
        tokens_seen += _accumulate(run, step_model, micro, window)
        if cfg.optim.clip_norm:
            torch.nn.utils.clip_grad_norm_(params, cfg.optim.clip_norm)
        optimizer.step()
        scheduler.step()
        run.step += 1
        step, last = run.step, run.step == cfg.optim.max_steps
        bar.update(1)
        if step % cfg.log_every == 0 or last:
            dt = time.time() - t_last
            rec: dict[str, Any] = summarise(window)
            rec.update(step=step, lr=scheduler.get_last_lr()[0], tokens_per_s=tokens_seen / max(dt, 1e-9))
            run.log.metrics(rec)
            if bar.bar is not None:
                bar.bar.set_postfix(loss=f"{rec.get('mlm_loss', 0):.3f}", acc=f"{rec.get('mlm_acc', 0):.3f}")
            window, t_last, tokens_seen = {}, time.time(), 0
        if run.valid and (step % cfg.eval_every == 0 or last):
            ev = evaluate(run.model, run.valid, run.valid_labels, run.alphabet, cfg, run.device, run.autocast)
            run.log.metrics({"step": step, **{f"valid_{k}": v for k, v in ev.items()}})
            run.model.train()
        if step % cfg.save_every == 0 or last:
            _save(run, optimizer, scheduler)
    bar.close()
    return bar


def _accumulate(run: _Run, step_model: torch.nn.Module, micro: MicroBatches, window: dict[str, float]) -> int:
    """Forward and backward over this rank's ``grad_accum`` micro-batches of the current step (see the
    module docstring for which they are); adds their stats to ``window``, returns tokens seen by all ranks."""
    cfg, dist, alphabet = run.cfg, run.dist, run.alphabet
    per_step = cfg.optim.grad_accum * dist.world
    tokens_seen = 0
    for j in range(cfg.optim.grad_accum):
        m = run.step * per_step + j * dist.world + dist.rank
        _, idx = micro[m]
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + m)
        batch = collate([run.train[i] for i in idx], [run.train_labels[i] for i in idx], alphabet, cfg.objective, gen)
        batch = {k: v.to(run.device) for k, v in batch.items()}
        tokens_seen += int(batch["inputs"].ne(alphabet.padding_idx).sum()) * dist.world
        sync = j == cfg.optim.grad_accum - 1
        ctx: AbstractContextManager = nullcontext()
        if run.sharded:  # FSDP2: accumulate unsharded grads locally, reduce-scatter on the last micro-batch
            run.model.set_requires_gradient_sync(sync)  # type: ignore[operator]
        elif dist.world > 1 and not sync:
            ctx = step_model.no_sync()  # type: ignore[operator]
        with ctx:
            loss, stats = compute_losses(step_model, batch, cfg.objective, run.autocast)
            (loss / cfg.optim.grad_accum).backward()
        for k, v in stats.items():
            window[k] = window.get(k, 0.0) + v
        window["n_micro"] = window.get("n_micro", 0.0) + 1
    return tokens_seen


def _save(run: _Run, optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler) -> None:
    full = full_model(run.model, run.sharded, run.dist.main)  # collective under FSDP: every rank calls
    optim_state = full_optim_state(run.model, optimizer)
    if run.dist.main and full is not None:
        save_checkpoint(
            run.out, run.step, full, run.alphabet, optim_state, scheduler, run.cfg, run.info, run.cfg.keep_checkpoints
        )
    del full, optim_state


def _finish(run: _Run) -> dict[str, Any]:
    """Final validation metrics, the final model and metrics file; tears the process group down."""
    run.model.eval()
    final_metrics: dict[str, Any] = {"step": run.step}
    if run.valid:
        final_metrics.update(
            evaluate(run.model, run.valid, run.valid_labels, run.alphabet, run.cfg, run.device, run.autocast)
        )
    full = full_model(run.model, run.sharded, run.dist.main)
    if run.dist.main and full is not None:
        out = run.out
        save_native(
            full,
            run.alphabet,
            out / "final",
            provenance={
                "pretrain_steps": run.step,
                "corpus": run.report.summary(),
                "objective": asdict(run.cfg.objective),
                **run.info,
                "valid_metrics": final_metrics,
            },
        )
        (out / "final_metrics.json").write_text(json.dumps(final_metrics, indent=2) + "\n")
        run.log.info(f"done: {out / 'final'} {json.dumps(final_metrics)}")
    run.log.close()
    finish_distributed(run.dist)
    return final_metrics
