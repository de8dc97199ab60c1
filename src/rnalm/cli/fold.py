"""``rnalm fold``: secondary structures for every record of a FASTA (or CSV/TSV) file.

``--model`` names the predictor (:data:`rnalm.predictors.fold.PREDICTORS`: the shipped model, a run
directory, RNA-FM's SS-ResNet, ProtRNA's RotaFormer head, ViennaRNA MFE / MEA / thresholded base-pair
probabilities). Without ``-o`` the summary table goes to standard output; with ``-o DIR`` it is ``DIR/summary.tsv``,
plus per-record files on request (``--files ct,bpseq,dbn,npy``, ``--plots``). Records the model
cannot fold (longer than its window, letters it cannot read) are folded by ViennaRNA or get a row
with a note (:mod:`rnalm.structure.folding`); ``--strict`` makes them errors instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional, TextIO

from rnalm.cli.options import (
    add_device,
    add_dtype,
    add_input,
    add_output,
    add_overwrite,
    add_quiet,
    progress_choice,
)
from rnalm.errors import RnalmError, option
from rnalm.io.output_guard import (
    RESUME,
    claim_output,
    output_lock,
    remove_path,
    remove_stale_staging,
    staging_path,
    swap_into_place,
    write_marker,
)
from rnalm.io.progress import Progress
from rnalm.io.seqio import iter_records, unique_ids
from rnalm.predictors.fold import DEFAULT_PROTRNA_BACKBONE, NAMES, FoldPredictor, Overrides, choose
from rnalm.structure import journal
from rnalm.structure.folding import LONG_POLICIES, VIENNA, VIENNA_MAX_LENGTH, Folded, FoldPolicy, fold, precheck
from rnalm.structure.outputs import (
    FILE_KINDS,
    FOLD_OUTPUT,
    add_note,
    file_kinds,
    summary_header,
    summary_line,
    write_files,
    write_summary,
)
from rnalm.structure.plots import require_matplotlib


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fold",
        help="predict RNA secondary structures (shipped model, RNA-FM, ProtRNA, your trained model, ViennaRNA)",
        description="Fold every record with the structure predictor --model names (`rnalm models` lists them "
        "with what each needs): the structure model shipped with rnalm (the default), a structure model "
        "trained by `rnalm finetune` (its run directory), RNA-FM's SS-ResNet (rna-fm-ss-resnet, or a .pth in "
        "its layout), ProtRNA's RotaFormer head (protrna-ss-head, or a .h5 in its layout; backbone from "
        "--backbone) or ViennaRNA (vienna: MFE; vienna-mea: maximum expected accuracy; vienna-bpp: base-pair "
        "probabilities through the post-processing options). Records longer than the predictor reads are "
        "folded by ViennaRNA (--long). Output: one row per record -- id, length, method, structure "
        "(dot-bracket), pairs, energy (kcal/mol: ViennaRNA's energy of the row's structure; empty for "
        "pseudoknots or non-canonical pairs), note -- to standard output, or to DIR/summary.tsv with "
        "-o DIR. The input is read and its ids checked before anything is written; a record that "
        "cannot be folded gets a row with an empty structure and a note (--strict: an error, and "
        "nothing is written).",
    )
    add_input(p, unknown=False)
    p.add_argument(
        "--unknown",
        default=None,
        metavar="N|mask|unk|A|C|G|U",
        help="read letters other than A, C, G, U, T, N as this letter: N (also mask / unk) is a base that "
        "pairs with nothing, in the model (read as <mask>, ProtRNA's x) and in ViennaRNA alike (default: such "
        "a record gets a row with a note naming the letter; --strict: an error)",
    )
    add_output(
        p,
        "output folder: summary.tsv, plus --files / --plots per record (default: the table to standard output)",
        required=False,
    )
    add_overwrite(p, resume=True)
    p.add_argument(
        "--model",
        default=None,
        metavar="NAME_OR_PATH",
        help=f"structure predictor: {', '.join(NAMES)} (default shipped), an `rnalm finetune` structure run "
        "directory, or a model file (RNA-FM SS-ResNet .pth, ProtRNA RotaFormer head .h5; recognised by "
        "content). `rnalm models` lists them with what each needs",
    )
    p.add_argument(
        "--backbone",
        default=None,
        metavar="NAME_OR_PATH",
        help=f"the backbone the ProtRNA head reads (default {DEFAULT_PROTRNA_BACKBONE}: the registered "
        "ProtRNA_pretrained.h5; any backbone in ProtRNA's layout and width)",
    )
    # earlier spellings of --model: --run RUN_DIR and --method shipped|vienna|run
    p.add_argument("--run", default=None, help=argparse.SUPPRESS)
    p.add_argument("--method", default=None, choices=("shipped", "vienna", "run"), help=argparse.SUPPRESS)
    p.add_argument(
        "--long",
        choices=LONG_POLICIES,
        default="vienna",
        help="records longer than the predictor reads (its limit: the shipped model's or a run's window, "
        "RNA-FM 1022 nt, ProtRNA 510 nt, ViennaRNA --max-length): 'vienna' folds them with ViennaRNA MFE "
        "(method vienna, with a note; the default), 'skip' leaves them unfolded with a note, 'error' stops",
    )
    p.add_argument(
        "--max-length",
        type=int,
        default=VIENNA_MAX_LENGTH,
        metavar="NT",
        help=f"longest record ViennaRNA folds, as --long vienna or --model vienna* (default {VIENNA_MAX_LENGTH}; "
        "its time grows as L^3); longer records get a row with a note. A learned model's own limit "
        "comes from the model",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="stop, before writing anything, at the first record that would not be folded (letters, length)",
    )
    p.add_argument(
        "--files",
        default="",
        metavar="KINDS",
        help=f"per-record files in -o DIR, comma-separated from {','.join(FILE_KINDS)} (npy: the pair "
        "probability map; default: none). Named by record id, '/' as %%2F",
    )
    p.add_argument("--plots", action="store_true", help="also an arc diagram and a dot plot (PNG) per record in -o DIR")
    p.add_argument(
        "--batch-size",
        type=int,
        default=8,
        help="records per model call (RNA-FM and ProtRNA run one record per forward, as their own scripts do; "
        "the shipped model and trained runs batch records of similar lengths across the file by pair cells and "
        "ignore it)",
    )
    add_device(p)
    add_dtype(p, "learned models only; ViennaRNA is not affected")
    add_quiet(p)
    pp = p.add_argument_group(
        "post-processing of probability maps (every predictor but vienna and vienna-mea, which predict "
        "structures); each predictor's own defaults: `rnalm models`"
    )
    pp.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="pair if probability > threshold (default the predictor's own: the shipped model's, RNA-FM 0.5, "
        "ProtRNA 0.25, vienna-bpp 0.5, or the one a run recorded from its training split: "
        "structure.select_threshold / python -m rnalm.finetune.structure.calibrate; a cross-validated run "
        "records the mean of its fold thresholds)",
    )
    pp.add_argument(
        "--min-loop",
        type=int,
        default=None,
        help="minimum hairpin loop: pairs with j - i <= this are removed (default the predictor's own: 3, "
        "i.e. |i-j| < 4; RNA-FM 1; ProtRNA 0)",
    )
    pp.add_argument("--canonical-only", action="store_true", default=None, help="allow only AU, GC and GU pairs")
    pp.add_argument(
        "--one-partner",
        choices=("greedy", "matching", "nested", "none"),
        default=None,
        help="resolve bases with several candidate partners: greedy by probability (default), "
        "maximum-weight matching, or nested: the pseudoknot-free structure with the largest total "
        "probability above the threshold (time grows as L^3: about 3 s at 1,000 nt); none keeps every "
        "pair (a base with two partners then stops the file)",
    )
    p.set_defaults(func=run)


def _settings(args: argparse.Namespace, kinds: tuple[str, ...]) -> dict:
    """What the rows and files depend on, besides the input: a resumed output must match it."""
    keys = (
        "model",
        "backbone",
        "threshold",
        "min_loop",
        "canonical_only",
        "one_partner",
        "long",
        "max_length",
        "unknown",
        "dtype",
    )
    return {**{k: getattr(args, k) for k in keys}, "files": list(kinds), "plots": bool(args.plots)}


class Counts:
    """What the closing line reports besides records, time and rate."""

    def __init__(self) -> None:
        self.vienna_fallback = 0
        self.noted = 0

    def add(self, method: str, note: str, predictor: FoldPredictor) -> None:
        self.vienna_fallback += method == VIENNA and predictor.method != VIENNA
        self.noted += bool(note)


def model_choice(args: argparse.Namespace) -> Optional[str]:
    """``--model``, or what the earlier ``--run`` / ``--method`` said (one name, one meaning)."""
    legacy = args.run or (None if args.method in (None, "run") else args.method)
    if args.method == "run" and not args.run:
        raise RnalmError(f"name the run directory: {option('model', 'RUN_DIR')}")
    if args.run and args.method not in (None, "run"):
        raise RnalmError(f"--run and --method {args.method} exclude each other: use {option('model')} alone")
    if args.model and legacy and args.model != legacy:
        raise RnalmError(f"{option('model')} names the predictor; --run / --method are its earlier spellings")
    return args.model or legacy


def run(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise RnalmError(f"--batch-size must be >= 1, got {args.batch_size}")
    kinds = file_kinds(args.files)
    if (kinds or args.plots or args.resume or args.overwrite) and not args.output:
        raise RnalmError("--files, --plots, --resume and --overwrite concern an output folder: give -o DIR")
    policy = FoldPolicy(args.long, args.max_length, args.unknown, args.strict, "npy" in kinds or args.plots)
    if args.plots:
        require_matplotlib()
    out = Path(args.output) if args.output else None
    args.model = model_choice(args)
    inputs = [args.input, args.model if args.model and Path(args.model).exists() else None]
    if out is not None:
        claim_output(out, FOLD_OUTPUT, args.overwrite, args.resume, inputs, resume_option="--resume")
        if out.exists() and not out.is_dir():
            raise RnalmError(f"output {out} exists and is not a directory")
    source = iter_records(args.input, args.input_format, args.id_column, args.seq_column)
    records = [(r.id, r.seq) for r in unique_ids(source, args.input)]
    log = (lambda _m: None) if args.quiet else (lambda m: print(m, file=sys.stderr))
    overrides = Overrides(args.threshold, args.min_loop, args.canonical_only, args.one_partner)
    predictor = choose(
        args.model,
        args.backbone,
        overrides,
        args.device,
        bpp=policy.probabilities,
        max_length=args.max_length,
        log=log,
        dtype=args.dtype,
    )
    precheck(records, predictor, policy)
    counts = Counts()
    with Progress(len(records), "fold", show=progress_choice(args), stream=sys.stderr) as progress:
        if out is None:
            try:
                _to_stream(records, predictor, policy, args.batch_size, sys.stdout, progress, counts)
            except BrokenPipeError:  # the reader (`| head`) has what it wanted: stop quietly
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return 0
        else:
            _to_folder(records, predictor, policy, args, kinds, out, inputs, progress, counts)
    log(
        f"{progress.summary()}; {counts.vienna_fallback} via ViennaRNA fallback; {counts.noted} with notes; "
        f"dtype {predictor.precision.summary()}"
    )
    return 0


def _to_stream(records, predictor, policy, batch_size: int, stream: TextIO, progress: Progress, counts: Counts) -> None:
    stream.write(summary_header())
    for done in fold(records, predictor, policy, batch_size):
        stream.write(summary_line(done.row()))
        stream.flush()
        counts.add(done.method, done.note, predictor)
        progress.update(1)


def _to_folder(records, predictor, policy, args, kinds, out: Path, inputs, progress: Progress, counts: Counts) -> None:
    settings = _settings(args, kinds)
    keys = [journal.record_key(rid, seq) for rid, seq in records]
    out.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(out):
        how = claim_output(out, FOLD_OUTPUT, args.overwrite, args.resume, inputs, resume_option="--resume")
        staged = staging_path(out)
        known = _take_over(out, staged, settings, keys) if args.resume else {}
        if not known:
            remove_stale_staging(out, FOLD_OUTPUT)
            if how == RESUME and out.exists():
                print(f"{out}: complete, nothing to resume ({option('overwrite')} folds again)", file=sys.stderr)
                return
            staged.mkdir()
            write_marker(staged, FOLD_OUTPUT)
        book = journal.Journal(staged, settings, known)
        rows: list[Optional[dict[str, str]]] = [known.get(k) for k in keys]
        try:
            for done_row in rows:
                if done_row is not None:
                    counts.add(done_row["method"], done_row["note"], predictor)
                    progress.update(1)
            todo = [(i, rec) for i, rec in enumerate(records) if rows[i] is None]
            for (i, _), done in zip(todo, fold([rec for _, rec in todo], predictor, policy, args.batch_size)):
                row = rows[i] = _finish(done, staged, kinds, args.plots)
                book.add(keys[i], row)
                counts.add(done.method, done.note, predictor)
                progress.update(1)
            book.remove()
            write_summary([r for r in rows if r is not None], staged)
            swap_into_place(staged, out, FOLD_OUTPUT)
        except BaseException:
            book.close()
            kept = sum(r is not None for r in rows)
            if kept and staged.exists():
                print(
                    f"rnalm fold: {kept} of {len(rows)} records are kept in {staged}; rerun with "
                    f"{option('resume')} to fold only the rest",
                    file=sys.stderr,
                )
            else:
                remove_path(staged)
            raise


def _finish(done: Folded, staged: Path, kinds, plots: bool) -> dict[str, str]:
    add_note(done, write_files(done, staged, kinds, plots))
    return done.row()


def _take_over(out: Path, staged: Path, settings: dict, keys: list[str]) -> dict:
    """The rows of the newest interrupted staging folder beside ``out``, moved to ``staged``."""
    found = journal.leftovers(out)
    if not found:
        return {}
    rows = journal.read(found[0], settings, keys)
    if found[0] != staged:
        if staged.exists():
            remove_path(staged)
        found[0].rename(staged)
    return rows
