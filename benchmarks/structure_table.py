"""One markdown table for a structure recipe's held-out sequences: the learned head on a language
model, the same head on one-hot nucleotides (optionally also with ViennaRNA's base-pair
probabilities as an input channel), and ViennaRNA -- scored identically on the same sequences.

Usage (from the repository root, with ../shared/data present):

    # train both heads from recipes/ss_bprna/{lm,onehot}.yaml, then fold the held-out set with ViennaRNA
    python benchmarks/structure_table.py --recipe ss_bprna --backbone PATH/TO/CHECKPOINT
    # reuse trained run directories (nothing is trained)
    python benchmarks/structure_table.py --recipe ss_bprna --onehot-run runs/ss_bprna/onehot --lm-run runs/ss_bprna/lm
    # also the one-hot head with ViennaRNA's base-pair probabilities as an input (recipes/<recipe>/onehot_bpp.yaml)
    python benchmarks/structure_table.py --recipe ss_bprna --vienna-bpp
    python benchmarks/structure_table.py --recipe ss_bprna --onehot-run runs/ss_bprna/onehot \\
        --bpp-run runs/ss_bprna/onehot_bpp
    # a smoke test: 40 structures, 1 epoch, small head
    python benchmarks/structure_table.py --recipe ss_bprna --backbone CKPT --output-root /tmp/st \\
        --set data.options.limit=40 --set train.epochs=1 --set structure.attention=false

``--set key=value`` overrides go to every recipe (keep the split settings equal: the script checks
that both runs held out the same sequences and scores only the ones they share). Without
``--backbone`` / ``--lm-run`` the language-model row is left out.

The held-out set is a run's ``test`` rows when it has a test split, the out-of-fold ``test`` rows
of a cross-validated run (``cv.folds``; every sequence once, predicted by the fold model that never
saw it, or its family), and otherwise its ``valid`` rows -- which then also chose the best epoch
(marked in the output). Every method is scored by :mod:`rnalm.structure.metrics` from the
dot-brackets: per-sequence precision / recall / F1 / MCC and shifted F1 (+-1, Mathews et al. 2004),
averaged over sequences; the learned heads after ``rnalm fold``'s default post-processing
(p > threshold, min hairpin loop 3, greedy one partner), ViennaRNA's MFE structure (RNAfold defaults).
The threshold column shows each learned run's: 0.50, or the one chosen on its training split
(``structure.select_threshold`` / ``python -m rnalm.finetune.structure.calibrate RUN_DIR``, e.g. "0.35 (train)"),
at which its predictions.csv was written.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Optional

from rnalm.structure.metrics import average_scores, score_pairs
from rnalm.structure.pairs import dot_bracket_to_pairs

ROOT = Path(__file__).resolve().parents[1]
KEYS = ("n_sequences", "f1_seq_mean", "precision_seq_mean", "recall_seq_mean", "mcc_seq_mean", "f1_shifted_seq_mean")


def held_out(run_dir: Path) -> tuple[str, dict[tuple[str, str], dict]]:
    """``(description, {(id, sequence): row})`` of a run's held-out predictions."""
    with open(run_dir / "predictions.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    info = json.loads((run_dir / "run_info.json").read_text())
    splits = {r["split"] for r in rows}
    if info.get("folds"):
        name, what = "test", f"out-of-fold test rows of {info.get('n_folds')}-fold CV (folds {info['folds']})"
    elif "test" in splits:
        name, what = "test", "test split"
    else:
        source = info.get("valid_split", "data.valid")
        name, what = "valid", f"validation split, also used for early stopping ({source})"
    # keyed by id and RNA sequence (a DNA-alphabet model writes T)
    return what, {(r["id"], r["sequence"].upper().replace("T", "U")): r for r in rows if r["split"] == name}


def score(rows: list[dict], predicted: list[str]) -> dict:
    return average_scores(
        [
            score_pairs(dot_bracket_to_pairs(p, r["id"]), dot_bracket_to_pairs(r["label"], r["id"]), len(r["sequence"]))
            for r, p in zip(rows, predicted)
        ]
    )


def _vienna(item: tuple[str, str]) -> str:
    from rnalm.structure.vienna import vienna_fold

    rid, seq = item
    return vienna_fold(seq, rid).structure.dot_bracket()


def vienna(keys: list[tuple[str, str]], workers: int) -> list[str]:
    items = list(keys)
    if workers <= 1:
        return [_vienna(i) for i in items]
    with Pool(workers) as pool:
        return pool.map(_vienna, items, chunksize=8)


def train(recipe: Path, overrides: list[str], output_dir: Path) -> Path:
    from rnalm.finetune import finetune

    print(f"training {recipe} -> {output_dir}", file=sys.stderr)
    return finetune(
        str(recipe), [*overrides, f"output_dir={output_dir}", "overwrite=true"], log=lambda m: print(m, file=sys.stderr)
    ).run_dir


def table(results: list[tuple[str, dict]]) -> str:
    lines = [
        "| method | threshold | n sequences | F1 | precision | recall | MCC | shifted F1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results:
        lines.append(
            f"| {name} | {r.get('threshold', '')} | {r['n_sequences']} | "
            + " | ".join(f"{r[k]:.3f}" for k in KEYS[1:])
            + " |"
        )
    return "\n".join(lines)


def threshold_text(run_dir: Path) -> str:
    """``0.50`` or e.g. ``0.35 (train)``: the threshold behind the run's predictions.csv."""
    from rnalm.structure.threshold import describe, read_record

    return describe(read_record(run_dir))


def _describe(run_dir: Path) -> str:
    from rnalm.runs.config_file import read_config_data

    info = json.loads((run_dir / "run_info.json").read_text())
    bb = info.get("backbone", {})
    structure = read_config_data(run_dir / "config.yaml").get("structure") or {}
    bpp = bool(structure.get("vienna_bpp"))
    if bb.get("kind") != "lm":
        return "pairwise head, one-hot + ViennaRNA BPP" if bpp else "pairwise head, one-hot (no LM)"
    name = Path(bb.get("path") or bb.get("name", "LM")).name
    extra = (", + attention maps" if structure.get("attention") else "") + (", + ViennaRNA BPP" if bpp else "")
    return f"pairwise head on {name} ({bb.get('mode')}{extra})"


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="ss_bprna", help="recipes/<name>/{onehot,lm}.yaml (default ss_bprna)")
    ap.add_argument("--backbone", help="language model for lm.yaml (any rnalm.load path or name)")
    ap.add_argument("--onehot-run", type=Path, help="trained one-hot run directory (skips training it)")
    ap.add_argument("--lm-run", type=Path, help="trained language-model run directory (skips training it)")
    ap.add_argument(
        "--vienna-bpp",
        action="store_true",
        help="also the one-hot head with ViennaRNA base-pair probabilities as input (onehot_bpp.yaml)",
    )
    ap.add_argument(
        "--bpp-run", type=Path, help="trained run with structure.vienna_bpp (skips training it; implies --vienna-bpp)"
    )
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override for every recipe")
    ap.add_argument(
        "--output-root", type=Path, default=None, help="where trained runs go (default runs/structure_table/<recipe>)"
    )
    ap.add_argument("--workers", type=int, default=2, help="ViennaRNA processes")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args(argv)
    recipes = ROOT / "recipes" / args.recipe
    if not (recipes / "onehot.yaml").is_file():
        ap.error(f"{recipes}/onehot.yaml not found")
    from rnalm.runs.config import expand_path
    from rnalm.runs.config_file import load_finetune_config

    train_file = expand_path(load_finetune_config(recipes / "onehot.yaml", args.set).data.train)
    want_bpp = args.vienna_bpp or args.bpp_run is not None
    if want_bpp and not args.bpp_run and not (recipes / "onehot_bpp.yaml").is_file():
        ap.error(f"{recipes}/onehot_bpp.yaml not found")
    have_runs = args.onehot_run and (args.lm_run or not args.backbone) and (args.bpp_run or not want_bpp)
    if not have_runs and not Path(train_file).exists():
        print(f"skipped: {train_file} not found (set RNALM_SHARED_DATA)", file=sys.stderr)
        return 0
    out_root = args.output_root or ROOT / "runs" / "structure_table" / args.recipe
    t0 = time.time()
    runs: list[tuple[str, Path]] = []
    if args.lm_run or args.backbone:
        lm = args.lm_run or train(recipes / "lm.yaml", [*args.set, f"backbone.name={args.backbone}"], out_root / "lm")
        runs.append(("lm", lm))
    runs.append(("onehot", args.onehot_run or train(recipes / "onehot.yaml", args.set, out_root / "onehot")))
    if want_bpp:
        bpp_run = args.bpp_run or train(recipes / "onehot_bpp.yaml", args.set, out_root / "onehot_bpp")
        runs.append(("onehot_bpp", bpp_run))

    held = {kind: held_out(run) for kind, run in runs}
    common = set.intersection(*(set(rows) for _, rows in held.values()))
    for kind, (_, rows) in held.items():
        if len(rows) != len(common):
            print(
                f"warning: the {kind} run held out {len(rows)} sequences, {len(common)} shared by all runs; "
                f"scoring the shared ones",
                file=sys.stderr,
            )
    if not common:
        print("error: the runs share no held-out sequence (different splits?)", file=sys.stderr)
        return 1
    keys = sorted(common)
    results: list[tuple[str, dict]] = []
    for kind, run in runs:
        rows = [held[kind][1][k] for k in keys]
        results.append(
            (_describe(run), {"threshold": threshold_text(run), **score(rows, [r["prediction"] for r in rows])})
        )
    rows = [held[runs[0][0]][1][k] for k in keys]
    import RNA

    results.append(
        (
            f"ViennaRNA {RNA.__version__} (MFE, RNAfold defaults)",
            {"threshold": "MFE", **score(rows, vienna(keys, args.workers))},
        )
    )
    what = held[runs[0][0]][0]
    print(f"### {args.recipe}: {len(keys)} held-out sequences ({what})\n")
    print(table(results))
    print(
        f"\nruns: {', '.join(f'{k}={r}' for k, r in runs)}; overrides: {args.set or 'none'}; {time.time() - t0:.0f} s"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "recipe": args.recipe,
                    "held_out": what,
                    "overrides": args.set,
                    "runs": {k: str(r) for k, r in runs},
                    "results": {n: r for n, r in results},
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
