"""``rnalm predict --task te|halflife|ires|family|mrl`` (a shipped model) or ``--run RUN_DIR`` (your own run)."""

from __future__ import annotations

import argparse
import sys

from rnalm import shipped
from rnalm.cli.options import (
    add_device,
    add_dtype,
    add_input,
    add_output,
    add_overwrite,
    add_quiet,
    progress_choice,
)
from rnalm.predictors import task
from rnalm.shipped import TASK_ALIASES


def register(sub: argparse._SubParsersAction) -> None:
    tasks = "; ".join(f"{k}: {v}" for k, v in TASK_ALIASES.items() if k != "fold")
    p = sub.add_parser(
        "predict",
        help="predict with a shipped task model (--task) or a fine-tuned run (--run) on new sequences",
        description="Reads FASTA/CSV/TSV sequences and writes a CSV with the input's own columns (FASTA: id, "
        "description, sequence) and named prediction columns: te_log, halflife, ires_probability, mrl, family "
        "with prob_CLASS per class (a run of rnalm finetune: its label column's name, or prediction), in the label's "
        "units; cross-validated runs add NAME_std. Then length (nt in the input), read (nt the model read) and "
        "note: a record longer than the model's window is read as its card says (te: the 3'-most 100 nt) and "
        "noted, and a record the model cannot score (an invalid letter, a length it does not take) gets an empty "
        "prediction and a note instead of stopping the file (unless --strict). "
        f"Shipped task models (see `rnalm models -v`), no download needed: {tasks}.",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--task", metavar="NAME", help=f"a task model shipped with rnalm, by alias ({shipped.PREDICT_TASKS}) or name"
    )
    which.add_argument("--run", metavar="RUN_DIR", help="run directory written by rnalm finetune")
    add_input(
        p,
        unknown_help="read letters the model cannot read: mask (the language model reads <mask>; IUPAC letters "
        "keep their bases in one-hot input, anything else is read as N) or a replacement letter (default: as the "
        "model was trained -- ires, family: mask; otherwise such a record gets an empty prediction and a note)",
    )
    add_output(
        p,
        "output CSV (default: standard output); must not exist unless --overwrite",
        required=False,
    )
    add_overwrite(p)
    p.add_argument(
        "--strict",
        action="store_true",
        help="stop at the first record the model cannot score (default: empty prediction and a note)",
    )
    p.add_argument("--batch-size", type=int, default=64, metavar="N", help="sequences per forward pass (default 64)")
    p.add_argument(
        "--backbone", metavar="PATH", help="the run's backbone checkpoint, if it moved (weights are checked by sha256)"
    )
    add_device(p)
    add_dtype(p, "a scikit-learn model, mrl, computes in float32 whatever this says")
    add_quiet(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    show = progress_choice(args)
    log = (lambda _m: None) if args.quiet else (lambda m: print(m, file=sys.stderr))
    if args.task:
        entry = shipped.task_entry(args.task)
        predictor = task.from_shipped(entry, args.backbone, args.device, log, args.dtype)
        log(f"shipped model {entry.name} ({entry.description or entry.task}; validation {entry.metric_text()})")
    else:
        predictor = task.from_run(args.run, args.backbone, args.device, log, args.dtype)
    log(f"reads {predictor.window.describe()} of each sequence")
    summary = predictor.predict_file(
        args.input,
        args.output,
        args.input_format,
        args.seq_column,
        args.id_column,
        args.batch_size,
        overwrite=args.overwrite,
        unknown=args.unknown,
        strict=args.strict,
        show=show,
        log=log,
    )
    log(f"{summary.line()}; dtype {predictor.precision.summary()}" + (f" -> {args.output}" if args.output else ""))
    return 0
