"""``rnalm corpus``: build the deduplicated pretraining corpus from the shared datasets folder."""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from rnalm.io.seqio import iter_records
from rnalm.pretrain.corpus import build_corpus
from rnalm.pretrain.labels import LabelCache, LabelStats, compute_labels


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("corpus", help="build a deduplicated pretraining FASTA from ../shared/data", description=__doc__)
    p.add_argument("--data", default="../shared/data", help="datasets folder (default ../shared/data)")
    p.add_argument("--output", required=True, help="FASTA to write (.gz compresses); must not exist unless --overwrite")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --output, only if it is a corpus FASTA rnalm wrote",
    )
    p.add_argument(
        "--include-valid",
        action="store_true",
        help="also take validation splits (off by default: they evaluate fine-tuned models)",
    )
    p.add_argument("--min-length", type=int, default=10)
    p.add_argument(
        "--labels",
        metavar="CACHE.sqlite",
        help="also fold every sequence with ViennaRNA into this label cache (pretrain's "
        "objective.label_cache), so pretraining never waits for folding",
    )
    p.add_argument("--label-max-length", type=int, default=None, help="fold only sequences up to this length")
    p.add_argument("--processes", type=int, default=1, help="folding worker processes")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    counts = build_corpus(args.data, args.output, args.include_valid, args.min_length, args.overwrite)
    for src, n in counts.items():
        print(f"{src}\t{'missing' if n < 0 else n}")
    print(f"total\t{sum(n for n in counts.values() if n > 0)}\t-> {args.output}")
    if args.labels:
        fold_corpus(args.output, args.labels, args.label_max_length, args.processes)
    return 0


def fold_corpus(corpus: str, cache_path: str, max_length: int | None, processes: int, chunk: int = 256) -> None:
    seqs = [r.seq for r in iter_records(corpus) if max_length is None or len(r.seq) <= max_length]
    seqs.sort(key=len)  # short first: progress is visible early, long ones are the costly tail
    cache, stats = LabelCache(cache_path), LabelStats()
    with tqdm(total=len(seqs), desc="folding", unit="seq", file=sys.stderr) as bar:
        for i in range(0, len(seqs), chunk):
            compute_labels(seqs[i : i + chunk], cache, processes, stats=stats)
            bar.update(len(seqs[i : i + chunk]))
    print(
        f"labels\t{cache_path}: folded {stats.folded}, already cached {stats.cache_hits}, "
        f"invalid {stats.invalid}, cache size {len(cache)}"
    )
