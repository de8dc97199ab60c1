"""Packing a backbone: a pretraining output folder or an rnalm native folder, copied byte for byte,
checked on a subset of the pretraining corpus's validation split (or ``--check-data``)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable, Optional

from rnalm.api import load
from rnalm.configfile import load_config
from rnalm.io.digest import state_sha256
from rnalm.io.native import read_native_config
from rnalm.packaging.card import backbone_sections
from rnalm.packaging.check import backbone_metrics
from rnalm.packaging.checkset import read_sequences, sample
from rnalm.packaging.files import read_json, store_native_float16
from rnalm.packaging.options import Options, Packed
from rnalm.pretrain.config import PretrainConfig
from rnalm.pretrain.data import load_corpus
from rnalm.shipped import ShippedModelError


def backbone_sources(source: Path) -> tuple[Path, Optional[Path]]:
    """(native folder, pretraining folder or None)."""
    if (source / "final" / "config.json").is_file() and (source / "config.yaml").is_file():
        return source / "final", source
    if (source / "config.json").is_file():
        parent = source.parent
        return source, parent if (parent / "config.yaml").is_file() and (parent / "final") == source else None
    raise ShippedModelError(
        f"{source}: neither a pretraining output (config.yaml + final/) nor an rnalm native "
        f"folder (config.json + model.safetensors) nor a fine-tuning run (run_info.json)"
    )


def _check_pool(source: Path, opts: Options, pcfg: Any, alphabet: Any, max_length: int) -> tuple[list, str]:
    """(id, sequence) pairs the check subset is drawn from, and where they come from."""
    if opts.check_data:
        pool = read_sequences(Path(opts.check_data))
        where = str(opts.check_data)
    elif pcfg is not None:
        try:
            _, valid, _ = load_corpus(pcfg.data, alphabet, max_length)
        except Exception as exc:
            raise ShippedModelError(
                f"cannot re-read the pretraining corpus {pcfg.data.paths} ({exc}); run from the "
                f"directory pretraining ran in, or pass --check-data FILE"
            ) from None
        pool = [(e.id, e.seq) for e in valid]
        where = f"validation split of {', '.join(pcfg.data.paths)} (valid_fraction {pcfg.data.valid_fraction})"
    else:
        raise ShippedModelError(
            f"{source}: no pretraining config next to it; pass --check-data FILE (FASTA/CSV of held-out sequences)"
        )
    if not pool:
        raise ShippedModelError(f"no sequences to draw the check subset from ({where})")
    return pool, where


def _final_metrics(pre: Optional[Path], prov: dict) -> dict:
    """The validation metrics pretraining recorded (its final_metrics.json, or the native provenance)."""
    if pre is not None and (pre / "final_metrics.json").is_file():
        return read_json(pre / "final_metrics.json")
    if isinstance(prov.get("valid_metrics"), dict):
        return prov["valid_metrics"]
    return {}


def pack_backbone(source: Path, dest: Path, opts: Options, log: Callable[[str], None]) -> Packed:
    native, pre = backbone_sources(source)
    cfg = read_native_config(native)
    model, alphabet = load(native)  # checks the weights' sha256 against config.json
    for f in ("config.json", "model.safetensors"):
        shutil.copy2(native / f, dest / f)
    rounded: dict[str, str] = {}
    if opts.dtype == "float16":  # runs trained on the float32 weights stay packageable against it
        rounded["rounded_from"] = state_sha256(model)
        store_native_float16(dest)
        model, alphabet = load(dest)
    sha = state_sha256(model)
    enc = cfg["encoder"]
    prov = cfg.get("provenance", {})
    pcfg = load_config(PretrainConfig, pre / "config.yaml") if pre is not None else None

    # the check subset: the pretraining validation split (hash of the sequence), or --check-data
    pool, where = _check_pool(source, opts, pcfg, alphabet, model.config.max_length)
    idx = sample(len(pool), opts.check_size, opts.seed)
    rows = [{"id": pool[i][0], "sequence": pool[i][1]} for i in idx]
    log(f"check subset: {len(rows)} of {len(pool)} sequences from the {where}")
    check = backbone_metrics(dest, [r["sequence"] for r in rows], [r["id"] for r in rows])

    final = _final_metrics(pre, prov)
    if final.get("mlm_acc") is not None:
        metric = {
            "name": "mlm_acc",
            "value": float(final["mlm_acc"]),
            "split": "valid",
            "n": len(pool) if pcfg is not None and not opts.check_data else None,
        }
    else:
        metric = {"name": "mlm_acc", "value": check["mlm_acc"], "split": "check", "n": len(rows)}
    n_params = sum(p.numel() for p in model.parameters())
    command = opts.command or (
        f"rnalm pretrain --config {pre / 'config.yaml'}" if pre is not None else "(not recorded)"
    )
    sec = backbone_sections(
        enc,
        prov,
        pcfg,
        n_params=n_params,
        alphabet=alphabet,
        max_length=model.config.max_length,
        sha=sha,
        command=command,
        steps=final.get("step") or prov.get("pretrain_steps"),
        final=final,
        rounded_from=rounded.get("rounded_from"),
    )
    if not opts.description:
        opts.description = (
            f"Pretrained RNA language model: {enc['num_layers']} layers x {enc['embed_dim']}, "
            f"{n_params / 1e6:.1f}M parameters, {alphabet.name} alphabet"
        )
    return Packed(
        "backbone",
        rows,
        ["id", "sequence"],
        "mlm_acc",
        check,
        metric,
        sec,
        backbone_sha256=sha,
        extra={"alphabet": alphabet.name, "parameters": n_params, **rounded},
    )


__all__ = ["backbone_sources", "pack_backbone"]
