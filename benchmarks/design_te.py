"""Designing 50-nt 5' UTRs for translation efficiency: predicted gain over the best real UTRs.

Runs the command users run::

    rnalm design optimize --objective te --length 50 --count 100 --gc 0.4-0.6 --no-uaug --seed 1 -o designs.csv

then scores, with the same shipped TE model, every HEK293 5' UTR of 40-60 nt in the training and
validation files of ``../shared/data/utr5_te_hek`` (Cao et al. 2021, LAMAR's split), and reports
the designs' predicted log TE beside the best of those real UTRs (by measured label, and by
prediction; all of them, and those that also meet the design's constraints). With ``--ensemble
RUN_DIR`` (a cross-validated run of ``rnalm finetune`` on the same task) designs and references are
also scored by the ensemble ``te + RUN_DIR`` and its spread is reported.

Every figure is a model's prediction: no design here has been made or measured.

Usage::

    python benchmarks/design_te.py [--ensemble runs/te_cv] [--out benchmarks/results/design_te]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from rnalm import numerics, shipped
from rnalm.cli import main as rnalm_main
from rnalm.design.constraints import gc_fraction, rna
from rnalm.design.objective import Objective

FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile")
COMMAND = "design optimize --objective te --length 50 --count 100 --gc 0.4-0.6 --no-uaug --seed 1".split()


def cpu_flags() -> tuple[str, list[str]]:
    model, flags = platform.processor() or "?", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("?", ""):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return model, [f for f in FLAGS if f in flags]


def references(root: Path, lo: int = 40, hi: int = 60) -> list[tuple[str, str, float]]:
    out = []
    for split in ("train", "valid"):
        with open(root / "utr5_te_hek" / f"{split}.csv") as fh:
            for i, row in enumerate(csv.DictReader(fh)):
                if lo <= len(row["seq"]) <= hi:
                    out.append((f"{split}_{i + 1}", rna(row["seq"]), float(row["label"])))
    return out


def summary(values: np.ndarray) -> dict:
    return {
        "max": float(values.max()),
        "median": float(np.median(values)),
        "mean": float(values.mean()),
        "min": float(values.min()),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=os.environ.get("RNALM_SHARED_DATA", "../shared/data"))
    ap.add_argument("--ensemble", help="a cross-validated run of rnalm finetune on HEK293 TE")
    ap.add_argument("--out", default="benchmarks/results/design_te")
    args = ap.parse_args()
    root = Path(args.shared)
    if not (root / "utr5_te_hek" / "train.csv").is_file():
        print(f"skipped: {root}/utr5_te_hek not found", file=sys.stderr)
        return 0
    numerics.reproducible()
    os.environ.setdefault(shipped.ENV_DIR, str(shipped.package_root()))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    designs_csv = out / "designs.csv"
    cmd = [*COMMAND, "-o", str(designs_csv), "--overwrite", "--device", "cpu", "-q"]
    t0 = time.perf_counter()
    assert rnalm_main(cmd) == 0
    seconds = time.perf_counter() - t0
    with open(designs_csv) as fh:
        designs = list(csv.DictReader(fh))
    d_seqs = [r["sequence"] for r in designs]
    d_te = np.array([float(r["te_log"]) for r in designs])
    assert all(r["constraints"] == "ok" for r in designs)

    refs = references(root)
    te = Objective.from_specs(["te"])
    r_pred = te.score([s for _, s, _ in refs]).columns["te_log"]
    labels = np.array([y for _, _, y in refs])
    valid = np.array([0.4 <= gc_fraction(s) <= 0.6 and "AUG" not in s for _, s, _ in refs])
    best_measured = int(labels.argmax())
    best_measured_ok = int(np.flatnonzero(valid)[labels[valid].argmax()])
    result: dict = {
        "command": "rnalm " + " ".join(COMMAND) + " -o designs.csv",
        "seconds": round(seconds, 1),
        "cpu": cpu_flags(),
        "threads": os.environ.get("OMP_NUM_THREADS"),
        "designs": {"n": len(d_seqs), "te_log_predicted": summary(d_te)},
        "references": {
            "what": "HEK293 5' UTRs of 40-60 nt in utr5_te_hek train.csv + valid.csv",
            "n": len(refs),
            "n_meeting_constraints": int(valid.sum()),
            "best_measured": {
                "id": refs[best_measured][0],
                "label": float(labels[best_measured]),
                "te_log_predicted": float(r_pred[best_measured]),
            },
            "best_measured_meeting_constraints": {
                "id": refs[best_measured_ok][0],
                "label": float(labels[best_measured_ok]),
                "te_log_predicted": float(r_pred[best_measured_ok]),
            },
            "best_predicted": float(np.nanmax(r_pred)),
            "best_predicted_meeting_constraints": float(np.nanmax(r_pred[valid])),
        },
    }
    result["gain"] = {
        "median_design_over_best_predicted_reference": float(np.median(d_te) - np.nanmax(r_pred)),
        "median_design_over_best_measured_reference_label": float(np.median(d_te) - labels.max()),
    }
    if args.ensemble:
        ens = Objective.from_specs([f"te+{args.ensemble}"])
        d = ens.score(d_seqs)
        r = ens.score([s for _, s, _ in refs])
        top = int(np.nanargmax(r.columns["te_log"]))
        result["ensemble"] = {
            "members": ens.describe(),
            "designs_mean": summary(d.columns["te_log"]),
            "designs_spread": summary(d.columns["te_log_spread"]),
            "designs_other_member": summary(d.columns[[c for c in d.columns if "@" in c and not c.endswith("@te")][0]]),
            "best_reference_mean": float(r.columns["te_log"][top]),
            "best_reference_spread": float(r.columns["te_log_spread"][top]),
            "reference_spread_median": float(np.nanmedian(r.columns["te_log_spread"])),
        }
    (out / "summary.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
