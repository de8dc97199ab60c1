"""Decoding rules and map averages of finished structure runs, on the first run's hold-out.

    python benchmarks/structure_decoding.py RUN_DIR [RUN_DIR ...] [--max-sequences 400] [--rows FILE]

For each run alone and for the mean of the probability maps of every set of two or more of them
(``a+b``), and for each decoder (greedy one
partner, nested, each with and without canonical-only pairs), the pair threshold is chosen as
``structure.select_threshold`` chooses it -- on the first run's seeded training subset -- and the
first run's validation rows are scored at it (mean per-sequence F1, precision, recall, MCC). Every
run must have been trained on the first run's split (``data.extra_train`` rows aside); the script
checks that every run's validation sequences are the first's. ``--rows FILE`` (bpRNA JSON lines) scores
those rows instead, for runs validated on different rows: then the script checks that no run trained on
any of them (training split and extra rows). Nothing is written.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from rnalm.finetune.evaluation import fit_labels
from rnalm.finetune.run_splits import holdout_splits, rebuild_splits
from rnalm.finetune.structure.calibrate import run_context
from rnalm.runs.structure_model import RunModel
from rnalm.structure.formats import read_bprna_jsonl
from rnalm.structure.metrics import score_pairs
from rnalm.structure.threshold import THRESHOLD_GRID, choose_threshold, pairs_by_threshold, subset_indices

DECODERS = (("greedy", False), ("greedy", True), ("nested", False), ("nested", True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--max-sequences", type=int, default=400)
    ap.add_argument("--decoders", default="greedy,nested", help="comma-separated: greedy, nested")
    ap.add_argument("--rows", type=Path, help="score these structures (bpRNA JSON lines) instead")
    args = ap.parse_args()
    first = RunModel.load(args.runs[0], None, use_cache=True)
    ctx = run_context(first)
    train, valid, _ = holdout_splits(ctx, rebuild_splits(ctx))
    fit_labels(ctx, train, [valid])
    # as select_decision draws it: data.train's training rows, not data.extra_train's
    idx = subset_indices(len(train.seqs) - train.extra_rows, args.max_sequences, ctx.cfg.train.seed)
    sub_seqs = [train.seqs[i] for i in idx]
    sub_true = [train.y[i].pairs for i in idx]
    valid_seqs, valid_true = list(valid.seqs), [y.pairs for y in valid.y]
    where = f"validation sequences of {args.runs[0]}"
    if args.rows:
        rows = read_bprna_jsonl(args.rows)
        valid_seqs, valid_true, where = [r.sequence for r in rows], [r.pairs for r in rows], str(args.rows)
    maps: dict[str, tuple[list, list]] = {}
    for run in args.runs:
        model = first if run == args.runs[0] else RunModel.load(run, None, use_cache=True)
        other = run_context(model)
        split = holdout_splits(other, rebuild_splits(other))
        trained_on = set(split[0].seqs) & set(valid_seqs) if args.rows else set()
        if trained_on:
            raise SystemExit(f"{run}: trained on {len(trained_on)} of the --rows sequences")
        if not args.rows and sorted(split[1].seqs) != sorted(valid_seqs):
            raise SystemExit(f"{run}: validated on other rows than {args.runs[0]}")
        maps[run.name] = (model(sub_seqs), model(valid_seqs))
    names = list(maps)
    for k in range(2, len(names) + 1):
        for group in itertools.combinations(names, k):
            maps["+".join(group)] = tuple(  # type: ignore[assignment]
                [np.mean(ms, axis=0) for ms in zip(*(maps[g][part] for g in group))] for part in (0, 1)
            )
    wanted = args.decoders.split(",")
    print(f"{len(sub_seqs)} training sequences (threshold), {len(valid_seqs)} {where}")
    print("| maps | decoder | threshold (train) | train F1 | F1 | precision | recall | MCC |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (tmaps, vmaps) in maps.items():
        for decoder, canonical in (d for d in DECODERS if d[0] in wanted):
            choice = choose_threshold(tmaps, sub_true, THRESHOLD_GRID, 3, canonical, decoder, sub_seqs)
            t = choice["threshold"]
            scores = [
                score_pairs(pairs_by_threshold(p, [t], 3, canonical, decoder, s)[0], y, len(p))
                for p, y, s in zip(vmaps, valid_true, valid_seqs)
            ]
            figs = [np.mean([getattr(x, k) for x in scores]) for k in ("f1", "precision", "recall", "mcc")]
            label = decoder + (", canonical" if canonical else "")
            print(f"| {name} | {label} | {t:.2f} | {choice['f1']:.4f} | " + " | ".join(f"{v:.4f}" for v in figs) + " |")


if __name__ == "__main__":
    main()
