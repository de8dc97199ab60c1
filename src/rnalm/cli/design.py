"""``rnalm design scan`` (saturation mutagenesis) and ``rnalm design optimize`` (constrained design)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnalm.cli.options import (
    add_device,
    add_dtype,
    add_input,
    add_output,
    add_overwrite,
    add_quiet,
    progress_choice,
)
from rnalm.design.jobs import constraints_from, run_optimize, run_scan
from rnalm.design.objective import Objective
from rnalm.design.optimize import Settings
from rnalm.io.seqio import iter_records, unique_ids
from rnalm.shipped import PREDICT_TASKS

MODELS = f"a shipped task model ({PREDICT_TASKS}, or its name) or a run directory of rnalm finetune"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "design",
        help="design with task models: saturation mutagenesis (scan) and constrained optimisation (optimize)",
        description="Every number rnalm design writes is a model's prediction, not a measurement.",
    )
    dsub = p.add_subparsers(dest="design_command", metavar="ACTION")
    dsub.required = True
    _scan(dsub)
    _optimize(dsub)


def _scan(dsub: argparse._SubParsersAction) -> None:
    p = dsub.add_parser(
        "scan",
        help="every single substitution (and with --indels every 1-nt insertion/deletion) scored by a task model",
        description="Writes DIR/effects.csv (id, kind, position, ref, alt, mutant, the prediction of each mutant, "
        "its effect = mutant - wild type, note) and DIR/heatmap_<id>.png (position x base).",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--task", metavar="NAME", help=f"{MODELS}; NAME+NAME2 scores with the mean of an ensemble")
    which.add_argument("--run", metavar="RUN_DIR", help="run directory written by rnalm finetune")
    add_input(p, unknown=False)
    add_output(p, "output folder (effects.csv, heatmaps); must not exist unless --overwrite")
    add_overwrite(p)
    p.add_argument("--indels", action="store_true", help="also every one-base insertion and deletion")
    add_device(p)
    add_dtype(p, "learned task models; scikit-learn models compute in float32")
    add_quiet(p)
    p.set_defaults(func=scan_command)


def _optimize(dsub: argparse._SubParsersAction) -> None:
    p = dsub.add_parser(
        "optimize",
        help="design sequences toward task-model objectives under constraints (evolutionary search)",
        description="Writes a ranked CSV (rank, sequence, objective, one column per model's prediction, "
        "uncertainty = ensemble spread, constraints, edit_distance to the start, seed_id, seed, length, gc, note) "
        "and an HTML report beside it. Every design satisfies every constraint; contradictory constraints are "
        "refused, naming them. The same --seed gives the same file.",
    )
    p.add_argument(
        "--objective",
        action="append",
        required=True,
        metavar="NAME[@COLUMN][:WEIGHT]",
        help=f"{MODELS}; repeat for a weighted sum; NAME+NAME2 is an ensemble (mean, spread); @COLUMN picks a "
        "prediction column (family@prob_tRNA)",
    )
    goal = p.add_mutually_exclusive_group()
    goal.add_argument("--minimise", "--minimize", action="store_true", help="minimise instead of maximise")
    goal.add_argument("--target", type=float, metavar="VALUE", help="reach this predicted value instead")
    p.add_argument("--length", required=True, metavar="N|LO-HI", help="design length in nt, or a range")
    p.add_argument("--count", type=int, default=100, metavar="N", help="designs to write (default 100)")
    p.add_argument("--prefix", default="", metavar="SEQ", help="fixed 5' part (never edited)")
    p.add_argument("--suffix", default="", metavar="SEQ", help="fixed 3' part, e.g. a Kozak context before the AUG")
    p.add_argument("--gc", metavar="LO-HI", help="GC fraction range, e.g. 0.4-0.6")
    p.add_argument("--no-uaug", action="store_true", help="no upstream AUG anywhere in the design")
    p.add_argument(
        "--no-oof-uorf", action="store_true", help="no AUG out of frame with the start codon that follows the design"
    )
    p.add_argument("--motif-forbid", action="append", default=[], metavar="MOTIF[,MOTIF]", help="forbidden motif(s)")
    p.add_argument("--max-homopolymer", type=int, metavar="N", help="longest run of one base")
    p.add_argument(
        "--mfe-range", metavar="LO..HI", help="ViennaRNA minimum free energy range in kcal/mol (--mfe-range=-30..-10)"
    )
    p.add_argument("--seeds", metavar="FILE", help="start from these sequences (FASTA/CSV/TSV) instead of random ones")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--population", type=int, default=64, metavar="N", help="population size (default 64)")
    p.add_argument("--generations", type=int, default=30, metavar="N", help="generations (default 30)")
    add_output(p, "designs CSV; must not exist unless --overwrite")
    p.add_argument("--html", metavar="PATH", help="HTML report (default: the output with .html)")
    add_overwrite(p)
    add_device(p)
    add_dtype(p, "learned task models; scikit-learn models compute in float32")
    add_quiet(p)
    p.set_defaults(func=optimize_command)


def _log(args: argparse.Namespace):
    return (lambda _m: None) if args.quiet else (lambda m: print(m, file=sys.stderr))


def scan_command(args: argparse.Namespace) -> int:
    log = _log(args)
    objective = Objective.from_specs([args.task or args.run], device=args.device, log=log, dtype=args.dtype)
    log(f"scan with {objective.describe()}")
    records = [
        (r.id, r.seq)
        for r in unique_ids(iter_records(args.input, args.input_format, args.id_column, args.seq_column), args.input)
    ]
    run_scan(records, objective, args.indels, args.output, args.overwrite, [args.input], progress_choice(args), log)
    return 0


def optimize_command(args: argparse.Namespace) -> int:
    log = _log(args)
    constraints = constraints_from(
        args.length,
        args.prefix,
        args.suffix,
        args.gc,
        args.no_uaug,
        args.no_oof_uorf,
        args.motif_forbid,
        args.max_homopolymer,
        args.mfe_range,
    )
    goal = "min" if args.minimise else ("target" if args.target is not None else "max")
    objective = Objective.from_specs(args.objective, goal, args.target, args.device, log, args.dtype)
    log(f"objective: {objective.describe()}")
    seeds = []
    if args.seeds:
        seeds = [(r.id, r.seq) for r in unique_ids(iter_records(args.seeds), args.seeds)]
    html = args.html or str(Path(args.output).with_suffix(".html"))
    table = run_optimize(
        objective,
        constraints,
        args.count,
        args.seed,
        seeds,
        Settings(population=args.population, generations=args.generations),
        args.output,
        html,
        args.overwrite,
        [args.seeds],
        progress_choice(args),
        log,
    )
    log(f"{len(table)} designs -> {args.output} (report {html}); predictions, not measurements")
    return 0
