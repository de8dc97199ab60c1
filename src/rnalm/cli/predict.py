"""``rnalm predict --task te|halflife|ires|family`` (a shipped model) or ``--run RUN_DIR`` (your own run)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from rnalm import shipped
from rnalm.predictors import task
from rnalm.shipped import TASK_ALIASES


def register(sub: argparse._SubParsersAction) -> None:
    tasks = "; ".join(f"{k}: {v}" for k, v in TASK_ALIASES.items() if k != "fold")
    p = sub.add_parser(
        "predict",
        help="predict with a shipped task model (--task) or a fine-tuned run (--run) on new sequences",
        description="Reads FASTA/CSV/TSV sequences, validates them with the model's alphabet, and writes a CSV with "
        "one row per sequence: id, prediction (in the label's units; a standardised label is mapped "
        "back), class probabilities for classification. Cross-validated runs average their fold models. "
        f"Shipped task models (see `rnalm models`), no download needed: {tasks}.",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--task", metavar="NAME", help="a task model shipped with rnalm, by alias (te, halflife, ires, family) or name"
    )
    which.add_argument("--run", help="run directory written by rnalm finetune")
    p.add_argument("--input", "-i", required=True, help="sequences: FASTA, CSV or TSV (.gz allowed)")
    p.add_argument(
        "--output",
        "-o",
        default=None,
        help="output CSV (default: the CSV goes to standard output); must not exist unless --overwrite",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --output, only if it is a prediction CSV rnalm wrote (never the input)",
    )
    p.add_argument("--format", choices=("fasta", "csv", "tsv"), help="input format (default: from the extension)")
    p.add_argument("--seq-column", help="CSV/TSV column holding sequences (default: the run's)")
    p.add_argument("--id-column", help="CSV/TSV column holding ids (default: row numbers)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--backbone", help="the run's backbone checkpoint, if it moved (weights are checked by sha256)")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda[:N]")
    p.add_argument("--quiet", "-q", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    to_stdout = args.output is None
    stream = sys.stderr if to_stdout else sys.stdout
    log = (lambda _m: None) if args.quiet else (lambda m: print(m, file=stream))
    if args.task:
        entry = shipped.task_entry(args.task)
        predictor = task.from_shipped(entry, args.backbone, args.device, log)
        log(f"shipped model {entry.name} ({entry.description or entry.task}; validation {entry.metric_text()})")
    else:
        predictor = task.from_run(args.run, args.backbone, args.device, log)
    if not to_stdout:
        predictor.predict_file(
            args.input,
            args.output,
            args.format,
            args.seq_column,
            args.id_column,
            args.batch_size,
            overwrite=args.overwrite,
        )
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "predictions.csv"
        predictor.predict_file(
            args.input, out, args.format, args.seq_column, args.id_column, args.batch_size, log=lambda _m: None
        )
        sys.stdout.write(out.read_text())
    return 0
