"""The model card (``card.md``) of a shipped entry: the common head and check sections, the sections
describing a fine-tuning run, and the tables they share."""

from __future__ import annotations

import datetime
import json
import math
from pathlib import Path
from typing import Any, Optional, Sequence

import yaml

from rnalm import shipped
from rnalm.io.digest import sha256_file
from rnalm.packaging.anchors import KINDS_WITH_ANCHORS, anchor_section
from rnalm.packaging.check import CHECK_FILE
from rnalm.packaging.files import read_json
from rnalm.packaging.options import CARD_FILE, TOLERANCE, Options, Packed
from rnalm.version import __version__


def fmt(v: Any) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4f}"
    return str(v)


def metrics_table(m: dict) -> str:
    rows = [(k, v) for k, v in m.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not rows:
        return "(none recorded)\n"
    return "| metric | value |\n|---|---|\n" + "".join(f"| {k} | {fmt(v)} |\n" for k, v in rows)


def file_table(folder: Path, names: Sequence[str]) -> str:
    out = "| file | bytes | sha256 |\n|---|---|---|\n"
    for n in names:
        p = folder / n
        out += f"| `{n}` | {p.stat().st_size:,} | `{sha256_file(p)}` |\n"
    return out


def baseline_table(rows: Sequence[dict], metric: dict) -> str:
    head = (
        f"## Baselines (same validation rows)\n\nThis model: {metric['name']} = {fmt(metric['value'])}. "
        "The first row is the recipe's one-hot baseline.\n\n| baseline | run | "
        f"{metric['name']} | beaten by this model |\n|---|---|---|---|\n"
    )
    return head + "".join(
        f"| {b['name']} | `{b['source']}` | {fmt(b['value'])} | {'yes' if b['beaten'] else 'no'} |\n" for b in rows
    )


def stored_dtype_row(rounded_from: str) -> str:
    """The model table's row of a backbone stored in float16."""
    return (
        f"| stored dtype | float16 (rounded from the float32 weights with state sha256 `{rounded_from}`, on which "
        "the validation metrics were measured; computes in float32) |\n"
    )


def backbone_sections(
    enc: dict,
    prov: dict,
    pcfg: Any,
    *,
    n_params: int,
    alphabet: Any,
    max_length: int,
    sha: str,
    command: str,
    steps: Any,
    final: dict,
    rounded_from: Optional[str] = None,
) -> list[str]:
    """Model, data, training and validation sections of a backbone's card (``pcfg``: its pretraining config;
    ``rounded_from``: the state sha256 of the float32 weights a float16-stored backbone was rounded from)."""
    stored = stored_dtype_row(rounded_from) if rounded_from else ""
    return [
        "## Model\n",
        f"| | |\n|---|---|\n| architecture | {enc['num_layers']} layers, {enc['embed_dim']} wide, "
        f"{enc['attention_heads']} heads, FFN {enc['ffn_embed_dim']}, {enc.get('position_embedding', '')} positions |\n"
        f"| parameters | {n_params:,} |\n| alphabet | `{alphabet.name}` ({''.join(alphabet.letters)}) |\n"
        f"| maximum length | {max_length} tokens |\n| weights state sha256 | `{sha}` |\n" + stored,
        "## Data\n",
        (
            f"Pretraining corpus: {', '.join(f'`{p}`' for p in pcfg.data.paths)} "
            f"(min length {pcfg.data.min_length}, max length {pcfg.data.max_length}, dedup {pcfg.data.dedup}, "
            f"validation fraction {pcfg.data.valid_fraction} by sequence hash).\n"
            if pcfg is not None
            else ""
        )
        + (f"\nCorpus report: {prov['corpus']}\n" if prov.get("corpus") else ""),
        "## Training\n",
        f"```\n{command}\n```\n\n"
        + (f"Objective: {json.dumps(prov['objective'])}\n\n" if prov.get("objective") else "")
        + (
            f"Optimiser: lr {pcfg.optim.lr}, {pcfg.optim.schedule} schedule, warmup {pcfg.optim.warmup_steps}, "
            f"{pcfg.optim.tokens_per_batch} tokens per batch, seed {pcfg.seed}.\n\n"
            if pcfg is not None
            else ""
        )
        + f"Steps: {steps if steps is not None else 'not recorded'}.\n",
        "## Validation metrics\n",
        metrics_table(final) if final else "(none recorded; see the check subset)\n",
    ]


def run_sections(
    source: Path, info: dict, metrics: dict, opts: Options, backbone: Optional[str], extra: str
) -> list[str]:
    """Model, data, training and validation sections of a fine-tuning run's card."""
    cfg = yaml.safe_load((source / "config.yaml").read_text()) or {}
    data = cfg.get("data", {})
    tstate = read_json(source / "trainer_state.json") if (source / "trainer_state.json").is_file() else {}
    bb = info.get("backbone", {})
    head = cfg.get("head", {})
    command = opts.command or "rnalm finetune --config config.yaml   # the run's resolved config, shipped alongside"
    notes = info.get("notes") or metrics.get("notes") or []
    steps = tstate.get("global_step", metrics.get("global_step"))
    used = (
        "`" + (backbone or bb.get("name", "")) + "` (" + bb.get("mode", "") + ")"
        if bb.get("kind") == "lm"
        else bb.get("kind", "none")
    )
    trees = bb.get("kind") == "features"  # gradient boosting: no head, no optimisation steps
    learned = (
        "| model | gradient-boosted trees on the hand-made features (`model.skops`, read without running code) |\n"
        if trees
        else f"| head | `{head.get('type')}`, needs {', '.join(info.get('head', {}).get('needs', []))} |\n"
        f"| trainable parameters | {metrics.get('trainable_parameters', 'n/a')} |\n"
    )
    members = metrics.get("members") or []
    training = (
        f"Gradient boosting (seed {cfg.get('train', {}).get('seed')}); {metrics.get('train_seconds', 'n/a')} s.\n"
        if trees
        else ensemble_training(members, metrics)
        if members
        else f"Optimisation steps: {steps if steps is not None else 'n/a'} (best epoch {metrics.get('best_epoch')}, "
        f"stopped early: {metrics.get('stopped_early')}, selection metric {metrics.get('metric')}, seed "
        f"{cfg.get('train', {}).get('seed')}); {metrics.get('train_seconds', 'n/a')} s of training.\n"
    )
    lines = [
        "## Model\n",
        f"| | |\n|---|---|\n| task | {info.get('task')} ({info.get('label_name', 'label')}) |\n"
        f"| backbone | {used} |\n"
        + (f"| backbone layer | {bb.get('layer')} of {bb.get('num_layers')} |\n" if bb.get("kind") == "lm" else "")
        + learned
        + f"| truncation | {data.get('truncate')} (max length {data.get('max_length')}) |\n"
        + extra,
        "## Data\n",
        f"Loader `{data.get('loader')}`; train `{data.get('train')}`"
        + (f", valid `{data.get('valid')}`" if data.get("valid") else "")
        + (f", test `{data.get('test')}`" if data.get("test") else "")
        + f". Training rows: {metrics.get('n_train', 'n/a')}; validation rows: {metrics.get('n_valid', 'n/a')}"
        + (f" ({info['valid_split']})" if info.get("valid_split") else "")
        + ".\n"
        + "".join(f"\n- {n}" for n in notes)
        + ("\n" if notes else ""),
        "## Training\n",
        f"```\n{command}\n```\n\n" + training,
        "## Validation metrics (at training time, full validation split)\n",
        metrics_table(metrics.get("valid", {})),
    ]
    return lines


def ensemble_training(members: Sequence[dict], metrics: dict) -> str:
    """The training line of an ensemble run (``train.members``): each member's seed, steps, best epoch
    and validation figure, then the ensemble's."""
    metric = metrics.get("metric")
    rows = "".join(
        f"| {m.get('member')} | {m.get('seed')} | {m.get('global_step', 'n/a')} | {m.get('best_epoch')} | "
        f"{m.get('stopped_early')} | {fmt((m.get('valid') or {}).get(metric, float('nan')))} |\n"
        for m in members
    )
    return (
        f"An ensemble of {len(members)} models of this recipe on the same split, differing only in their seed "
        f"(initial weights, batch order); predictions are their mean (class probabilities averaged). "
        f"{metrics.get('train_seconds', 'n/a')} s of training in all.\n\n"
        f"| member | seed | optimisation steps | best epoch | stopped early | valid {metric} |\n"
        "|---|---|---|---|---|---|\n"
        + rows
        + f"| ensemble | | | | | {fmt((metrics.get('valid') or {}).get(metric, float('nan')))} |\n"
    )


def _head(name: str, kind: str, opts: Options, packed: Packed) -> list[str]:
    alias = opts.task
    usage = {
        "backbone": f'`rnalm.load("{name}")`, `rnalm embed --input seqs.fa --output emb.h5` (the default model)',
        "task": f"`rnalm predict --task {alias or name} --input seqs.fa --output preds.csv`",
        "structure": "`rnalm fold --input seqs.fa --output structures/` (the default --model shipped)",
    }[kind]
    m = packed.metric
    return [
        f"# {name}\n",
        (opts.description or shipped.TASK_ALIASES.get(alias or "", "")) + "\n",
        f"| | |\n|---|---|\n| kind | {kind} |\n"
        + (f"| task alias | `{alias}` |\n" if alias else "")
        + f"| use | {usage} |\n"
        + (
            f"| backbone | `{packed.backbone}` (shipped; weights state sha256 `{packed.backbone_sha256}`) |\n"
            if packed.backbone
            else ""
        )
        + f"| licence (weights) | {opts.licence} |\n| data licence | {opts.data_licence} |\n"
        f"| packaged | {datetime.date.today().isoformat()} with rnalm {__version__} |\n",
        f"**Validation metric: {m['name']} = {fmt(m['value'])}** ({m.get('split')}, n = {m.get('n')})\n",
    ]


def _check_sections(opts: Options, packed: Packed, folder: Path, files: Sequence[str]) -> list[str]:
    c = packed.check
    return [
        "## Check subset\n",
        f"`{CHECK_FILE}`: {len(packed.rows)} rows drawn with seed {opts.seed} from the validation data. "
        f"The shipped files give **{packed.check_metric} = {c[packed.check_metric]:.6f}** on it "
        f"(recorded in `manifest.json`; `tests/shipped` recomputes it, tolerance {TOLERANCE:g}).\n"
        + (
            f"\nWeights are stored as float16; the float32 weights of the run give "
            f"{packed.check_metric} = {c['float32_reference']:.6f} on the same rows.\n"
            if "float32_reference" in c
            else ""
        ),
        "## Files\n",
        "sha256 of every shipped file but this card (the manifest lists this card's too):\n\n"
        + file_table(folder, [f for f in files if f != CARD_FILE]),
    ]


def card(name: str, kind: str, opts: Options, packed: Packed, folder: Path, files: Sequence[str]) -> str:
    """The whole card: head, baselines and notes, the published anchors of the task (held-out tests
    rnalm does not measure here), the kind's own sections, the check subset and files."""
    compared = [baseline_table(packed.extra["baselines"], packed.metric)] if packed.extra.get("baselines") else []
    if opts.notes:
        compared.append("## Notes\n\n" + "\n\n".join(opts.notes) + "\n")
    anchors = anchor_section(opts.task) if kind in KINDS_WITH_ANCHORS else ""
    if anchors:
        compared.append(anchors)
    return "\n".join(
        _head(name, kind, opts, packed) + compared + packed.card_sections + _check_sections(opts, packed, folder, files)
    )


__all__ = [
    "backbone_sections",
    "baseline_table",
    "card",
    "file_table",
    "fmt",
    "metrics_table",
    "run_sections",
    "stored_dtype_row",
]
