"""Pretraining checkpoints: writing, finding and restoring them, whole tensors under FSDP too.

A checkpoint ``checkpoints/step-<n>/`` holds the model as a native rnalm directory and
``state.pt`` (name-keyed optimizer state, scheduler, RNG, config). Under FSDP the shards are
gathered to rank 0 first, so the format does not depend on how the run was distributed.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import torch
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)
from torch.optim.lr_scheduler import LRScheduler

from rnalm.alphabet import Alphabet
from rnalm.api import load as load_model
from rnalm.io.native import save_native
from rnalm.io.safe_torch import safe_torch_load
from rnalm.model import EncoderConfig, RNAEncoder
from rnalm.pretrain.config import PretrainConfig


def save_checkpoint(
    out: Path,
    step: int,
    model: torch.nn.Module,
    alphabet: Alphabet,
    optim_state: dict,
    scheduler: LRScheduler,
    cfg: PretrainConfig,
    info: dict,
    keep: int,
) -> Path:
    """Atomically write checkpoint ``step``. ``model`` must hold full tensors (see :func:`full_model`),
    ``optim_state`` is the full, name-keyed optimizer state (see :func:`full_optim_state`)."""
    ckdir = out / "checkpoints"
    final = ckdir / f"step-{step:08d}"
    tmp = ckdir / f".tmp-step-{step:08d}"
    shutil.rmtree(tmp, ignore_errors=True)
    save_native(model, alphabet, tmp / "model", provenance={"pretrain_step": step, **info})
    torch.save(
        {
            "step": step,
            "optimizer": optim_state,
            "scheduler": scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "config": json.dumps(asdict(cfg)),
        },
        tmp / "state.pt",
    )
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for old in sorted(ckdir.glob("step-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(out: Path) -> Optional[Path]:
    done = [p for p in sorted((out / "checkpoints").glob("step-*")) if (p / "state.pt").is_file()]
    return done[-1] if done else None


def _full_opts() -> StateDictOptions:
    return StateDictOptions(full_state_dict=True, cpu_offload=True)


def full_optim_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """Full optimizer state keyed by parameter name (collective under FSDP: call on every rank;
    only rank 0 receives it there, other ranks get an empty dict)."""
    return get_optimizer_state_dict(model, optimizer, options=_full_opts())


def full_model(model: torch.nn.Module, sharded: bool, main: bool) -> Optional[torch.nn.Module]:
    """A module with full tensors for saving: ``model`` itself unless sharded; under FSDP the
    gathered weights (collective: call on every rank) loaded into a CPU copy on rank 0 (None elsewhere)."""
    if not sharded:
        return model
    sd = get_model_state_dict(model, options=_full_opts())
    if not main:
        return None
    config: EncoderConfig = model.config  # type: ignore[assignment]
    full = RNAEncoder(config)
    full.load_state_dict(sd, strict=True)
    return full


def restore_checkpoint(
    ck: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: LRScheduler
) -> int:
    """Load checkpoint ``ck`` into the (possibly sharded) model, the optimizer, the scheduler and the
    torch RNG; returns its step."""
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
    return int(state["step"])
