"""A run reduced to what prediction needs: the files of every fold copied, the backbone reference
rewritten to the shipped backbone (after checking its weights are the ones the run was trained on),
and the embedding cache switched off."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Optional

import yaml
from safetensors import safe_open

from rnalm import shipped
from rnalm.api import load
from rnalm.io.digest import state_sha256
from rnalm.io.jsonfile import write_json
from rnalm.packaging.files import store_float16
from rnalm.packaging.options import WEIGHT_FILES, Options
from rnalm.runs.feature_file import header_path
from rnalm.runs.rundir import RunDir
from rnalm.shipped import ShippedModelError


def _copy_fold(src: Path, dst: Path, d: str, info: dict, opts: Options) -> list[str]:
    """Copy one fold folder's (or a hold-out run's) label state and weights; the copied names."""
    copied = []
    dst.mkdir(parents=True, exist_ok=True)
    names = [f for f in ("label_state.json",) if (src / f).is_file()]
    weights = [f for f in WEIGHT_FILES if (src / f).is_file()]
    if not weights:
        raise ShippedModelError(f"{src}: no model.safetensors; did training finish?")
    # the feature baseline's trees come with a small header naming their task
    weights += [header_path(src / f).name for f in weights if f.endswith(".skops")]
    for f in names + weights:
        if not (src / f).is_file():
            raise ShippedModelError(f"{src / f}: no such file")
        shutil.copy2(src / f, dst / f)
        copied.append(str(Path(d) / f) if d else f)
    if (dst / "model.safetensors").is_file() and (info.get("backbone") or {}).get("mode") == "frozen":
        with safe_open(str(dst / "model.safetensors"), "pt") as fh:
            if any(k.startswith("backbone.") for k in fh.keys()):
                raise ShippedModelError(
                    f"{src / 'model.safetensors'}: a frozen-backbone run whose weights hold "
                    f"backbone tensors; refusing to duplicate the backbone"
                )
    if opts.dtype == "float16" and (dst / "model.safetensors").is_file():
        store_float16(dst / "model.safetensors")
    return copied


def model_dirs(info: dict) -> list[str]:
    """The folders of a run that hold a model: one per fold of a CV run or member of an ensemble,
    else the run itself ("")."""
    dirs = RunDir(Path(".")).model_dirs(info)
    return [d.path.name if d.path != Path(".") else "" for d in dirs]


def copy_run(source: Path, dest: Path, info: dict, opts: Options, backbone: Optional[tuple[str, str]]) -> list[str]:
    """Copy the prediction files of a run (all folds) and rewrite the backbone reference to the shipped
    ``backbone`` (name, state sha256, from :func:`verify_backbone`)."""
    dirs = model_dirs(info)
    for f in ("config.yaml", "run_info.json"):
        if not (source / f).is_file():
            raise ShippedModelError(f"{source}: not a finished fine-tuning run (no {f})")
    copied = []
    for d in dirs:
        copied += _copy_fold(source / d, dest / d, d, info, opts)
    for f in opts.include:  # files of the run's top level, whether it holds one model or several
        if not (source / f).is_file():
            raise ShippedModelError(f"{source / f}: no such file (--include)")
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / f, dest / f)
        copied.append(f)

    cfg = yaml.safe_load((source / "config.yaml").read_text()) or {}
    new_info = copy.deepcopy(info)
    if backbone is not None:
        r = shipped.ref(backbone[0])
        if backbone[1] != info["backbone"].get("sha256"):  # trained on the weights it was rounded from
            new_info["backbone"]["trained_with_sha256"] = info["backbone"].get("sha256")
            new_info["backbone"]["sha256"] = backbone[1]
        bb = cfg.setdefault("backbone", {})
        new_info["backbone"]["trained_with"] = info["backbone"].get("path") or bb.get("name")
        bb["name"] = r
        new_info["backbone"]["name"] = r
        new_info["backbone"]["path"] = r
    bb = cfg.get("backbone")
    if isinstance(bb, dict):
        bb["cache"] = False  # predicting with a shipped model writes nothing to ~/.cache
        bb["cache_dir"] = None
    cfg["overwrite"] = False
    (dest / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    write_json(dest / "run_info.json", new_info)
    return ["config.yaml", "run_info.json", *copied]


def verify_backbone(info: dict, opts: Options) -> Optional[tuple[str, str]]:
    """(shipped backbone name, state sha256) when the run uses a language model; verified equal."""
    bb = info.get("backbone") or {}
    if bb.get("kind", "lm") != "lm" or not bb.get("sha256"):
        return None
    entry = shipped.get(opts.backbone, "backbone")
    entry.verify()
    model, _ = load(entry.path)
    sha = state_sha256(model)
    # a backbone stored in float16 records the float32 weights it was rounded from: runs trained on
    # those are packaged against it, re-keyed to its weights (the check subset measures the difference)
    if sha != bb["sha256"] and bb["sha256"] != entry.raw.get("rounded_from"):
        raise ShippedModelError(
            f"the run was trained on backbone {bb.get('path') or bb.get('name')} "
            f"(weights sha256 {bb['sha256'][:16]}...), "
            f"but the shipped backbone {entry.name} has weights sha256 {sha[:16]}...; ship the run's backbone first "
            f"(python -m rnalm.packaging PRETRAIN_DIR --name ...) or name it with --backbone"
        )
    return entry.name, sha


__all__ = ["copy_run", "model_dirs", "verify_backbone"]
