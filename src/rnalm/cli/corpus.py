"""``rnalm corpus``: build the deduplicated pretraining corpus from the shared datasets folder."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("corpus", help="build a deduplicated pretraining FASTA from ../shared/data",
                       description=__doc__)
    p.add_argument("--data", default="../shared/data", help="datasets folder (default ../shared/data)")
    p.add_argument("--output", required=True, help="FASTA to write (.gz compresses)")
    p.add_argument("--include-valid", action="store_true",
                   help="also take validation splits (off by default: they evaluate fine-tuned models)")
    p.add_argument("--min-length", type=int, default=10)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rnalm.pretrain.corpus import build_corpus

    counts = build_corpus(args.data, args.output, args.include_valid, args.min_length)
    for src, n in counts.items():
        print(f"{src}\t{'missing' if n < 0 else n}")
    print(f"total\t{sum(n for n in counts.values() if n > 0)}\t-> {args.output}")
    return 0
