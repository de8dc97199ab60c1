"""``rnalm corpus``: one deduplicated pretraining FASTA from a folder of public RNA datasets.

``--data DIR`` is that folder, laid out as rnalm's benchmark data: each file under its dataset's
folder, as listed at the end of this help (missing files are skipped and reported). The datasets
are not installed with rnalm; recipes/README.md in rnalm's source repository names where each one
is published.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from rnalm.errors import RnalmError
from rnalm.io.seqio import iter_records
from rnalm.pretrain.corpus import SOURCES, build_corpus
from rnalm.pretrain.labels import LabelCache, LabelStats, compute_labels


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "corpus",
        help="build a deduplicated pretraining FASTA from a folder of public datasets (--data DIR)",
        description=__doc__,
        epilog="files read under --data DIR:\n" + "\n".join(f"  {s.path}" for s in SOURCES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--data", required=True, metavar="DIR", help="the datasets folder (files it reads: see the end of this help)"
    )
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


def check_data_dir(data: str) -> None:
    """Stop before writing anything when ``data`` holds none of the dataset files (a corpus of
    nothing is a wrong folder, not a result)."""
    folder = Path(data)
    if folder.is_dir() and not any((folder / s.path).is_file() for s in SOURCES):
        raise RnalmError(
            f"--data {data}: none of the dataset files is there (looked for {SOURCES[0].path}, "
            f"{SOURCES[1].path}, ... {len(SOURCES)} files; see rnalm corpus --help)"
        )


def run(args: argparse.Namespace) -> int:
    check_data_dir(args.data)
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
