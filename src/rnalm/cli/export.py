"""``rnalm export MODEL --to hf|onnx OUTPUT``: a model for transformers or an ONNX runtime."""

from __future__ import annotations

import argparse

from rnalm.export import TARGETS, export


def register(sub: argparse._SubParsersAction) -> None:
    targets = "; ".join(f"--to {name}: {what}" for name, (what, _) in TARGETS.items())
    p = sub.add_parser(
        "export",
        help="write a model for transformers (--to hf) or ONNX runtimes (--to onnx)",
        description=f"Loads MODEL and writes it as OUTPUT. {targets}. The export is loaded back with "
        "transformers or onnxruntime and compared with rnalm's outputs on a padded batch before it is "
        "moved into place; the command prints what it wrote and how closely it reproduces rnalm. Needs "
        "pip install 'rnalm[hf]' or 'rnalm[onnx]'. An existing OUTPUT is an error unless --overwrite, "
        "which replaces only an export rnalm wrote.",
    )
    p.add_argument(
        "model", metavar="MODEL", help="a shipped or registered model name (see `rnalm models`) or a checkpoint path"
    )
    p.add_argument("--to", required=True, choices=sorted(TARGETS), help="what to write")
    p.add_argument("output", metavar="OUTPUT", help="output directory (--to hf) or file (--to onnx)")
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT, only if it is an export rnalm wrote")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    done = export(args.model, args.to, args.output, overwrite=args.overwrite)
    print(f"{args.model} -> {done.summary()}")
    for note in done.notes:
        print(f"  note: {note}")
    return 0
