"""Package a trained model as a shipped model: ``python -m rnalm.shipped.package SOURCE --name NAME ...``.

``SOURCE`` is one of

* a pretraining output folder (``rnalm pretrain``: ``config.yaml`` + ``final/``) or an rnalm native
  folder -> a **backbone** entry (``config.json`` + ``model.safetensors``, copied byte for byte);
* a fine-tuning run folder (``rnalm finetune``) -> a **task** entry, or a **structure** entry when
  the run's task is ``structure``.

For a run, only what prediction needs is copied: ``config.yaml``, ``run_info.json``,
``label_state.json`` and the weights (``model.safetensors``: the head, plus the trained backbone
parameters in full / LoRA mode; a frozen backbone is never duplicated). The run's backbone
reference is rewritten to the shipped backbone's name (``shipped:utrlm-mini``) after checking that
the backbone the run was trained on has exactly the shipped backbone's weights (state sha256),
and the embedding cache is switched off so predicting writes nothing to the user's home.

Then a fixed check subset (``--check-size`` rows, ``--seed``) is drawn from the run's validation
split, reproduced exactly as ``rnalm finetune`` made it (or, for a backbone, from the pretraining
corpus's validation split), its metric is computed *with the packaged files*, the model card is
filled in, and ``manifest.json`` is updated with every file's sha256. The folder is assembled
aside and moved into place at the end, so a failed packaging leaves the old entry intact.

``--dtype float16`` stores task weights in half precision (half the bytes; the head runs in float32
after loading). The check metric is always measured on the stored weights, and the card gives the
float32 figure next to it, so the change is visible. Backbones are always stored in float32, because
task models identify their backbone by the exact weights.

Run it from the directory the run was trained in (data paths in ``config.yaml`` are relative).
Example::

    python -m rnalm.shipped.package runs/pretrain/utrlm_mini --name utrlm-mini \\
        --data-licence "MIT (LAMAR data) + GPL-3.0 (nRC)" --command "rnalm pretrain --config recipes/pretrain/utrlm_shared.yaml"
    python -m rnalm.shipped.package runs/hek293_te/lm --name utrlm-mini-te --task te \\
        --data-licence "MIT (zhw-e8/LAMAR UTR5TEPred data)" \\
        --command "rnalm finetune --config recipes/hek293_te/lm.yaml backbone.name=runs/pretrain/utrlm_mini/final"
"""
from __future__ import annotations

import argparse
import copy
import csv
import datetime
import json
import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from rnalm import shipped
from rnalm.io.jsonfile import write_json
from rnalm.shipped import MANIFEST, ShippedModelError
from rnalm.shipped.check import CHECK_FILE, backbone_metrics, structure_metrics, task_metrics, write_check

RUN_FILES = ("config.yaml", "run_info.json", "label_state.json")
WEIGHT_FILES = ("model.safetensors", "model.skops")
CARD_FILE = "card.md"
TOLERANCE = 1e-4


@dataclass
class Packed:
    """What the kind-specific packer hands to the common tail (card, manifest)."""

    kind: str
    rows: list[dict]
    columns: list[str]
    check_metric: str
    check: dict
    metric: dict
    card_sections: list[str]
    backbone: Optional[str] = None
    backbone_sha256: Optional[str] = None
    postprocess: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


# ------------------------------------------------------------------------------------ helpers
def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _sample(n: int, k: int, seed: int, strata: Optional[Sequence] = None) -> list[int]:
    """``k`` of ``range(n)``, seeded, sorted; with ``strata`` every class appears when k allows."""
    rng = np.random.default_rng(seed)
    if k >= n:
        return list(range(n))
    order = [int(i) for i in rng.permutation(n)]
    if strata is None:
        return sorted(order[:k])
    chosen: list[int] = []
    seen: set = set()
    for i in order:  # first one of each class (in the seeded order), then fill
        if strata[i] not in seen:
            seen.add(strata[i])
            chosen.append(i)
    chosen = chosen[:k]
    for i in order:
        if len(chosen) >= k:
            break
        if i not in chosen:
            chosen.append(i)
    return sorted(chosen)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4f}"
    return str(v)


def _metrics_table(m: dict) -> str:
    rows = [(k, v) for k, v in m.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not rows:
        return "(none recorded)\n"
    return "| metric | value |\n|---|---|\n" + "".join(f"| {k} | {_fmt(v)} |\n" for k, v in rows)


def _file_table(folder: Path, names: Sequence[str]) -> str:
    from rnalm.io.native import sha256_file

    out = "| file | bytes | sha256 |\n|---|---|---|\n"
    for n in names:
        p = folder / n
        out += f"| `{n}` | {p.stat().st_size:,} | `{sha256_file(p)}` |\n"
    return out


def _all_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _float16(path: Path) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    state = load_file(str(path))
    state = {k: (v.to(torch.float16) if v.is_floating_point() else v).contiguous() for k, v in state.items()}
    # one metadata key: safetensors writes metadata from a hash map, so two keys can come out in
    # either order and the same weights would get another sha256 each time they are packaged
    save_file(state, str(path), metadata={"format": "rnalm-finetune"})


def _n_params(path: Path) -> int:
    from safetensors import safe_open

    n = 0
    with safe_open(str(path), "pt") as fh:
        for k in fh.keys():
            n += int(np.prod(fh.get_slice(k).get_shape()))
    return n


# ------------------------------------------------------------------------------------ backbone
def _backbone_sources(source: Path) -> tuple[Path, Optional[Path]]:
    """(native folder, pretraining folder or None)."""
    if (source / "final" / "config.json").is_file() and (source / "config.yaml").is_file():
        return source / "final", source
    if (source / "config.json").is_file():
        parent = source.parent
        return source, parent if (parent / "config.yaml").is_file() and (parent / "final") == source else None
    raise ShippedModelError(f"{source}: neither a pretraining output (config.yaml + final/) nor an rnalm native "
                            f"folder (config.json + model.safetensors) nor a fine-tuning run (run_info.json)")


def _read_sequences(path: Path) -> list[tuple[str, str]]:
    from rnalm.io.seqio import iter_records, unique_ids

    return [(r.id, r.seq) for r in unique_ids(iter_records(path), path)]


def pack_backbone(source: Path, dest: Path, opts: "Options", log: Callable[[str], None]) -> Packed:
    from rnalm.api import load
    from rnalm.io.digest import state_sha256
    from rnalm.io.native import read_native_config

    if opts.dtype != "float32":
        raise ShippedModelError("a backbone is stored in float32: task models identify it by its exact weights")
    native, pre = _backbone_sources(source)
    cfg = read_native_config(native)
    model, alphabet = load(native)  # checks the weights' sha256 against config.json
    for f in ("config.json", "model.safetensors"):
        shutil.copy2(native / f, dest / f)
    sha = state_sha256(model)
    enc = cfg["encoder"]
    prov = cfg.get("provenance", {})
    pcfg = None
    if pre is not None:
        from rnalm.configfile import load_config
        from rnalm.pretrain.config import PretrainConfig

        pcfg = load_config(PretrainConfig, pre / "config.yaml")

    # the check subset: the pretraining validation split (hash of the sequence), or --check-data
    if opts.check_data:
        pool = _read_sequences(Path(opts.check_data))
        where = str(opts.check_data)
    elif pcfg is not None:
        from rnalm.pretrain.data import load_corpus

        try:
            _, valid, _ = load_corpus(pcfg.data, alphabet, model.config.max_length)
        except Exception as exc:
            raise ShippedModelError(f"cannot re-read the pretraining corpus {pcfg.data.paths} ({exc}); run from the "
                                    f"directory pretraining ran in, or pass --check-data FILE") from None
        pool = [(e.id, e.seq) for e in valid]
        where = f"validation split of {', '.join(pcfg.data.paths)} (valid_fraction {pcfg.data.valid_fraction})"
    else:
        raise ShippedModelError(f"{source}: no pretraining config next to it; pass --check-data FILE "
                                f"(FASTA/CSV of held-out sequences)")
    if not pool:
        raise ShippedModelError(f"no sequences to draw the check subset from ({where})")
    idx = _sample(len(pool), opts.check_size, opts.seed)
    rows = [{"id": pool[i][0], "sequence": pool[i][1]} for i in idx]
    log(f"check subset: {len(rows)} of {len(pool)} sequences from the {where}")
    check = backbone_metrics(dest, [r["sequence"] for r in rows], [r["id"] for r in rows])

    final = {}
    if pre is not None and (pre / "final_metrics.json").is_file():
        final = _json(pre / "final_metrics.json")
    elif isinstance(prov.get("valid_metrics"), dict):
        final = prov["valid_metrics"]
    if final.get("mlm_acc") is not None:
        metric = {"name": "mlm_acc", "value": float(final["mlm_acc"]), "split": "valid",
                  "n": len(pool) if pcfg is not None and not opts.check_data else None}
    else:
        metric = {"name": "mlm_acc", "value": check["mlm_acc"], "split": "check", "n": len(rows)}
    n_params = sum(p.numel() for p in model.parameters())
    steps = final.get("step") or prov.get("pretrain_steps")
    command = opts.command or (f"rnalm pretrain --config {pre / 'config.yaml'}" if pre is not None else "(not recorded)")
    sec = [
        "## Model\n",
        f"| | |\n|---|---|\n| architecture | {enc['num_layers']} layers, {enc['embed_dim']} wide, "
        f"{enc['attention_heads']} heads, FFN {enc['ffn_embed_dim']}, {enc.get('position_embedding', '')} positions |\n"
        f"| parameters | {n_params:,} |\n| alphabet | `{alphabet.name}` ({''.join(alphabet.letters)}) |\n"
        f"| maximum length | {model.config.max_length} tokens |\n| weights state sha256 | `{sha}` |\n",
        "## Data\n",
        (f"Pretraining corpus: {', '.join(f'`{p}`' for p in pcfg.data.paths)} "
         f"(min length {pcfg.data.min_length}, max length {pcfg.data.max_length}, dedup {pcfg.data.dedup}, "
         f"validation fraction {pcfg.data.valid_fraction} by sequence hash).\n" if pcfg is not None else "")
        + (f"\nCorpus report: {prov['corpus']}\n" if prov.get("corpus") else ""),
        "## Training\n",
        f"```\n{command}\n```\n\n"
        + (f"Objective: {json.dumps(prov['objective'])}\n\n" if prov.get("objective") else "")
        + (f"Optimiser: lr {pcfg.optim.lr}, {pcfg.optim.schedule} schedule, warmup {pcfg.optim.warmup_steps}, "
           f"{pcfg.optim.tokens_per_batch} tokens per batch, seed {pcfg.seed}.\n\n" if pcfg is not None else "")
        + f"Steps: {steps if steps is not None else 'not recorded'}.\n",
        "## Validation metrics\n",
        _metrics_table(final) if final else "(none recorded; see the check subset)\n",
    ]
    if not opts.description:
        opts.description = (f"Pretrained RNA language model: {enc['num_layers']} layers x {enc['embed_dim']}, "
                            f"{n_params / 1e6:.1f}M parameters, {alphabet.name} alphabet")
    return Packed("backbone", rows, ["id", "sequence"], "mlm_acc", check, metric, sec, backbone_sha256=sha,
                  extra={"alphabet": alphabet.name, "parameters": n_params})


# ------------------------------------------------------------------------------------ runs
def _copy_run(source: Path, dest: Path, info: dict, opts: "Options", backbone_name: Optional[str]) -> list[str]:
    """Copy the prediction files of a run (all folds) and rewrite the backbone reference."""
    import yaml

    dirs = [f"fold_{i}" for i in info["folds"]] if info.get("folds") else [""]
    copied = []
    for f in ("config.yaml", "run_info.json"):
        if not (source / f).is_file():
            raise ShippedModelError(f"{source}: not a finished fine-tuning run (no {f})")
    for d in dirs:
        src, dst = source / d, dest / d
        dst.mkdir(parents=True, exist_ok=True)
        names = [f for f in ("label_state.json",) if (src / f).is_file()]
        weights = [f for f in WEIGHT_FILES if (src / f).is_file()]
        if not weights:
            raise ShippedModelError(f"{src}: no model.safetensors; did training finish?")
        for f in names + weights + list(opts.include if not d else ()):
            if not (src / f).is_file():
                raise ShippedModelError(f"{src / f}: no such file (--include)")
            (dst / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / f, dst / f)
            copied.append(str(Path(d) / f) if d else f)
        if (dst / "model.safetensors").is_file() and (info.get("backbone") or {}).get("mode") == "frozen":
            from safetensors import safe_open

            with safe_open(str(dst / "model.safetensors"), "pt") as fh:
                if any(k.startswith("backbone.") for k in fh.keys()):
                    raise ShippedModelError(f"{src / 'model.safetensors'}: a frozen-backbone run whose weights hold "
                                            f"backbone tensors; refusing to duplicate the backbone")
        if opts.dtype == "float16" and (dst / "model.safetensors").is_file():
            _float16(dst / "model.safetensors")

    cfg = yaml.safe_load((source / "config.yaml").read_text()) or {}
    new_info = copy.deepcopy(info)
    if backbone_name is not None:
        r = shipped.ref(backbone_name)
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


def _check_backbone(info: dict, opts: "Options") -> Optional[tuple[str, str]]:
    """(shipped backbone name, state sha256) when the run uses a language model; verified equal."""
    bb = info.get("backbone") or {}
    if bb.get("kind", "lm") != "lm" or not bb.get("sha256"):
        return None
    from rnalm.api import load
    from rnalm.io.digest import state_sha256

    entry = shipped.get(opts.backbone, "backbone")
    entry.verify()
    model, _ = load(entry.path)
    sha = state_sha256(model)
    if sha != bb["sha256"]:
        raise ShippedModelError(
            f"the run was trained on backbone {bb.get('path') or bb.get('name')} (weights sha256 {bb['sha256'][:16]}...), "
            f"but the shipped backbone {entry.name} has weights sha256 {sha[:16]}...; ship the run's backbone first "
            f"(python -m rnalm.shipped.package PRETRAIN_DIR --name ...) or name it with --backbone")
    return entry.name, sha


def _valid_records(source: Path):
    """The run's validation split, exactly as ``rnalm finetune`` made it (Records, raw labels)."""
    from rnalm.finetune.data.loader_table import load_data
    from rnalm.runs.config_file import load_finetune_config
    from rnalm.runs.splits import holdout

    cfg = load_finetune_config(source / "config.yaml")
    bundle = load_data(cfg.data, cfg.task)
    if bundle.valid is not None:
        return bundle.valid, cfg, "data.valid"
    if cfg.cv.folds >= 2:
        raise ShippedModelError(f"{source} is a {cfg.cv.folds}-fold cross-validated run; ship a hold-out run "
                                f"(its validation split is the check source) or pass --check-data FILE")
    train = bundle.train
    strata = [str(v).strip() for v in train.labels] if cfg.task == "classification" and cfg.cv.stratify else None
    groups = train.groups if train.has_groups else None
    _, va = holdout(len(train), cfg.data.valid_fraction, cfg.train.seed, strata, groups)
    return train.subset(va), cfg, f"{len(va)} rows held out of data.train (valid_fraction {cfg.data.valid_fraction}, seed {cfg.train.seed})"


def _check_rows_table(path: Path, columns: Sequence[str]) -> list[dict]:
    from rnalm.shipped.check import read_check

    rows = read_check(path)
    if rows and not set(columns) <= set(rows[0]):
        raise ShippedModelError(f"{path}: --check-data needs the columns {', '.join(columns)}")
    return [{c: r[c] for c in columns} for r in rows]


def _run_card(source: Path, info: dict, metrics: dict, opts: "Options", backbone: Optional[str], extra: str) -> list[str]:
    import yaml

    cfg = yaml.safe_load((source / "config.yaml").read_text()) or {}
    data = cfg.get("data", {})
    tstate = _json(source / "trainer_state.json") if (source / "trainer_state.json").is_file() else {}
    bb = info.get("backbone", {})
    head = cfg.get("head", {})
    command = opts.command or "rnalm finetune --config config.yaml   # the run's resolved config, shipped alongside"
    notes = info.get("notes") or metrics.get("notes") or []
    steps = tstate.get("global_step", metrics.get("global_step"))
    lines = [
        "## Model\n",
        f"| | |\n|---|---|\n| task | {info.get('task')} ({info.get('label_name', 'label')}) |\n"
        f"| backbone | {'`' + (backbone or bb.get('name', '')) + '` (' + bb.get('mode', '') + ')' if bb.get('kind') == 'lm' else bb.get('kind', 'none')} |\n"
        + (f"| backbone layer | {bb.get('layer')} of {bb.get('num_layers')} |\n" if bb.get("kind") == "lm" else "")
        + f"| head | `{head.get('type')}`, needs {', '.join(info.get('head', {}).get('needs', []))} |\n"
        f"| trainable parameters | {metrics.get('trainable_parameters', 'n/a')} |\n"
        f"| truncation | {data.get('truncate')} (max length {data.get('max_length')}) |\n" + extra,
        "## Data\n",
        f"Loader `{data.get('loader')}`; train `{data.get('train')}`"
        + (f", valid `{data.get('valid')}`" if data.get("valid") else "")
        + (f", test `{data.get('test')}`" if data.get("test") else "")
        + f". Training rows: {metrics.get('n_train', 'n/a')}; validation rows: {metrics.get('n_valid', 'n/a')}"
        + (f" ({info['valid_split']})" if info.get("valid_split") else "") + ".\n"
        + "".join(f"\n- {n}" for n in notes) + ("\n" if notes else ""),
        "## Training\n",
        f"```\n{command}\n```\n\n"
        f"Optimisation steps: {steps if steps is not None else 'n/a'} (best epoch {metrics.get('best_epoch')}, "
        f"stopped early: {metrics.get('stopped_early')}, selection metric {metrics.get('metric')}, seed "
        f"{cfg.get('train', {}).get('seed')}); {metrics.get('train_seconds', 'n/a')} s of training.\n",
        "## Validation metrics (at training time, full validation split)\n",
        _metrics_table(metrics.get("valid", {})),
    ]
    return lines


def pack_task(source: Path, dest: Path, info: dict, opts: "Options", log: Callable[[str], None]) -> Packed:
    metrics = _json(source / "metrics.json") if (source / "metrics.json").is_file() else {}
    bb = _check_backbone(info, opts)
    _copy_run(source, dest, info, opts, bb[0] if bb else None)
    metric_name = metrics.get("metric") or ("spearman" if info.get("task") == "regression" else "auroc")
    backbone_dir = str(shipped.backbone_path(bb[0])) if bb else None

    if opts.check_data:
        pool_rows = _check_rows_table(Path(opts.check_data), ["id", "sequence", "label"])
        where = str(opts.check_data)
        strata = [r["label"] for r in pool_rows] if info.get("task") == "classification" else None
    else:
        recs, _, where = _valid_records(source)
        if metrics.get("n_valid") is not None and metrics["n_valid"] != len(recs):
            raise ShippedModelError(f"the validation split re-read now has {len(recs)} rows, the run's had "
                                    f"{metrics['n_valid']}: the data changed since training; pass --check-data FILE")
        pool_rows = [{"id": recs.ids[i], "sequence": recs.seqs[i], "label": str(recs.labels[i]).strip()}
                     for i in range(len(recs))]
        strata = [r["label"] for r in pool_rows] if info.get("task") == "classification" else None
    ids = [r["id"] for r in pool_rows]
    if len(set(ids)) != len(ids):  # ids must be unique in check.csv; number duplicates
        seen: dict = {}
        for r in pool_rows:
            k = seen[r["id"]] = seen.get(r["id"], 0) + 1
            if k > 1:
                r["id"] = f"{r['id']}_{k}"
    idx = _sample(len(pool_rows), opts.check_size, opts.seed, strata)
    rows = [pool_rows[i] for i in idx]
    log(f"check subset: {len(rows)} of {len(pool_rows)} validation rows ({where})")
    check = task_metrics(dest, rows, backbone_dir)
    if check.get(metric_name) is None or (isinstance(check[metric_name], float) and math.isnan(check[metric_name])):
        raise ShippedModelError(f"{metric_name} is undefined on the {len(rows)}-row check subset "
                                f"(a single class?); raise --check-size or change --seed")
    metric = {"name": metric_name, "value": (metrics.get("valid") or {}).get(metric_name), "split": "valid",
              "n": metrics.get("n_valid")}
    extra_rows = f"| stored dtype | {opts.dtype} |\n"
    if opts.recompute_valid:
        full = task_metrics(dest, pool_rows, backbone_dir)
        metric["recomputed"] = full.get(metric_name)
        log(f"full validation split with the packaged files: {metric_name} = {full.get(metric_name):.4f} "
            f"(at training time: {_fmt(metric['value'])})")
        if metric["value"] is not None and abs(full[metric_name] - metric["value"]) > 1e-3:
            log(f"warning: the packaged model's {metric_name} differs from the run's by "
                f"{abs(full[metric_name] - metric['value']):.4f} (float16 storage, or changed data/code)")
    if metric["value"] is None:
        metric.update(value=check[metric_name], split="check", n=len(rows))
    sections = _run_card(source, info, metrics, opts, bb[0] if bb else None, extra_rows)
    if opts.dtype == "float16":
        with tempfile.TemporaryDirectory() as tmp:
            # the float32 figure for the card: the same subset with the run's own weights
            t = Path(tmp) / "run"
            _copy_run(source, t, info, Options(**{**opts.__dict__, "dtype": "float32"}), bb[0] if bb else None)
            ref32 = task_metrics(t, rows, backbone_dir).get(metric_name)
        check["float32_reference"] = ref32
    if "recomputed" in metric and metric["recomputed"] is not None:
        sections.append(f"Recomputed with the shipped files when packaged: {metric_name} = "
                        f"{metric['recomputed']:.4f} on all {len(pool_rows)} validation rows.\n")
    return Packed("task", rows, ["id", "sequence", "label"], metric_name, check, metric, sections,
                  backbone=bb[0] if bb else None, backbone_sha256=bb[1] if bb else None)


def _label_to_dot_bracket(label: Any, seq: str, rid: str) -> str:
    from rnalm.structure.pairs import Structure, pairs_to_dot_bracket

    if isinstance(label, Structure):
        return label.dot_bracket()
    if hasattr(label, "pairs"):
        return pairs_to_dot_bracket(list(label.pairs), len(seq))
    if isinstance(label, str) and len(label) == len(seq):
        return label
    if isinstance(label, (list, tuple)):
        return pairs_to_dot_bracket([tuple(p) for p in label], len(seq))
    raise ShippedModelError(f"record {rid!r}: cannot read its structure label ({type(label).__name__}); "
                            f"pass --check-data with id,sequence,structure (dot-bracket) or a ct/bpseq/dbn file")


def pack_structure(source: Path, dest: Path, info: dict, opts: "Options", log: Callable[[str], None]) -> Packed:
    from rnalm.structure.predict import PostprocessOptions

    metrics = _json(source / "metrics.json") if (source / "metrics.json").is_file() else {}
    bb = _check_backbone(info, opts)
    _copy_run(source, dest, info, opts, bb[0] if bb else None)
    pp = dict(PostprocessOptions().__dict__)
    for src in (metrics.get("postprocess"), info.get("postprocess")):
        if isinstance(src, dict):
            pp.update({k: v for k, v in src.items() if k in pp})
    if opts.threshold is not None:
        pp["threshold"] = opts.threshold
    PostprocessOptions(**pp)  # validate

    if opts.check_data:
        p = Path(opts.check_data)
        if p.suffix.lower() in (".csv", ".tsv"):
            pool = _check_rows_table(p, ["id", "sequence", "structure"])
        else:
            from rnalm.structure.formats import read_structures

            pool = [{"id": s.id, "sequence": s.sequence, "structure": s.dot_bracket()} for s in read_structures(p)]
        where = str(p)
    else:
        try:
            recs, _, where = _valid_records(source)
        except ShippedModelError:
            raise
        except Exception as exc:
            raise ShippedModelError(f"cannot re-read the structure run's validation data ({exc}); pass "
                                    f"--check-data FILE (id,sequence,structure CSV or ct/bpseq/dbn)") from None
        pool = [{"id": recs.ids[i], "sequence": recs.seqs[i],
                 "structure": _label_to_dot_bracket(recs.labels[i], recs.seqs[i], recs.ids[i])}
                for i in range(len(recs))]
    idx = _sample(len(pool), opts.check_size, opts.seed)
    rows = [pool[i] for i in idx]
    log(f"check subset: {len(rows)} of {len(pool)} validation structures ({where})")
    view = shipped.run_view(shipped.Entry(name=opts.name, kind="structure", dir=dest.name, root=dest.parent,
                                          backbone=bb[0] if bb else None, files={"run_info.json": "packaging"}))
    check = structure_metrics(view, rows, pp)
    valid = metrics.get("valid") or {}
    name = "f1"  # per-sequence F1 averaged over sequences (the structure task's selection metric)
    metric = {"name": name, "value": valid.get(name, valid.get("f1_seq_mean")), "split": "valid",
              "n": metrics.get("n_valid")}
    if metric["value"] is None:
        metric.update(value=check[name], split="check", n=len(rows))
    extra = (f"| stored dtype | {opts.dtype} |\n| post-processing | threshold {pp['threshold']}, min loop "
             f"{pp['min_loop']}, canonical only {pp['canonical_only']}, one partner {pp['one_partner']} |\n")
    sections = _run_card(source, info, metrics, opts, bb[0] if bb else None, extra)
    return Packed("structure", rows, ["id", "sequence", "structure"], name, check, metric, sections,
                  backbone=bb[0] if bb else None, backbone_sha256=bb[1] if bb else None, postprocess=pp)


# ------------------------------------------------------------------------------------ main
@dataclass
class Options:
    name: str
    data_licence: str
    task: Optional[str] = None
    licence: str = "MIT"
    description: str = ""
    command: Optional[str] = None
    check_size: int = 64
    seed: int = 0
    check_data: Optional[str] = None
    dtype: str = "float32"
    backbone: str = shipped.DEFAULT_BACKBONE
    threshold: Optional[float] = None
    include: tuple = ()
    recompute_valid: bool = True
    #: ``(name, run folder)`` of baselines validated on the same rows (the first: the recipe's one-hot baseline).
    baselines: tuple = ()
    #: paragraphs for the card's Notes section (what a user should know beyond the figures).
    notes: tuple = ()


def _valid_ids(run: Path) -> list[str]:
    path = run / "predictions.csv"
    if not path.is_file():
        raise ShippedModelError(f"{run}: no predictions.csv, so its validation rows cannot be compared")
    with open(path, newline="", encoding="utf-8") as fh:
        return sorted(r["id"] for r in csv.DictReader(fh) if r.get("split") == "valid")


def baselines(source: Path, metric: dict, specs: Sequence[tuple[str, str]]) -> list[dict]:
    """Each baseline's figure for the shipped model's metric, after checking that it was validated
    on exactly the shipped run's validation rows (same ids), so the comparison is paired."""
    from rnalm.metrics import greater_is_better

    out = []
    ours = _valid_ids(source) if specs else []
    for name, run in specs:
        run_dir = Path(run)
        m = _json(run_dir / "metrics.json") if (run_dir / "metrics.json").is_file() else None
        value = ((m or {}).get("valid") or {}).get(metric["name"])
        if value is None:
            raise ShippedModelError(f"baseline {name}: {run_dir}/metrics.json has no validation {metric['name']}")
        if _valid_ids(run_dir) != ours:
            raise ShippedModelError(f"baseline {name}: {run_dir} was validated on other rows than {source}; "
                                    f"a baseline must share the shipped model's validation split")
        better = metric["value"] > value if greater_is_better(metric["name"]) else metric["value"] < value
        out.append({"name": name, "source": _display_path(run_dir), "metric": metric["name"], "value": float(value),
                    "n": m.get("n_valid", len(ours)), "beaten": bool(better)})
    return out


def _baseline_table(rows: Sequence[dict], metric: dict) -> str:
    head = (f"## Baselines (same validation rows)\n\nThis model: {metric['name']} = {_fmt(metric['value'])}. "
            "The first row is the recipe's one-hot baseline.\n\n| baseline | run | "
            f"{metric['name']} | beaten by this model |\n|---|---|---|---|\n")
    return head + "".join(f"| {b['name']} | `{b['source']}` | {_fmt(b['value'])} | {'yes' if b['beaten'] else 'no'} |\n"
                          for b in rows)


def _card(name: str, kind: str, opts: Options, packed: Packed, folder: Path, files: Sequence[str]) -> str:
    alias = opts.task
    usage = {
        "backbone": f"`rnalm.load(\"{name}\")`, `rnalm embed --input seqs.fa --output emb.h5` (the default model)",
        "task": f"`rnalm predict --task {alias or name} --input seqs.fa --output preds.csv`",
        "structure": "`rnalm fold --input seqs.fa --output structures/` (the default without --run / --method)",
    }[kind]
    m, c = packed.metric, packed.check
    compared = [_baseline_table(packed.extra["baselines"], m)] if packed.extra.get("baselines") else []
    if opts.notes:
        compared.append("## Notes\n\n" + "\n\n".join(opts.notes) + "\n")
    head = [
        f"# {name}\n",
        (opts.description or shipped.TASK_ALIASES.get(alias or "", "")) + "\n",
        f"| | |\n|---|---|\n| kind | {kind} |\n" + (f"| task alias | `{alias}` |\n" if alias else "")
        + f"| use | {usage} |\n"
        + (f"| backbone | `{packed.backbone}` (shipped; weights state sha256 `{packed.backbone_sha256}`) |\n"
           if packed.backbone else "")
        + f"| licence (weights) | {opts.licence} |\n| data licence | {opts.data_licence} |\n"
        f"| packaged | {datetime.date.today().isoformat()} with rnalm {_version()} |\n",
        f"**Validation metric: {m['name']} = {_fmt(m['value'])}** ({m.get('split')}, n = {m.get('n')})\n",
    ]
    check = [
        "## Check subset\n",
        f"`{CHECK_FILE}`: {len(packed.rows)} rows drawn with seed {opts.seed} from the validation data. "
        f"The shipped files give **{packed.check_metric} = {c[packed.check_metric]:.6f}** on it "
        f"(recorded in `manifest.json`; `tests/shipped` recomputes it, tolerance {TOLERANCE:g}).\n"
        + (f"\nWeights are stored as float16; the float32 weights of the run give "
           f"{packed.check_metric} = {c['float32_reference']:.6f} on the same rows.\n" if "float32_reference" in c else ""),
        "## Files\n",
        "sha256 of every shipped file but this card (the manifest lists this card's too):\n\n"
        + _file_table(folder, [f for f in files if f != CARD_FILE]),
    ]
    return "\n".join(head + compared + packed.card_sections + check)


def _display_path(p: Path) -> str:
    """Relative to the working directory when inside it (the manifest should not record a home folder)."""
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p.resolve())


def _version() -> str:
    from rnalm import __version__

    return __version__


def _update_manifest(root: Path, entry: dict, log: Callable[[str], None]) -> None:
    data = shipped.read_manifest(root)
    models = [m for m in data["models"] if m.get("name") != entry["name"]]
    if len(models) != len(data["models"]):
        log(f"replacing the manifest entry {entry['name']}")
    if entry["kind"] == "backbone":
        users = [m["name"] for m in models if m.get("backbone") == entry["name"]
                 and m.get("backbone_sha256") not in (None, entry.get("backbone_sha256"))]
        if users:
            log(f"warning: {', '.join(users)} were packaged against other weights of {entry['name']}; re-ship them")
    models.append(entry)
    order = {k: i for i, k in enumerate(shipped.KINDS)}
    models.sort(key=lambda m: (order.get(m.get("kind"), 9), m.get("name")))
    data["models"] = models
    write_json(root / MANIFEST, data)


def package(source: str | Path, opts: Options, root: str | Path | None = None,
            log: Callable[[str], None] = print) -> shipped.Entry:
    """Write the shipped entry for ``source`` under ``root`` (default: :func:`rnalm.shipped.root`)."""
    from rnalm.io.native import sha256_file

    source = Path(source)
    if not source.is_dir():
        raise ShippedModelError(f"{source}: no such directory")
    if opts.check_size < 4:
        raise ShippedModelError(f"--check-size must be at least 4, got {opts.check_size}")
    if opts.dtype not in ("float32", "float16"):
        raise ShippedModelError(f"--dtype must be float32 or float16, got {opts.dtype!r}")
    name = opts.name
    if not name or any(c in name for c in "/\\: ") or name.startswith("."):
        raise ShippedModelError(f"--name {name!r}: use letters, digits, '-', '_' and '.'")
    root = Path(root).expanduser() if root is not None else shipped.root()
    root.mkdir(parents=True, exist_ok=True)
    if (source / "run_info.json").is_file():
        info = _json(source / "run_info.json")
        kind = "structure" if info.get("task") == "structure" else "task"
        if opts.task in (None, "") and kind == "structure":
            opts.task = "fold"
    else:
        info, kind = None, "backbone"
        if opts.task:
            raise ShippedModelError("--task applies to fine-tuning runs, not to a backbone")
    if kind == "task" and not opts.task:
        raise ShippedModelError(f"name the task alias with --task (e.g. {', '.join(a for a in shipped.TASK_ALIASES if a != 'fold')})")
    if kind == "task" and opts.task == "fold":
        raise ShippedModelError("--task fold is reserved for structure runs")
    if kind == "structure" and opts.task != "fold":
        raise ShippedModelError("a structure run is shipped under the task alias fold")
    clash = [m["name"] for m in shipped.read_manifest(root)["models"]
             if opts.task and m.get("task") == opts.task and m.get("name") != name]
    if clash:
        raise ShippedModelError(f"task alias {opts.task!r} is already shipped as {clash[0]}; remove that entry "
                                f"first (or ship under its name, which replaces it)")

    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        with shipped.using_root(root):
            if kind == "backbone":
                packed = pack_backbone(source, tmp, opts, log)
            elif kind == "task":
                packed = pack_task(source, tmp, info, opts, log)
            else:
                packed = pack_structure(source, tmp, info, opts, log)
        if opts.baselines:
            if kind == "backbone":
                raise ShippedModelError("--baseline applies to task and structure runs")
            packed.extra["baselines"] = baselines(source, packed.metric, opts.baselines)
        write_check(tmp / CHECK_FILE, packed.rows, packed.columns)
        files = _all_files(tmp)
        (tmp / CARD_FILE).write_text(_card(name, kind, opts, packed, tmp, files + [CARD_FILE]), encoding="utf-8")
        files = _all_files(tmp)
        sums = {f: sha256_file(tmp / f) for f in files}
        size = sum((tmp / f).stat().st_size for f in files)
        dest = root / name
        backup = root / f".{name}.old"
        shutil.rmtree(backup, ignore_errors=True)
        if dest.exists():
            os.replace(dest, backup)
        os.replace(tmp, dest)
        shutil.rmtree(backup, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for p in [dest, *dest.rglob("*")]:  # installable: readable by everyone (runs may be private, 0600)
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    entry = {
        "name": name, "kind": kind, "task": opts.task or None, "dir": name,
        "description": opts.description or shipped.TASK_ALIASES.get(opts.task or "", ""),
        "files": sums, "size": size, "dtype": opts.dtype, "licence": opts.licence, "data_licence": opts.data_licence,
        "backbone": packed.backbone, "backbone_sha256": packed.backbone_sha256,
        "metric": packed.metric,
        "check": {"file": CHECK_FILE, "n": len(packed.rows), "seed": opts.seed, "metric": packed.check_metric,
                  "value": packed.check[packed.check_metric],
                  "all": {k: v for k, v in packed.check.items() if isinstance(v, (int, float))}},
        "source": _display_path(source), "packaged": datetime.date.today().isoformat(), "rnalm_version": _version(),
        **({"postprocess": packed.postprocess} if packed.postprocess else {}),
        **packed.extra,
    }
    _update_manifest(root, entry, log)
    log(f"shipped {name} ({kind}{', alias ' + opts.task if opts.task else ''}): {size / 1e6:.2f} MB in {dest}; "
        f"check {packed.check_metric} = {packed.check[packed.check_metric]:.6f} on {len(packed.rows)} rows")
    return shipped.get(name, folder=root)


def remove(name: str, root: str | Path | None = None, log: Callable[[str], None] = print) -> None:
    """Delete shipped entry ``name`` (folder and manifest entry); refused while task models use it."""
    root = Path(root).expanduser() if root is not None else shipped.root()
    data = shipped.read_manifest(root)
    if not any(m.get("name") == name for m in data["models"]):
        raise ShippedModelError(f"no shipped model {name!r} in {root / MANIFEST}")
    users = [m["name"] for m in data["models"] if m.get("backbone") == name]
    if users:
        raise ShippedModelError(f"{name} is the backbone of {', '.join(users)}; remove those first")
    data["models"] = [m for m in data["models"] if m.get("name") != name]
    write_json(root / MANIFEST, data)
    shutil.rmtree(root / name, ignore_errors=True)
    log(f"removed {name} from {root}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rnalm.shipped.package", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", nargs="?", help="pretraining output / native folder (backbone) or fine-tuning run folder")
    p.add_argument("--name", required=True, help="shipped name, e.g. utrlm-mini or utrlm-mini-te")
    p.add_argument("--remove", action="store_true", help="delete the shipped model --name instead (no SOURCE)")
    p.add_argument("--task", help="task alias the commands take: te, halflife, ires, family (structure runs: fold)")
    p.add_argument("--data-licence", help="licence of the training data, for the card (required to ship)")
    p.add_argument("--licence", default="MIT", help="licence of the shipped weights (default MIT)")
    p.add_argument("--description", default="", help="one line for the card and `rnalm models`")
    p.add_argument("--command", help="the exact command that trained the model (default: from the run's files)")
    p.add_argument("--check-size", type=int, default=64, help="rows in the fixed check subset (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed drawing the check subset (default 0)")
    p.add_argument("--check-data", help="draw the check subset from this file instead of the run's validation data")
    p.add_argument("--dtype", choices=("float32", "float16"), default="float32",
                   help="storage of task weights (default float32; backbones are always float32)")
    p.add_argument("--backbone", default=shipped.DEFAULT_BACKBONE,
                   help=f"shipped backbone the run must have been trained on (default {shipped.DEFAULT_BACKBONE})")
    p.add_argument("--threshold", type=float, help="structure runs: pair-probability threshold for rnalm fold")
    p.add_argument("--include", nargs="*", default=[], help="extra run files prediction needs (structure runs)")
    p.add_argument("--no-recompute-valid", action="store_true",
                   help="skip re-scoring the whole validation split with the packaged files")
    p.add_argument("--baseline", action="append", default=[], metavar="NAME=RUN",
                   help="a baseline run validated on the same rows, listed on the card with its figure "
                        "(repeatable; give the recipe's one-hot baseline first)")
    p.add_argument("--note", action="append", default=[], metavar="TEXT",
                   help="a paragraph for the card's Notes section (repeatable)")
    p.add_argument("--root", help=f"folder of shipped models (default: ${shipped.ENV_DIR} or the package's)")
    return p


def _baseline_arg(parser: argparse.ArgumentParser, value: str) -> tuple[str, str]:
    name, sep, run = value.partition("=")
    if not sep or not name.strip() or not run.strip():
        parser.error(f"--baseline {value!r}: give NAME=RUN, e.g. onehot=runs/ires/onehot")
    return name.strip(), run.strip()


def main(argv: Optional[Sequence[str]] = None) -> int:
    from rnalm.errors import RnalmError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.remove:
        if args.source:
            parser.error("--remove takes no SOURCE")
        try:
            remove(args.name, args.root)
        except RnalmError as exc:
            print(f"ship: error: {exc}", file=sys.stderr)
            return 2
        return 0
    if not args.source or not args.data_licence:
        parser.error("SOURCE and --data-licence are required to ship a model")
    opts = Options(name=args.name, data_licence=args.data_licence, task=args.task, licence=args.licence,
                   description=args.description, command=args.command, check_size=args.check_size, seed=args.seed,
                   check_data=args.check_data, dtype=args.dtype, backbone=args.backbone, threshold=args.threshold,
                   include=tuple(args.include), recompute_valid=not args.no_recompute_valid,
                   baselines=tuple(_baseline_arg(parser, b) for b in args.baseline), notes=tuple(args.note))
    try:
        package(args.source, opts, args.root)
    except RnalmError as exc:
        print(f"ship: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
