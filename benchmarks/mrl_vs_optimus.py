"""MRL of human 5' UTR variants (Sample et al. 2019 SNV set): rnalm's cross-validated runs against
Optimus 5-Prime's published predictions, on the same rows.

Protocol (fixed before the runs): every run is ``rnalm finetune`` with 10-fold CV in which each
variant sits in the same fold as its wild type (``mother``); each row's prediction comes from the
fold model that did not see its family (the run's out-of-fold ``predictions.csv``). Optimus 5-Prime's
``old_pred`` (the published model) and ``retrained_pred`` (retrained on the 280,000-UTR random library
plus human sequences) are the predictions the data file carries; neither model saw these rows in
training, but both learned from libraries about 100 times larger than the 2,700 training rows here.

Figures, all on the same rows:
- MRL (``hrl``) against the prediction: Spearman, Pearson, R^2 (``sklearn.metrics.r2_score``, so a
  prediction on another scale is penalised), on all rows, wild types and variants;
- variant effect: observed ``hrl(variant) - hrl(wild type)`` against the predicted difference, on the
  variants whose wild type is in the file (the rest have no measured reference here): Pearson and
  Spearman, and the fraction of the variants with an observed change over 0.5 whose direction the
  prediction gets right.

Usage::

    python benchmarks/mrl_vs_optimus.py --run lm_cnn=runs/mrl_sample2019_snv/lm_cnn \\
        --run onehot=runs/mrl_sample2019_snv/onehot --run features=runs/mrl_sample2019_snv/features
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import r2_score

DATA = Path(os.environ.get("RNALM_SHARED_DATA", "../shared/data")) / "mrl_sample2019_snv/snv_phenotype_log_diff.csv"
OPTIMUS = {"Optimus 5-Prime (old_pred)": "old_pred", "Optimus 5-Prime (retrained_pred)": "retrained_pred"}
BIG_CHANGE = 0.5


def read_data(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def read_out_of_fold(run: Path) -> dict[str, float]:
    """id -> out-of-fold prediction of a CV run (the ``prediction`` column, or the label's name)."""
    with open(run / "predictions.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    skip = {"id", "split", "fold", "subset", "sequence", "label", "length"}
    (col,) = [c for c in rows[0] if c not in skip and not c.endswith("_std") and not c.startswith("label")]
    return {r["id"]: float(r[col]) for r in rows}


def scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return {
        "spearman": float(spearmanr(y, p)[0]),
        "pearson": float(pearsonr(y, p)[0]),
        "r2": float(r2_score(y, p)),
    }


def effect_scores(rows: list[dict], pred: dict[str, float]) -> dict[str, float]:
    by_seq = {r["utr"]: r for r in rows if r["info4"] == "normal"}
    obs, got = [], []
    for r in rows:
        wt = by_seq.get(r["mother"])
        if r["info4"] != "variant" or wt is None:
            continue
        obs.append(float(r["hrl"]) - float(wt["hrl"]))
        got.append(pred[r["id"]] - pred[wt["id"]])
    o, g = np.array(obs), np.array(got)
    big = np.abs(o) > BIG_CHANGE
    return {
        "n": len(o),
        "pearson": float(pearsonr(o, g)[0]),
        "spearman": float(spearmanr(o, g)[0]),
        "sign_big": float(np.mean(np.sign(o[big]) == np.sign(g[big]))),
        "n_big": int(big.sum()),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--run", action="append", default=[], metavar="NAME=RUN_DIR", help="a CV run (repeatable)")
    args = ap.parse_args(argv)
    rows = read_data(args.data)
    preds = {name: {r["id"]: float(r[col]) for r in rows} for name, col in OPTIMUS.items()}
    for spec in args.run:
        name, _, run = spec.partition("=")
        got = read_out_of_fold(Path(run))
        missing = [r["id"] for r in rows if r["id"] not in got]
        if missing:
            sys.exit(f"{run}/predictions.csv: no out-of-fold prediction for {len(missing)} rows, e.g. {missing[0]}")
        preds[f"rnalm {name}"] = got
    y = np.array([float(r["hrl"]) for r in rows])
    subsets = {"all": np.ones(len(rows), bool), "wild type": np.array([r["info4"] == "normal" for r in rows])}
    subsets["variant"] = ~subsets["wild type"]
    print(f"rows: {len(rows)} ({subsets['wild type'].sum()} wild types, {subsets['variant'].sum()} variants)\n")
    print(
        "| predictor | Spearman (all) | Pearson (all) | R² (all) | Spearman (wild type) | Spearman (variant) "
        "| effect Pearson | effect Spearman | direction of changes > 0.5 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, pred in preds.items():
        p = np.array([pred[r["id"]] for r in rows])
        s = {k: scores(y[m], p[m]) for k, m in subsets.items()}
        e = effect_scores(rows, pred)
        print(
            f"| {name} | {s['all']['spearman']:.3f} | {s['all']['pearson']:.3f} | {s['all']['r2']:.3f} "
            f"| {s['wild type']['spearman']:.3f} | {s['variant']['spearman']:.3f} | {e['pearson']:.3f} "
            f"| {e['spearman']:.3f} | {e['sign_big']:.3f} (n = {e['n_big']}) |"
        )
    print(f"\nvariant effects on the {e['n']} variants whose wild type is in the file")


if __name__ == "__main__":
    main()
