"""A 5' UTR pretraining corpus: the 5' UTR records of an ``rnalm corpus`` FASTA, minus relatives of held-out rows.

    python benchmarks/utr5_corpus.py --corpus runs/corpus/corpus_v2.fa --output runs/corpus/utr5.fa

For continued ("domain-adaptive") pretraining of a backbone on the sequences the TE task reads:
the corpus records whose source is a 5' UTR dataset (LAMAR HEK293 TE train, Cao et al.'s
endogenous inserts, Sample et al.'s SNV UTRs), leaving out every record that shares a 20-mer with
LAMAR's ``valid.csv`` (the TE validation rows; Cao's inserts are fragments of the same transcripts),
and nothing else (Cao's MUSCLE rows were in the source corpus already). Prints what was kept and dropped.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rnalm.finetune.data.homology import shares_kmer
from rnalm.finetune.data.loader_table import load_data
from rnalm.io.atomic import atomic_write_text
from rnalm.runs.config import DataConfig
from rnalm.runs.table import iter_fasta

SOURCES = ("utr5_te_hek", "cao_endogenous", "mrl_sample2019_snv")
K = 20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, required=True, help="an `rnalm corpus` FASTA")
    ap.add_argument("--output", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("RNALM_SHARED_DATA", "../shared/data")))
    args = ap.parse_args()
    if args.output.exists():
        raise SystemExit(f"{args.output}: exists; choose another --output")
    valid = load_data(DataConfig(loader="lamar", train=str(args.data / "utr5_te_hek" / "valid.csv")), "regression")
    recs = [(name, seq) for _, name, seq in iter_fasta(args.corpus) if name.split(":")[0] in SOURCES]
    related = shares_kmer([seq for _, seq in recs], valid.train.seqs, K)
    kept = [r for r, hit in zip(recs, related) if not hit]
    atomic_write_text(args.output, "".join(f">{name}\n{seq}\n" for name, seq in kept))
    by = {s: sum(name.startswith(s + ":") for name, _ in kept) for s in SOURCES}
    print(f"{len(recs)} 5' UTR records, {int(related.sum())} share a {K}-mer with valid.csv; kept {len(kept)}: {by}")


if __name__ == "__main__":
    main()
