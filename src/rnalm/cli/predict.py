"""``rnalm predict --run RUN_DIR --input FILE --output FILE``: apply a fine-tuned run to new sequences."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict", help="predict with a fine-tuned run (rnalm finetune) on new sequences",
        description="Reads FASTA/CSV/TSV sequences, validates them with the run's alphabet, and writes a CSV with "
                    "one row per sequence: id, prediction (in the label's units; a standardised label is mapped "
                    "back), class probabilities for classification. Cross-validated runs average their fold models.")
    p.add_argument("--run", required=True, help="run directory written by rnalm finetune")
    p.add_argument("--input", "-i", required=True, help="sequences: FASTA, CSV or TSV (.gz allowed)")
    p.add_argument("--output", "-o", required=True, help="output CSV")
    p.add_argument("--format", choices=("fasta", "csv", "tsv"), help="input format (default: from the extension)")
    p.add_argument("--seq-column", help="CSV/TSV column holding sequences (default: the run's)")
    p.add_argument("--id-column", help="CSV/TSV column holding ids (default: row numbers)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--backbone", help="the run's backbone checkpoint, if it moved (weights are checked by sha256)")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda[:N]")
    p.add_argument("--quiet", "-q", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnalm.finetune.predict import predict_file

    predict_file(args.run, args.input, args.output, args.format, args.seq_column, args.id_column,
                 args.batch_size, args.backbone, log=(lambda _m: None) if args.quiet else print, device=args.device)
    return 0
