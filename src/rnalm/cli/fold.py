"""``rnalm fold``: secondary structures for the records of a FASTA (or CSV/TSV) file.

Per record it writes ``<id>.ct``, ``<id>.bpseq``, ``<id>.dbn`` (nested pairs in ``()``,
pseudoknots in ``[]``, ``{}``, ...), the pair-probability map ``<id>.npy`` and, with ``--plots``,
``<id>.arc.png`` and ``<id>.dotplot.png``; plus ``summary.tsv``. Characters of ids that are unsafe
in file names become ``_``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnalm import shipped
from rnalm.errors import RnalmError
from rnalm.io.output_guard import (
    claim_output,
    output_lock,
    remove_path,
    remove_stale_staging,
    staging_path,
    swap_into_place,
    write_marker,
)
from rnalm.io.seqio import iter_records, unique_ids
from rnalm.predictors import fold
from rnalm.structure.predict import FOLD_OUTPUT, PostprocessOptions, fold_records


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fold",
        help="predict RNA secondary structures (shipped model, your trained model, or ViennaRNA)",
        description="Predict secondary structures with the structure model shipped with rnalm (the default: "
        "no --run and no --method; see `rnalm models`), with a structure model trained by "
        "`rnalm finetune` (--run RUN_DIR) or with the ViennaRNA baseline (--method vienna: MFE "
        "structure, base-pair probabilities as the .npy map). Without a shipped structure model the "
        "default is an error that says so (never a silent switch to ViennaRNA). All records are "
        "validated before any output is written; every file is written atomically.",
    )
    p.add_argument(
        "--input", "-i", required=True, help="FASTA (plain or gzip), or CSV/TSV with id and sequence columns"
    )
    p.add_argument(
        "--output",
        "-o",
        required=True,
        help="output directory (created if missing; an existing, non-empty one needs --overwrite)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --output folder, only if `rnalm fold` wrote it (never one holding "
        "the input or the run); the new folder is built aside and swapped in when complete",
    )
    p.add_argument(
        "--method",
        choices=("shipped", "vienna", "run"),
        default=None,
        help="'shipped' for the structure model shipped with rnalm (the default without --run), "
        "'vienna' for ViennaRNA, 'run' for a trained model (the default when --run is given)",
    )
    p.add_argument("--run", metavar="RUN_DIR", help="run directory of a structure model trained by `rnalm finetune`")
    p.add_argument(
        "--max-length",
        type=int,
        default=1000,
        help="refuse records longer than this many nt (default 1000; ViennaRNA time grows as L^3)",
    )
    p.add_argument("--plots", action="store_true", help="also write an arc diagram and a dot plot (PNG) per record")
    p.add_argument("--batch-size", type=int, default=8, help="records per model call (learned models only)")
    pp = p.add_argument_group(
        "post-processing of probability maps (learned models only; ViennaRNA's structure is its MFE)"
    )
    pp.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="pair if probability > threshold (default 0.5, or the shipped model's own, or the one a "
        "--run recorded from its training split: structure.select_threshold / "
        "python -m rnalm.finetune.structure.calibrate; a cross-validated run records the mean of its "
        "fold thresholds)",
    )
    pp.add_argument(
        "--min-loop",
        type=int,
        default=None,
        help="minimum hairpin loop: pairs with j - i <= this are removed (default 3, i.e. |i-j| < 4)",
    )
    pp.add_argument("--canonical-only", action="store_true", default=None, help="allow only AU, GC and GU pairs")
    pp.add_argument(
        "--one-partner",
        choices=("greedy", "matching", "none"),
        default=None,
        help="resolve bases with several candidate partners: greedy by probability (default) or "
        "maximum-weight matching",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress or summary line")
    p.set_defaults(func=run)


def _postprocess_options(args: argparse.Namespace, defaults=None):
    d = defaults or PostprocessOptions()
    one = d.one_partner if args.one_partner is None else (None if args.one_partner == "none" else args.one_partner)
    return PostprocessOptions(
        threshold=d.threshold if args.threshold is None else args.threshold,
        min_loop=d.min_loop if args.min_loop is None else args.min_loop,
        canonical_only=d.canonical_only if args.canonical_only is None else bool(args.canonical_only),
        one_partner=one,
    )


def _predictor(args: argparse.Namespace):
    method = args.method or ("run" if args.run else "shipped")
    if method == "shipped":
        if args.run:
            raise RnalmError("--run and --method shipped exclude each other")
        return shipped_predictor(args)
    if method == "vienna":
        if args.run:
            raise RnalmError("--run and --method vienna exclude each other")
        given = [
            o
            for o, v in (
                ("--threshold", args.threshold),
                ("--min-loop", args.min_loop),
                ("--canonical-only", args.canonical_only),
                ("--one-partner", args.one_partner),
            )
            if v is not None
        ]
        if given:
            raise RnalmError(
                f"{', '.join(given)} apply to --run models only; ViennaRNA's structure is its MFE structure"
            )
        return fold.vienna(bpp=True), 1
    if not args.run:
        raise RnalmError("--method run needs --run RUN_DIR")
    if args.batch_size < 1:
        raise RnalmError(f"--batch-size must be >= 1, got {args.batch_size}")
    model, defaults, record = fold.run_defaults(args.run)
    if record is not None and args.threshold is None and not args.quiet:
        how = record.get("combine") or f"{record.get('n_sequences', '?')} sequences"
        print(
            f"threshold {defaults.threshold:.2f}: chosen on the run's training split ({how}; "
            f"{args.run}/postprocess.json); --threshold overrides it",
            file=sys.stderr,
        )
    options = _postprocess_options(args, defaults if record is not None else None)
    return fold.from_model(f"run {args.run}", model, options, record), args.batch_size


def shipped_predictor(args: argparse.Namespace):
    """The shipped structure model with its recorded post-processing (overridable by the options)."""

    entry = shipped.structure_entry()
    if entry is None:
        raise RnalmError(
            f"no structure model is shipped with this installation (manifest "
            f"{shipped.root() / shipped.MANIFEST}); choose a predictor: --run RUN_DIR (a trained "
            f"structure model) or --method vienna"
        )
    if args.batch_size < 1:
        raise RnalmError(f"--batch-size must be >= 1, got {args.batch_size}")
    entry.verify(entry.weight_files())
    options = _postprocess_options(args, fold.shipped_options(entry))
    if not args.quiet:
        print(f"structure model: {entry.name} (shipped; validation {entry.metric_text()})", file=sys.stderr)
    return fold.from_shipped(entry, options, verify=False), args.batch_size


def run(args: argparse.Namespace) -> int:
    if args.max_length is not None and args.max_length < 1:
        raise RnalmError(f"--max-length must be positive, got {args.max_length}")
    out = Path(args.output)
    inputs = [args.input, args.run]
    claim_output(out, FOLD_OUTPUT, args.overwrite, inputs=inputs)
    if out.exists() and not out.is_dir():
        raise RnalmError(f"output {out} exists and is not a directory")
    predictor, batch_size = _predictor(args)
    records = ((r.id, r.seq) for r in unique_ids(iter_records(args.input), args.input))

    def progress(done: int, total: int) -> None:
        if not args.quiet and sys.stderr.isatty():
            print(f"\rfolded {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    out.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(out):
        claim_output(out, FOLD_OUTPUT, args.overwrite, inputs=inputs)
        remove_stale_staging(out, FOLD_OUTPUT)
        staged = staging_path(out)
        try:
            staged.mkdir()
            write_marker(staged, FOLD_OUTPUT)
            rows = fold_records(
                records,
                predictor,
                staged,
                max_length=args.max_length,
                batch_size=batch_size,
                plots=args.plots,
                progress=progress,
            )
            swap_into_place(staged, out, FOLD_OUTPUT)
        finally:
            remove_path(staged)
    if not args.quiet:
        paired = sum(r["pairs"] for r in rows)
        print(f"{len(rows)} record(s) folded -> {args.output} ({paired} pairs in total; see summary.tsv)")
    return 0
