"""ViennaRNA (RNAfold MFE, default parameters) F1 on bpRNA VL0 and ArchiveII.

Usage (from the repository root, with ../shared/data present):

    python benchmarks/structure_vienna.py [--data DIR] [--workers N] [--json OUT.json]

Metrics come from :mod:`rnalm.structure.metrics`: exact and shifted (+-1, Mathews et al. 2004)
precision / recall / F1 and MCC per sequence, then averaged over sequences. A record whose true and
predicted structures are both empty scores 1 (the module's documented convention). ArchiveII is
also reported per family and per test partition of its 5 family-stratified folds (the union of the
five test partitions is the whole set), so learned heads can later be compared on the same splits.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from multiprocessing import Pool
from pathlib import Path

from rnalm.structure.formats import archiveii_family, read_archiveii_csv, read_archiveii_splits, read_bprna_jsonl
from rnalm.structure.metrics import average_scores, score_pairs

ROOT = Path(__file__).resolve().parents[1]


def _fold(item: tuple[str, str]) -> tuple[str, list[tuple[int, int]]]:
    from rnalm.structure.vienna import vienna_fold

    rid, seq = item
    return rid, list(vienna_fold(seq, rid).structure.pairs)


def predict_all(structures, workers: int) -> dict[str, list[tuple[int, int]]]:
    items = [(s.id, s.sequence) for s in structures]
    if workers <= 1:
        return dict(map(_fold, items))
    with Pool(workers) as pool:
        return dict(pool.imap_unordered(_fold, items, chunksize=8))


def summarize(structures, preds) -> dict:
    return average_scores([score_pairs(preds[s.id], s.pairs, len(s)) for s in structures])


def row(name: str, r: dict) -> str:
    k = ("f1_seq_mean", "f1_shifted_seq_mean", "precision_seq_mean", "recall_seq_mean", "mcc_seq_mean")
    return f"| {name} | {r['n_sequences']} | " + " | ".join(f"{r[x]:.3f}" for x in k) + " |"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", help="also write all figures as JSON here")
    args = ap.parse_args(argv)
    data = Path(args.data)
    if not (data / "ss_bprna" / "VL0.jsonl").is_file():
        print(f"skipped: {data}/ss_bprna/VL0.jsonl not found", file=sys.stderr)
        return 0
    import RNA

    settings = "RNAfold MFE, default parameters (Turner 2004, 37C)"
    results: dict = {"vienna_version": RNA.__version__, "settings": settings}
    t0 = time.time()
    vl0 = read_bprna_jsonl(data / "ss_bprna" / "VL0.jsonl")
    arch = read_archiveii_csv(data / "ss_archiveii" / "ArchiveII.csv")
    splits = read_archiveii_splits(data / "ss_archiveii" / "ArchiveII_splits.csv")
    preds = predict_all(vl0 + arch, args.workers)
    results["seconds"] = round(time.time() - t0, 1)
    results["bprna_vl0"] = summarize(vl0, preds)
    results["archiveii_all"] = summarize(arch, preds)
    fam = defaultdict(list)
    for s in arch:
        fam[archiveii_family(s.id)].append(s)
    results["archiveii_family"] = {f: summarize(v, preds) for f, v in sorted(fam.items(), key=lambda kv: -len(kv[1]))}
    by_id = {s.id: s for s in arch}
    results["archiveii_fold_test"] = {
        str(k): summarize([by_id[i] for i in parts["test"]], preds) for k, parts in sorted(splits.items())
    }
    print("| data | n | F1 | F1 shifted | precision | recall | MCC |")
    print("|---|---|---|---|---|---|---|")
    print(row("bpRNA VL0", results["bprna_vl0"]))
    print(row("ArchiveII (all)", results["archiveii_all"]))
    for f, r in results["archiveii_family"].items():
        print(row(f"ArchiveII {f}", r))
    for k, r in results["archiveii_fold_test"].items():
        print(row(f"ArchiveII fold {k} test", r))
    print(f"\nViennaRNA {results['vienna_version']}, {results['seconds']} s with {args.workers} worker(s)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
