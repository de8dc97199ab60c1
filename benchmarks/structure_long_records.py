"""The shipped structure model against ViennaRNA's MFE on records longer than it was trained on.

    python benchmarks/structure_long_records.py [--data ../shared/data/ss_bprna/VL0.jsonl] [--min-length 200]

The shipped fold model's runs read bpRNA VL0 with ``data.max_length: 200``, so VL0's longer records
were in neither their training nor their validation split: they are held out by construction, and
the only rows here that say how the model does beyond its training lengths (bpRNA TS0 has such
records too). Mean per-sequence F1 of both methods on every record longer than ``--min-length``
(A/C/G/U only), and the share of records where the model scores higher.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rnalm import shipped
from rnalm.runs.structure_model import load_run_model
from rnalm.structure.formats import read_bprna_jsonl
from rnalm.structure.metrics import score_pairs
from rnalm.structure.postprocess import postprocess
from rnalm.structure.vienna import vienna_fold


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="../shared/data/ss_bprna/VL0.jsonl")
    ap.add_argument("--min-length", type=int, default=200)
    args = ap.parse_args()
    records = [s for s in read_bprna_jsonl(args.data) if len(s) > args.min_length and set(s.sequence) <= set("ACGU")]
    lengths = [len(s) for s in records]
    median = int(np.median(lengths))
    print(f"{len(records)} records of {min(lengths)}-{max(lengths)} nt (median {median}) in {args.data}")
    entry = shipped.structure_entry()
    model = load_run_model(entry.path, "cpu")
    threshold = model.threshold_record["threshold"] if model.threshold_record else 0.5
    learned, mfe = [], []
    t0 = time.time()
    for s in records:
        probs = model([s.sequence])[0]
        learned.append(score_pairs(postprocess(probs, None, threshold), s.pairs, len(s)).f1)
        mfe.append(score_pairs(vienna_fold(s.sequence).structure.pairs, s.pairs, len(s)).f1)
    a, b = np.array(learned), np.array(mfe)
    print(
        f"{entry.name} (threshold {threshold:.2f}) F1 {a.mean():.4f}; ViennaRNA MFE F1 {b.mean():.4f}; "
        f"model higher on {np.mean(a > b):.2f} of records, lower on {np.mean(a < b):.2f}; {time.time() - t0:.0f} s"
    )


if __name__ == "__main__":
    main()
