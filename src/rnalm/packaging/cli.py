"""Package a trained model as a shipped model: ``python -m rnalm.packaging SOURCE --name NAME ...``.

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
float32 figure next to it, so the change is visible. A backbone packaged with ``--dtype float16`` records
the state sha256 of the float32 weights it was rounded from (task models name their backbone by its
exact weights), so runs trained on those are still packaged against it, re-keyed to the stored weights.

``--baseline NAME=RUN`` (repeatable) lists other runs validated on the same rows on the card.
``--previous DIR`` (task models) scores the previous shipped model in DIR (a shipped model folder of an
earlier release, with its manifest.json one level up) on the same validation rows, lists it among the
baselines, and refuses to ship unless the new model beats it.
``--replaces NAME`` ships a task or structure model under a new name in place of the shipped model of the
same task alias (one model per alias): NAME leaves the manifest in the same write that adds the new entry,
so a packaging that fails keeps NAME shipped.

Every task and structure card carries a "Published anchors" section: the figures papers report on the
task's held-out tests, which rnalm measures elsewhere. ``python -m rnalm.packaging --update-anchors
[--root DIR]`` (no SOURCE, no --name) rewrites that section in every installed card, and the cards'
sha256s in manifest.json, without re-packaging. ``--deflate-trees [--root DIR]`` re-saves the trees of
installed feature models stored uncompressed (the same estimator, checked; about a third of the bytes)
and updates their cards' file tables and the manifest (:mod:`rnalm.packaging.deflate`).
``--backbones-float16 [--root DIR]`` stores installed float32 backbones in float16 and re-keys the task
models that read them, refused unless every check figure stays within 0.002
(:mod:`rnalm.packaging.backbone_float16`).

Run it from the directory the run was trained in (data paths in ``config.yaml`` are relative).
Example::

    python -m rnalm.packaging runs/pretrain/utrlm_mini --name utrlm-mini \\
        --data-licence "MIT (LAMAR data) + GPL-3.0 (nRC)" \\
        --command "rnalm pretrain --config recipes/pretrain/utrlm_shared.yaml"
    python -m rnalm.packaging runs/hek293_te/lm --name utrlm-mini-te --task te \\
        --data-licence "MIT (zhw-e8/LAMAR UTR5TEPred data)" \\
        --command "rnalm finetune --config recipes/hek293_te/lm.yaml backbone.name=runs/pretrain/utrlm_mini/final" \\
        --previous old-release/src/rnalm/shipped/utrlm-mini-te
    python -m rnalm.packaging --update-anchors
    python -m rnalm.packaging --deflate-trees
    python -m rnalm.packaging --backbones-float16
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from rnalm import shipped
from rnalm.errors import RnalmError
from rnalm.packaging.backbone_float16 import store_backbones_float16
from rnalm.packaging.deflate import deflate_feature_models
from rnalm.packaging.manifest import remove
from rnalm.packaging.options import Options
from rnalm.packaging.recard import update_anchor_sections
from rnalm.packaging.ship import package

#: the in-place updates of every installed entry: option destination -> what it runs
IN_PLACE = {
    "update_anchors": update_anchor_sections,
    "deflate_trees": deflate_feature_models,
    "backbones_float16": store_backbones_float16,
}


class _Parser(argparse.ArgumentParser):
    """``--name`` is required except with the options of :data:`IN_PLACE`, which work on every entry at once."""

    def parse_known_args(  # type: ignore[override]  # typeshed's overloads on the namespace type
        self, args: Optional[Sequence[str]] = None, namespace: Optional[argparse.Namespace] = None
    ) -> tuple[argparse.Namespace, list[str]]:
        ns, rest = super().parse_known_args(args, namespace)
        every_entry = any(getattr(ns, dest, False) for dest in IN_PLACE)
        if not every_entry and getattr(ns, "name", None) is None:
            self.error("the following arguments are required: --name")
        return ns, rest


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m rnalm.packaging", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("source", nargs="?", help="pretraining output / native folder (backbone) or fine-tuning run folder")
    p.add_argument("--name", help="shipped name, e.g. utrlm-mini or utrlm-mini-te (not with the in-place updates)")
    p.add_argument("--remove", action="store_true", help="delete the shipped model --name instead (no SOURCE)")
    p.add_argument("--task", help=f"task alias the commands take: {shipped.PREDICT_TASKS} (structure runs: fold)")
    p.add_argument("--data-licence", help="licence of the training data, for the card (required to ship)")
    p.add_argument("--licence", default="MIT", help="licence of the shipped weights (default MIT)")
    p.add_argument("--description", default="", help="one line for the card and `rnalm models`")
    p.add_argument("--command", help="the exact command that trained the model (default: from the run's files)")
    p.add_argument("--check-size", type=int, default=64, help="rows in the fixed check subset (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed drawing the check subset (default 0)")
    p.add_argument("--check-data", help="draw the check subset from this file instead of the run's validation data")
    p.add_argument(
        "--dtype",
        choices=("float32", "float16"),
        default="float32",
        help="storage of task weights (default float32; backbones are always float32)",
    )
    p.add_argument(
        "--backbone",
        default=shipped.DEFAULT_BACKBONE,
        help=f"shipped backbone the run must have been trained on (default {shipped.DEFAULT_BACKBONE})",
    )
    p.add_argument("--threshold", type=float, help="structure runs: pair-probability threshold for rnalm fold")
    p.add_argument("--include", nargs="*", default=[], help="extra run files prediction needs (structure runs)")
    p.add_argument(
        "--no-recompute-valid",
        action="store_true",
        help="skip re-scoring the whole validation split with the packaged files",
    )
    p.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="NAME=RUN",
        help="a baseline run validated on the same rows, listed on the card with its figure "
        "(repeatable; give the recipe's one-hot baseline first)",
    )
    p.add_argument(
        "--note",
        action="append",
        default=[],
        metavar="TEXT",
        help="a paragraph for the card's Notes section (repeatable)",
    )
    p.add_argument(
        "--previous",
        metavar="DIR",
        help="task models: the previous shipped model folder (manifest.json one level up) this model must "
        "beat on the same validation rows; listed among the baselines",
    )
    p.add_argument(
        "--replaces",
        metavar="NAME",
        help="task and structure models: the shipped model of the same task alias this one replaces under a new "
        "name; removed only once this one is packaged (in the same manifest write)",
    )
    p.add_argument(
        "--update-anchors",
        action="store_true",
        help="rewrite the published-anchors section of every task and structure card under --root "
        "and their sha256s in manifest.json (no SOURCE, no --name)",
    )
    p.add_argument(
        "--deflate-trees",
        action="store_true",
        help="re-save the trees of feature models under --root stored uncompressed, deflated (same predictions, "
        "checked), with their cards' file tables and manifest.json (no SOURCE, no --name)",
    )
    p.add_argument(
        "--backbones-float16",
        action="store_true",
        help="store the float32 backbones under --root in float16 and re-key the task models that read them "
        "(refused if a check figure moves by more than 0.002), with cards and manifest.json (no SOURCE, no --name)",
    )
    p.add_argument("--root", help=f"folder of shipped models (default: ${shipped.ENV_DIR} or the package's)")
    return p


def _baseline_arg(parser: argparse.ArgumentParser, value: str) -> tuple[str, str]:
    name, sep, run = value.partition("=")
    if not sep or not name.strip() or not run.strip():
        parser.error(f"--baseline {value!r}: give NAME=RUN, e.g. onehot=runs/ires/onehot")
    return name.strip(), run.strip()


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    chosen = [dest for dest in IN_PLACE if getattr(args, dest)]
    if chosen:
        flag = "--" + chosen[0].replace("_", "-")
        if args.source or args.name or args.remove or len(chosen) > 1:
            parser.error(f"{flag} takes no SOURCE, --name, --remove or other whole-folder option")
        try:
            IN_PLACE[chosen[0]](args.root)
        except RnalmError as exc:
            print(f"ship: error: {exc}", file=sys.stderr)
            return 2
        return 0
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
    opts = Options(
        name=args.name,
        data_licence=args.data_licence,
        task=args.task,
        licence=args.licence,
        description=args.description,
        command=args.command,
        check_size=args.check_size,
        seed=args.seed,
        check_data=args.check_data,
        dtype=args.dtype,
        backbone=args.backbone,
        threshold=args.threshold,
        include=tuple(args.include),
        recompute_valid=not args.no_recompute_valid,
        baselines=tuple(_baseline_arg(parser, b) for b in args.baseline),
        notes=tuple(args.note),
        previous=args.previous,
        replaces=args.replaces,
    )
    try:
        package(args.source, opts, args.root)
    except RnalmError as exc:
        print(f"ship: error: {exc}", file=sys.stderr)
        return 2
    return 0


__all__ = ["build_parser", "main"]
