"""The pretraining loop: MLM (+ MFE + structure), DDP or FSDP under torchrun, exact resume.

Reproducibility contract. Micro-batch ``m`` (counted over the whole run) is fully determined by
the seed: its examples come from the epoch's seeded token-budget batches, and its masking from a
generator seeded with ``(seed, m)``. An optimisation step consumes ``grad_accum * world_size``
consecutive micro-batches, rank ``r`` taking those with ``m % world_size == r``. Hence one process
with ``grad_accum = k`` and ``k`` processes with ``grad_accum = 1`` compute the same update (DDP
averages gradients across ranks as accumulation averages them across micro-batches), and a run
resumed from a checkpoint continues exactly as the uninterrupted run would. FSDP averages gradients
the same way, so the contract holds for ``distributed: fsdp`` too (up to float reduction order).

Checkpoints hold full (unsharded) tensors in both modes: the model as a native rnalm directory and
the optimizer state keyed by parameter name, gathered to rank 0 under FSDP. A checkpoint written
under FSDP therefore has the same format as one written under DDP or by a single process.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import torch
import torch.nn.functional as F
from pydantic import Field, with_config

from rnalm.alphabet import Alphabet
from rnalm.errors import ConfigError, RnalmError
from rnalm.io.output_guard import output_lock
from rnalm.model import EncoderConfig, RNAEncoder, named_config
from rnalm.model.footprint import check_fits_in_memory
from rnalm.pretrain.data import CorpusConfig, Example, load_corpus
from rnalm.pretrain.labels import STRUCTURE_INDEX, LabelCache, LabelStats, compute_labels
from rnalm.pretrain.masking import IGNORE_INDEX, mask_tokens
from rnalm.pretrain.run_output import claim_pretrain_output
from rnalm.schema import STRICT, check_fields, validate_fields
from rnalm.training.batching import Budget, budget_batches
from rnalm.training.schedule import lr_factor

# Field types of the pretraining config: the annotations are its schema (see rnalm.schema).
Count = Annotated[int, Field(ge=1)]
NonNegative = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, lt=1)]


@dataclass
class ModelSpec:
    #: named size from rnalm.model.config.NAMED_SIZES (ignored when init_from is set).
    size: str = "utr-lm"
    #: alphabet name (see rnalm.models.alphabets()).
    alphabet: str = "utr-lm"
    #: EncoderConfig fields overriding the named size.
    overrides: dict[str, Any] = field(default_factory=dict)
    #: start from a checkpoint rnalm.load accepts (ProtRNA-style transfer when its alphabet differs).
    init_from: Optional[str] = None
    #: freezing for transfer: train only the last k transformer layers (None = all layers).
    train_last_layers: Optional[Annotated[int, Field(ge=0)]] = None
    train_embeddings: bool = True


@dataclass
class ObjectiveConfig:
    mask_rate: Annotated[float, Field(gt=0, lt=1)] = 0.15
    #: UTR-LM's ``supervised_weight``: weight of the MFE regression loss (0 = off).
    mfe_weight: NonNegative = 0.0
    #: UTR-LM's ``structure_weight``: weight of the per-token structure loss (0 = off).
    structure_weight: NonNegative = 0.0
    #: MFE targets are divided by this (kcal/mol) to keep the regression loss on the MLM scale.
    mfe_scale: Annotated[float, Field(gt=0)] = 10.0
    #: SQLite cache of ViennaRNA labels (default: <output>/labels.sqlite).
    label_cache: Optional[str] = None
    label_processes: Count = 1


@dataclass
class OptimConfig:
    lr: Annotated[float, Field(gt=0)] = 1e-3
    weight_decay: NonNegative = 0.01
    betas: tuple[Fraction, Fraction] = (0.9, 0.98)
    warmup_steps: Annotated[int, Field(ge=0)] = 100
    schedule: Literal["cosine", "linear", "constant"] = "cosine"
    max_steps: Count = 1000
    grad_accum: Count = 1
    #: max gradient norm (0 = no clipping).
    clip_norm: NonNegative = 1.0
    tokens_per_batch: Count = 8192
    max_batch: Count = 256


@with_config(STRICT)
@dataclass
class PretrainConfig:
    """Top-level pretraining configuration.

    ``distributed`` chooses how several torchrun processes share the work: ``ddp`` (default) keeps a
    full model replica per process and all-reduces gradients; ``fsdp`` shards parameters, gradients
    and optimizer state across processes (PyTorch FSDP2 ``fully_shard``, one unit per transformer
    layer plus the root), for models that do not fit one device. Both compute the same update. With a
    single process (no torchrun, or world size 1) ``fsdp`` is a no-op and training runs plain.
    """

    output: str = "runs/pretrain"
    seed: Annotated[int, Field(ge=0)] = 0
    device: str = "cpu"
    #: ddp | fsdp (see the class docstring); only matters under torchrun with more than one process.
    distributed: Literal["ddp", "fsdp"] = "ddp"
    #: bf16 autocast (GPU only).
    bf16: bool = False
    model: ModelSpec = field(default_factory=ModelSpec)
    data: CorpusConfig = field(default_factory=CorpusConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    log_every: Count = 10
    eval_every: Count = 200
    save_every: Count = 200
    keep_checkpoints: Count = 2
    tensorboard: bool = False
    progress: bool = True


# ---------------------------------------------------------------------------------- model setup
def build_model(spec: ModelSpec, obj: ObjectiveConfig) -> tuple[RNAEncoder, Alphabet, dict]:
    from rnalm.models import get_alphabet

    # Only heads the objectives train: an untrained contact regression would be meaningless, and
    # DDP requires every parameter to receive a gradient.
    heads = dict(mfe_head=obj.mfe_weight > 0, structure_head=obj.structure_weight > 0, contact_head=False)
    alphabet = get_alphabet(spec.alphabet)
    if spec.init_from:
        from rnalm.pretrain.transfer import transfer_from

        model, info = transfer_from(spec.init_from, alphabet, heads)
    else:
        cfg = encoder_config(spec, alphabet, heads)
        model = RNAEncoder(cfg).reset_parameters()
        info = {"init": "random", "size": spec.size}
    if spec.train_last_layers is not None or not spec.train_embeddings:
        from rnalm.pretrain.transfer import freeze

        info["trainable"] = freeze(model, spec.train_last_layers, spec.train_embeddings)
    return model, alphabet.with_max_length(model.config.max_length), info


def encoder_config(spec: ModelSpec, alphabet: Alphabet, heads: dict[str, bool]) -> EncoderConfig:
    """The named size with ``model.overrides``, strictly checked and refused before allocation
    when training it (weights, gradients, two AdamW moments) would not fit in memory."""
    try:
        base = named_config(spec.size, alphabet=alphabet, **heads)
    except ValueError as exc:
        raise ConfigError(f"model.size: {exc}") from None
    cfg = validate_fields(EncoderConfig, {**base.to_dict(), **spec.overrides}, "pretrain config",
                          prefix="model.overrides.")
    check_fits_in_memory(cfg, f"pretrain config model.size={spec.size} with model.overrides", copies=4,
                         error=ConfigError)
    return cfg


# ---------------------------------------------------------------------------------- distributed
@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    #: the process group was created here (and is torn down here), not by a caller
    owned: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str) -> Dist:
    if "WORLD_SIZE" not in os.environ or int(os.environ["WORLD_SIZE"]) == 1:
        return Dist()
    import torch.distributed as dist

    backend = "nccl" if device.startswith("cuda") else "gloo"
    owned = not dist.is_initialized()
    if owned:
        dist.init_process_group(backend)
    d = Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)), owned)
    if device.startswith("cuda"):
        torch.cuda.set_device(d.local_rank)
    return d


def finish_distributed(d: Dist) -> None:
    """Wait for every rank, then tear down the process group this run created. A rank that exits
    with a live gloo group can abort in the group's destructor ("terminate called without an
    active exception") after its work is done, failing the whole torchrun job."""
    if d.world > 1 and d.owned:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()


# ---------------------------------------------------------------------------------- batches
class MicroBatches:
    """Maps the global micro-batch counter to example indices, epoch by epoch."""

    def __init__(self, lengths: list[int], opt: OptimConfig, seed: int) -> None:
        self.lengths, self.opt, self.seed = lengths, opt, seed
        self._epochs: dict[int, list[list[int]]] = {}

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        if epoch not in self._epochs:
            budget = Budget(tokens=self.opt.tokens_per_batch, max_rows=self.opt.max_batch)
            self._epochs = {epoch: budget_batches(self.lengths, budget, shuffle=True, seed=self.seed * 1_000_003 + epoch)}
        return self._epochs[epoch]

    def __getitem__(self, m: int) -> tuple[int, list[int]]:
        n = len(self.epoch_batches(0))
        epoch, i = divmod(m, n)
        return epoch, self.epoch_batches(epoch)[i]


def collate(examples: list[Example], labels: list, alphabet: Alphabet, obj: ObjectiveConfig, gen: torch.Generator
            ) -> dict[str, torch.Tensor]:
    conv = alphabet.get_batch_converter(check_length=False)
    tokens = conv.pad([alphabet.encode_normalized(e.seq, e.id) for e in examples])
    inputs, targets = mask_tokens(tokens, alphabet, gen, rate=obj.mask_rate)
    batch = {"inputs": inputs, "targets": targets}
    if obj.mfe_weight > 0 or obj.structure_weight > 0:
        b, t = tokens.shape
        mfe = torch.full((b,), float("nan"))
        struct = torch.full((b, t), IGNORE_INDEX, dtype=torch.long)
        off = int(alphabet.prepend_bos)
        for i, lab in enumerate(labels):
            if lab is None:
                continue
            mfe[i] = lab.mfe / obj.mfe_scale
            if alphabet.k_mer == 1:
                struct[i, off : off + len(lab.structure)] = torch.tensor([STRUCTURE_INDEX[c] for c in lab.structure])
        batch["mfe"], batch["structure"] = mfe, struct
    return batch


def compute_losses(model: torch.nn.Module, batch: dict[str, torch.Tensor], obj: ObjectiveConfig, autocast
                   ) -> tuple[torch.Tensor, dict[str, float]]:
    with autocast():
        out = model(batch["inputs"])
    logits = out["logits"].float()
    targets = batch["targets"]
    n_masked = int((targets != IGNORE_INDEX).sum())
    mlm = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=IGNORE_INDEX) \
        if n_masked else logits.sum() * 0.0
    total = mlm
    stats = {"mlm_loss": mlm.item(), "n_masked": n_masked}
    if n_masked:
        sel = targets != IGNORE_INDEX
        stats["mlm_correct"] = int((logits.argmax(-1)[sel] == targets[sel]).sum())
    if obj.mfe_weight > 0:
        ok = ~torch.isnan(batch["mfe"])
        if ok.any():
            mfe_loss = F.mse_loss(out["mfe"].float()[ok], batch["mfe"][ok])
            total = total + obj.mfe_weight * mfe_loss
            stats["mfe_mse"] = mfe_loss.item() * obj.mfe_scale**2
            stats["n_mfe"] = int(ok.sum())
    if obj.structure_weight > 0:
        st = batch["structure"]
        ok = st != IGNORE_INDEX
        if ok.any():
            sl = out["structure_logits"].float()
            s_loss = F.cross_entropy(sl[ok], st[ok])
            total = total + obj.structure_weight * s_loss
            stats["structure_loss"] = s_loss.item()
            stats["structure_correct"] = int((sl[ok].argmax(-1) == st[ok]).sum())
            stats["n_structure"] = int(ok.sum())
    return total, stats


# ---------------------------------------------------------------------------------- checkpoints
def save_checkpoint(out: Path, step: int, model: RNAEncoder, alphabet: Alphabet, optim_state: dict, scheduler,
                    cfg: PretrainConfig, info: dict, keep: int) -> Path:
    """Atomically write checkpoint ``step``. ``model`` must hold full tensors (see :func:`_full_model`),
    ``optim_state`` is the full, name-keyed optimizer state (see :func:`_full_optim_state`)."""
    from rnalm.io.native import save_native

    ckdir = out / "checkpoints"
    final = ckdir / f"step-{step:08d}"
    tmp = ckdir / f".tmp-step-{step:08d}"
    shutil.rmtree(tmp, ignore_errors=True)
    save_native(model, alphabet, tmp / "model", provenance={"pretrain_step": step, **info})
    torch.save({"step": step, "optimizer": optim_state, "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state(), "config": json.dumps(asdict(cfg))}, tmp / "state.pt")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for old in sorted(ckdir.glob("step-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(out: Path) -> Optional[Path]:
    done = [p for p in sorted((out / "checkpoints").glob("step-*")) if (p / "state.pt").is_file()]
    return done[-1] if done else None


def _full_opts():
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(full_state_dict=True, cpu_offload=True)


def _full_optim_state(model: torch.nn.Module, optimizer) -> dict:
    """Full optimizer state keyed by parameter name (collective under FSDP: call on every rank;
    only rank 0 receives it there, other ranks get an empty dict)."""
    from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

    return get_optimizer_state_dict(model, optimizer, options=_full_opts())


def _full_model(model: torch.nn.Module, sharded: bool, main: bool) -> Optional[torch.nn.Module]:
    """A module with full tensors for saving: ``model`` itself unless sharded; under FSDP the
    gathered weights (collective: call on every rank) loaded into a CPU copy on rank 0 (None elsewhere)."""
    if not sharded:
        return model
    from torch.distributed.checkpoint.state_dict import get_model_state_dict

    sd = get_model_state_dict(model, options=_full_opts())
    if not main:
        return None
    full = RNAEncoder(model.config)
    full.load_state_dict(sd, strict=True)
    return full


def _apply_fsdp(model: RNAEncoder) -> None:
    """Shard each transformer layer, then the root (embeddings, final norm, heads)."""
    from torch.distributed.fsdp import fully_shard

    for layer in model.layers:
        fully_shard(layer)
    fully_shard(model)


# ---------------------------------------------------------------------------------- main loop
def pretrain(cfg: PretrainConfig, resume: bool = False, overwrite: bool = False) -> dict[str, Any]:
    """Run pretraining; returns the final metrics. Writes to ``cfg.output``.

    An existing, non-empty output needs ``resume`` (continue from its newest checkpoint) or
    ``overwrite`` (start over; only an rnalm pretraining output, see :mod:`.run_output`). The
    main rank holds the output's one-writer lock for the whole run.
    """
    check_fields(cfg, "pretrain config")
    if cfg.distributed not in ("ddp", "fsdp"):
        raise RnalmError(f"distributed must be 'ddp' or 'fsdp', got {cfg.distributed!r}")
    if resume and overwrite:
        raise RnalmError("--resume and --overwrite exclude each other")
    dist = init_distributed(cfg.device)
    out = Path(cfg.output)
    with ExitStack() as held:
        if dist.main:
            held.enter_context(output_lock(out))
            claim_pretrain_output(out, resume, overwrite, [*cfg.data.paths, cfg.model.init_from])
        return _pretrain(cfg, resume, dist, out)


def _pretrain(cfg: PretrainConfig, resume: bool, dist: Dist, out: Path) -> dict[str, Any]:
    sharded = cfg.distributed == "fsdp" and dist.world > 1
    torch.manual_seed(cfg.seed)
    model, alphabet, info = build_model(cfg.model, cfg.objective)
    device = torch.device(cfg.device if not cfg.device.startswith("cuda") or dist.world == 1
                          else f"cuda:{dist.local_rank}")
    model.to(device)
    train, valid, report = load_corpus(cfg.data, alphabet, model.config.max_length)
    log = _Logger(out, dist.main, cfg.tensorboard)
    log.info(f"corpus: {report.summary()}")
    n_params = sum(p.numel() for p in model.parameters())
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info(f"model: {model.config.num_layers} layers x {model.config.embed_dim}, {n_params / 1e6:.3f}M "
             f"parameters, trainable {n_train / 1e6:.3f}M ({100 * n_train / n_params:.1f}%)")

    obj = cfg.objective
    need_labels = obj.mfe_weight > 0 or obj.structure_weight > 0
    label_stats = LabelStats()
    train_labels: list = [None] * len(train)
    valid_labels: list = [None] * len(valid)
    if need_labels:
        cache = LabelCache(obj.label_cache or out / "labels.sqlite") if dist.main else None
        t0 = time.time()
        if dist.main:
            train_labels = compute_labels([e.seq for e in train], cache, obj.label_processes,
                                          [e.header_label for e in train], label_stats, [e.id for e in train])
            valid_labels = compute_labels([e.seq for e in valid], cache, obj.label_processes,
                                          [e.header_label for e in valid], label_stats, [e.id for e in valid])
        if dist.world > 1:  # other ranks read the cache rank 0 filled
            import torch.distributed as tdist

            tdist.barrier()
            if not dist.main:
                cache = LabelCache(obj.label_cache or out / "labels.sqlite")
                train_labels = compute_labels([e.seq for e in train], cache, 1, [e.header_label for e in train])
                valid_labels = compute_labels([e.seq for e in valid], cache, 1, [e.header_label for e in valid])
        log.info(f"labels in {time.time() - t0:.1f}s: cache hits {label_stats.cache_hits}, folded "
                 f"{label_stats.folded}, from headers {label_stats.from_header}, invalid (masked) "
                 f"{label_stats.invalid} {label_stats.invalid_examples}")

    if sharded:  # before the optimizer: fully_shard replaces parameters with sharded DTensors
        _apply_fsdp(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.optim.lr, betas=tuple(cfg.optim.betas),
                                  weight_decay=cfg.optim.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg.optim.schedule, cfg.optim.warmup_steps,
                                                                        cfg.optim.max_steps))
    step = 0
    if resume:
        ck = latest_checkpoint(out)
        if ck is not None:
            from torch.distributed.checkpoint.state_dict import (StateDictOptions, set_model_state_dict,
                                                                 set_optimizer_state_dict)

            from rnalm.api import load as load_model
            from rnalm.io.safe_torch import safe_torch_load

            loaded, _ = load_model(ck / "model")
            opts = StateDictOptions(full_state_dict=True, strict=True)
            set_model_state_dict(model, loaded.state_dict(), options=opts)
            del loaded
            state = safe_torch_load(ck / "state.pt")
            osd = state["optimizer"]
            if osd.get("state") and all(isinstance(k, int) for k in osd["state"]):  # pre-FSDP checkpoints
                optimizer.load_state_dict(osd)
            else:
                set_optimizer_state_dict(model, optimizer, osd, options=StateDictOptions(full_state_dict=True))
            scheduler.load_state_dict(state["scheduler"])
            torch.set_rng_state(state["torch_rng"])
            step = int(state["step"])
            log.truncate_after(step)
            log.info(f"resumed from {ck} at step {step}")
    ddp_model = model
    if dist.world > 1 and not sharded:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ddp_model = DDP(model, device_ids=[dist.local_rank] if device.type == "cuda" else None)

    micro = MicroBatches([len(e.seq) // alphabet.k_mer + 2 for e in train], cfg.optim, cfg.seed)
    per_step = cfg.optim.grad_accum * dist.world
    use_bf16 = cfg.bf16 and device.type == "cuda"

    def autocast():
        return torch.autocast("cuda", dtype=torch.bfloat16) if use_bf16 else _null()

    if dist.main and step == 0:
        out.mkdir(parents=True, exist_ok=True)
        from rnalm.configfile import to_yaml

        (out / "config.yaml").write_text(to_yaml(cfg))
    bar = _progress(cfg, step, dist.main)
    window: dict[str, float] = {}
    t_last, tokens_seen = time.time(), 0
    model.train()
    while step < cfg.optim.max_steps:
        optimizer.zero_grad(set_to_none=True)
        for j in range(cfg.optim.grad_accum):
            m = step * per_step + j * dist.world + dist.rank
            _, idx = micro[m]
            gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + m)
            batch = collate([train[i] for i in idx], [train_labels[i] for i in idx], alphabet, obj, gen)
            batch = {k: v.to(device) for k, v in batch.items()}
            tokens_seen += int(batch["inputs"].ne(alphabet.padding_idx).sum()) * dist.world
            sync = j == cfg.optim.grad_accum - 1
            if sharded:  # FSDP2: accumulate unsharded grads locally, reduce-scatter on the last micro-batch
                model.set_requires_gradient_sync(sync)
                ctx = _null()
            else:
                ctx = ddp_model.no_sync() if (dist.world > 1 and not sync) else _null()
            with ctx:
                loss, stats = compute_losses(ddp_model, batch, obj, autocast)
                (loss / cfg.optim.grad_accum).backward()
            for k, v in stats.items():
                window[k] = window.get(k, 0.0) + v
            window["n_micro"] = window.get("n_micro", 0.0) + 1
        if cfg.optim.clip_norm:
            torch.nn.utils.clip_grad_norm_(params, cfg.optim.clip_norm)
        optimizer.step()
        scheduler.step()
        step += 1
        if bar is not None:
            bar.update(1)
        if step % cfg.log_every == 0 or step == cfg.optim.max_steps:
            dt = time.time() - t_last
            rec = _summarise(window)
            rec.update(step=step, lr=scheduler.get_last_lr()[0], tokens_per_s=tokens_seen / max(dt, 1e-9))
            log.metrics(rec)
            if bar is not None:
                bar.set_postfix(loss=f"{rec.get('mlm_loss', 0):.3f}", acc=f"{rec.get('mlm_acc', 0):.3f}")
            window, t_last, tokens_seen = {}, time.time(), 0
        if valid and (step % cfg.eval_every == 0 or step == cfg.optim.max_steps):
            ev = evaluate(model, valid, valid_labels, alphabet, cfg, device, autocast)
            log.metrics({"step": step, **{f"valid_{k}": v for k, v in ev.items()}})
            model.train()
        if step % cfg.save_every == 0 or step == cfg.optim.max_steps:
            full = _full_model(model, sharded, dist.main)  # collective under FSDP: every rank calls
            optim_state = _full_optim_state(model, optimizer)
            if dist.main:
                save_checkpoint(out, step, full, alphabet, optim_state, scheduler, cfg, info, cfg.keep_checkpoints)
            del full, optim_state
    if bar is not None:
        bar.close()
    model.eval()
    final_metrics: dict[str, Any] = {"step": step}
    if valid:
        final_metrics.update(evaluate(model, valid, valid_labels, alphabet, cfg, device, autocast))
    full = _full_model(model, sharded, dist.main)
    if dist.main:
        from rnalm.io.native import save_native

        save_native(full, alphabet, out / "final",
                    provenance={"pretrain_steps": step, "corpus": report.summary(),
                                "objective": asdict(obj), **info, "valid_metrics": final_metrics})
        (out / "final_metrics.json").write_text(json.dumps(final_metrics, indent=2) + "\n")
        log.info(f"done: {out / 'final'} {json.dumps(final_metrics)}")
    log.close()
    finish_distributed(dist)
    return final_metrics


@torch.no_grad()
def evaluate(model: RNAEncoder, valid: list[Example], labels: list, alphabet: Alphabet, cfg: PretrainConfig,
             device: torch.device, autocast) -> dict[str, float]:
    """Validation metrics with a fixed masking seed, so numbers are comparable across steps and runs."""
    model.eval()
    lengths = [len(e.seq) // alphabet.k_mer + 2 for e in valid]
    acc: dict[str, float] = {}
    budget = Budget(tokens=cfg.optim.tokens_per_batch, max_rows=cfg.optim.max_batch)
    for k, idx in enumerate(budget_batches(lengths, budget)):
        gen = torch.Generator().manual_seed(12345 + k)
        batch = collate([valid[i] for i in idx], [labels[i] for i in idx], alphabet, cfg.objective, gen)
        batch = {kk: v.to(device) for kk, v in batch.items()}
        _, stats = compute_losses(model, batch, cfg.objective, autocast)
        w = stats["n_masked"]
        acc["mlm_loss_sum"] = acc.get("mlm_loss_sum", 0.0) + stats["mlm_loss"] * w
        for kk, v in stats.items():
            if kk != "mlm_loss":
                acc[kk] = acc.get(kk, 0.0) + v
        if "mfe_mse" in stats:
            acc["mfe_se_sum"] = acc.get("mfe_se_sum", 0.0) + stats["mfe_mse"] * stats["n_mfe"]
    res = {"mlm_loss": acc["mlm_loss_sum"] / max(acc.get("n_masked", 0), 1),
           "mlm_acc": acc.get("mlm_correct", 0) / max(acc.get("n_masked", 0), 1)}
    if "n_mfe" in acc:
        res["mfe_mse"] = acc["mfe_se_sum"] / acc["n_mfe"]
    if "n_structure" in acc:
        res["structure_acc"] = acc["structure_correct"] / acc["n_structure"]
    return res


def _summarise(window: dict[str, float]) -> dict[str, float]:
    """Average a logging window: losses per micro-batch, accuracies per predicted token."""
    n_micro = max(1.0, window.get("n_micro", 1.0))
    rec = {k: window[k] / n_micro for k in ("mlm_loss", "mfe_mse", "structure_loss") if k in window}
    if window.get("n_masked"):
        rec["mlm_acc"] = window.get("mlm_correct", 0) / window["n_masked"]
    if window.get("n_structure"):
        rec["structure_acc"] = window["structure_correct"] / window["n_structure"]
    return rec


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def _progress(cfg: PretrainConfig, start: int, main: bool):
    if not (cfg.progress and main):
        return None
    from tqdm import tqdm

    return tqdm(total=cfg.optim.max_steps, initial=start, desc="pretrain", unit="step", file=sys.stderr)


class _Logger:
    """JSON-lines metrics (rank 0 only), plain info lines to stderr, optional TensorBoard."""

    def __init__(self, out: Path, main: bool, tensorboard: bool) -> None:
        self.main = main
        self.path = out / "metrics.jsonl"
        self.tb = None
        if main:
            out.mkdir(parents=True, exist_ok=True)
            if tensorboard:
                try:
                    from torch.utils.tensorboard import SummaryWriter
                except ImportError as exc:
                    raise RnalmError("tensorboard=true needs the tensorboard package") from exc
                self.tb = SummaryWriter(str(out / "tensorboard"))

    def info(self, msg: str) -> None:
        if self.main:
            print(f"[rnalm pretrain] {msg}", file=sys.stderr, flush=True)

    def metrics(self, rec: dict[str, Any]) -> None:
        if not self.main:
            return
        with open(self.path, "a") as fh:
            fh.write(json.dumps(rec) + "\n")
        if self.tb is not None:
            for k, v in rec.items():
                if k != "step" and isinstance(v, (int, float)):
                    self.tb.add_scalar(k, v, rec["step"])

    def truncate_after(self, step: int) -> None:
        """Drop records a killed run logged after the checkpoint we resume from."""
        if not (self.main and self.path.is_file()):
            return
        keep = [ln for ln in self.path.read_text().splitlines() if ln and json.loads(ln).get("step", 0) <= step]
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(k + "\n" for k in keep))
        os.replace(tmp, self.path)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
