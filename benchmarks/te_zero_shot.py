"""Zero-shot translation efficiency in a cell type no model here trained on: Cao et al.'s MUSCLE rows.

    python benchmarks/te_zero_shot.py [--task te --task mrl] [--run NAME=RUN_DIR ...] [--bootstrap 1000]

UTR-LM's designed 5' UTRs were measured in C2C12 (mouse myoblast) cells, a test that is not in
``../shared/data``. The nearest rows here are Cao et al.'s 140-nt library constructs measured in
muscle (``cao_endogenous``, cell line ``MUSCLE``): their transcripts are none of the HEK293 or PC3
transcripts of that library. Rows scored: the 100-nt insert of every MUSCLE construct whose
transcript shares no 20-mer (any fragment) with LAMAR's HEK293 ``train.csv``/``valid.csv`` nor with a
HEK293/PC3 insert of the library, so a model trained on any of those never saw them or a relative.
Primary figure: Spearman between a transcript's ln TE and the mean prediction over its fragments
(fragments share their transcript's label); also per fragment, and with a bootstrap 95 % interval
over transcripts. Baselines that learn nothing: GC fraction, minus the count of ATG in the insert
(the library's inserts have none: printed as constant), ViennaRNA MFE of the insert (higher = less
structure).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

import rnalm
from rnalm.finetune.data.homology import shares_kmer
from rnalm.finetune.data.loader_table import load_data
from rnalm.precision import cpu_report
from rnalm.runs.config import DataConfig
from rnalm.structure.vienna import vienna_fold

K = 20


def cao_inserts(path: Path, cell: str) -> list[tuple[str, str, float]]:
    """(transcript, 100-nt insert, ln TE) of every measured construct of ``cell``, read by the ``cao`` loader."""
    recs = load_data(DataConfig(loader="cao", train=str(path), options={"cell_line": cell}), "regression").train
    return [(str(g), s, float(v)) for g, s, v in zip(recs.groups, recs.seqs, recs.labels)]


def zero_shot_rows(data: Path) -> tuple[list[tuple[str, str, float]], str]:
    cao = data / "cao_endogenous" / "final_endogenous.txt"
    lamar = load_data(
        DataConfig(
            loader="lamar", train=str(data / "utr5_te_hek" / "train.csv"), valid=str(data / "utr5_te_hek" / "valid.csv")
        ),
        "regression",
    )
    seen = lamar.train.seqs + (lamar.valid.seqs if lamar.valid else [])
    seen += [ins for cell in ("HEK293", "PC3") for _, ins, _ in cao_inserts(cao, cell)]
    muscle = cao_inserts(cao, "MUSCLE")
    related = {t for (t, _, _), hit in zip(muscle, shares_kmer([r[1] for r in muscle], seen, K)) if hit}
    keep = [r for r in muscle if r[0] not in related]
    n_tx = len({r[0] for r in muscle})
    note = (
        f"MUSCLE: {len(muscle)} constructs of {n_tx} transcripts; {len(related)} transcripts share a {K}-mer with "
        f"LAMAR HEK293 or a Cao HEK293/PC3 insert; scored: {len(keep)} constructs of {n_tx - len(related)} transcripts"
    )
    return keep, note


def figures(rows: list[tuple[str, str, float]], pred: np.ndarray, n_boot: int) -> tuple[float, float, str]:
    by_tx: dict[str, list[int]] = defaultdict(list)
    for i, (t, _, _) in enumerate(rows):
        by_tx[t].append(i)
    labels = np.array([rows[ix[0]][2] for ix in by_tx.values()])
    means = np.array([pred[ix].mean() for ix in by_tx.values()])
    rho_tx = float(spearmanr(labels, means).statistic)
    rho_row = float(spearmanr([r[2] for r in rows], pred).statistic)
    rng = np.random.default_rng(0)
    boots = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(labels), len(labels))
        boots.append(spearmanr(labels[pick], means[pick]).statistic)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return rho_tx, rho_row, f"[{lo:.3f}, {hi:.3f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--task", action="append", default=[], help="a shipped task model (te, mrl, ...)")
    ap.add_argument("--run", action="append", default=[], help="NAME=RUN_DIR of a fine-tuning run")
    ap.add_argument("--bootstrap", type=int, default=1000)
    args = ap.parse_args()
    print(cpu_report())
    rows, note = zero_shot_rows(args.data)
    print(note)
    seqs = [r[1] for r in rows]
    scored: dict[str, np.ndarray] = {
        "GC fraction": np.array([(s.count("G") + s.count("C")) / len(s) for s in seqs]),
        "minus ATG count": -np.array([sum(s[i : i + 3] == "ATG" for i in range(len(s) - 2)) for s in seqs], float),
        "ViennaRNA MFE": np.array([vienna_fold(s).energy for s in seqs]),
    }
    models = [(f"shipped {t}", dict(task=t)) for t in args.task]
    models += [(name, dict(run=path)) for name, path in (r.split("=", 1) for r in args.run)]
    for name, how in models:
        df = rnalm.predict(seqs, progress=False, dtype="float32", **how)  # type: ignore[arg-type]
        column = [c for c in df.columns if c not in ("id", "sequence", "length", "read", "note")][0]
        scored[f"{name} ({column})"] = df[column].to_numpy(float)
    print("| predictor | Spearman, transcripts | 95 % interval | Spearman, fragments |")
    print("|---|---|---|---|")
    for name, pred in scored.items():
        if np.ptp(pred) == 0:
            print(f"| {name} | constant on these rows | | |")
            continue
        rho_tx, rho_row, ci = figures(rows, pred, args.bootstrap)
        print(f"| {name} | {rho_tx:.3f} | {ci} | {rho_row:.3f} |")


if __name__ == "__main__":
    main()
