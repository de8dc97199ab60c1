"""``rnalm map``: a labelled FASTA/CSV -> 2-D maps, clustering and type-classification scores."""

from __future__ import annotations

import argparse
import sys
import time

from rnalm import analysis  # names resolved on first use: scikit-learn and matplotlib load when map runs
from rnalm.analysis.maps import METHODS
from rnalm.cli.options import (
    add_device,
    add_dtype,
    add_input,
    add_output,
    add_overwrite,
    add_quiet,
    progress_choice,
)
from rnalm.embedding import default_model

DESCRIPTION = """\
Embed labelled sequences and ask how well the embeddings separate the labels: RNA-FM's family
clustering and RNA type classification tutorials as one command.

Labels: --label-field K for FASTA headers (a number: the K-th word after the id, so 1 reads
'rRNA' from '>URS00008314B2 rRNA from 13 species'; a name: the value of a key=value word, so
'type' reads 'tRNA' from '>x1 type=tRNA'), or --label-column NAME for CSV/TSV.

Representations: each --model (any model rnalm loads; default the shipped backbone utrlm-mini),
pooled over the nucleotides (--pool mean, or the <cls> vector), at --layer; and always the k-mer
baseline (kmer3: frequencies of the 64 3-mers; --kmer K changes k).

For each representation: maps by --methods (UMAP, t-SNE, PCA); k-means (k = number of labels)
and HDBSCAN clusterings scored against the labels (ARI, NMI, silhouette; HDBSCAN noise counts as
one more cluster); logistic regression and kNN (k=5) under stratified --folds cross-validation
(accuracy, macro F1 per fold and mean, per-class precision/recall, confusion matrix). Every step
is seeded by --seed: a rerun writes the same scores and coordinates.

OUTPUT (a folder): map_<method>_<representation>.png and .html (hover: id and label; no network
needed), confusion_<representation>_<classifier>.png, scores.json, coordinates.csv
(representation, method, id, label, x, y). Built aside and swapped in when complete; an existing
OUTPUT needs --overwrite, which replaces only a folder rnalm map wrote.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "map",
        help="maps, clustering and type classification of labelled sequences from their embeddings",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input(p)
    labels = p.add_mutually_exclusive_group(required=True)
    labels.add_argument("--label-column", metavar="NAME", help="CSV/TSV column holding the labels")
    labels.add_argument(
        "--label-field", metavar="K", help="FASTA header field holding the labels: a word number or a key"
    )
    add_output(p, "folder for the maps, scores.json and coordinates.csv")
    p.add_argument(
        "--model",
        action="append",
        default=None,
        metavar="NAME_OR_PATH",
        help="model to embed with; repeat for several (default: the shipped backbone, utrlm-mini)",
    )
    p.add_argument("--no-model", action="store_true", help="only the k-mer baseline (no embeddings)")
    p.add_argument(
        "--layer", type=int, default=-1, help="layer to pool: 0 = embeddings, negatives from the end (default: -1)"
    )
    p.add_argument("--pool", choices=("mean", "cls"), default="mean", help="pooling (default: mean)")
    p.add_argument("--kmer", type=int, default=3, metavar="K", help="k of the k-mer baseline (default: 3)")
    p.add_argument(
        "--methods",
        default=",".join(METHODS),
        metavar="LIST",
        help=f"comma-separated map methods (default: {','.join(METHODS)})",
    )
    p.add_argument("--folds", type=int, default=5, help="stratified cross-validation folds (default: 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random step (default: 0)")
    add_device(p)
    add_dtype(p, "the language-model embeddings")
    add_overwrite(p)
    add_quiet(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()

    def say(msg: str) -> None:
        if not args.quiet:
            print(f"rnalm map: {msg}", file=sys.stderr, flush=True)

    models = [] if args.no_model else list(args.model or [])
    if not args.no_model and not models:
        ref, name = default_model()
        models = [ref]
        say(f"model {name} (shipped with rnalm)")
    records, labels = analysis.read_labelled(
        args.input, args.label_column, args.label_field, args.input_format, args.id_column, args.seq_column
    )
    say(f"{len(records)} records, {len(set(labels))} labels from {args.input}")
    settings = analysis.MapSettings(
        models=[str(m) for m in models],
        layer=args.layer,
        pool=args.pool,
        kmer=args.kmer,
        methods=[m.strip() for m in args.methods.split(",") if m.strip()],
        folds=args.folds,
        seed=args.seed,
        device=args.device,
        dtype=args.dtype,
        unknown=args.unknown,
        progress=progress_choice(args),
    )
    result = analysis.run_map(records, labels, settings, say)
    out = analysis.write_map(result, args.output, args.overwrite, inputs=[args.input])
    say(
        f"wrote {out}/ (scores.json, coordinates.csv, {len(result.coordinates.groupby(['representation', 'method']))}"
        f" maps) in {time.perf_counter() - t0:.1f} s"
    )
    return 0
