"""RNA-FM's two embedding tutorials reproduced with ``rnalm map``: family clustering and RNA type classification.

RNA-FM's tutorial (``tutorials/rna_family-clustering_type-classification`` of ml4bio/RNA-FM) embeds
(1) three Rfam families, RF00001 (5S rRNA), RF00005 (tRNA) and RF00010 (RNase P RNA), and maps and
clusters them; (2) an RNAcentral sample of 28 RNA types, 50 sequences each
(``format_rnacentral_active.100.sample-Max50.fasta``, type = the first word after the id in each
header), and classifies the type from the embedding. Here both run through ``rnalm map`` with the
shipped ``utrlm-mini`` backbone and the 3-mer baseline beside it (RNA-FM's weights cannot be
downloaded on this machine, so its rows are not measured).

Letters other than A, C, G, U (a few N and IUPAC codes in both sets) are read as the mask token
(``--unknown mask``); the k-mer baseline skips k-mers that contain them.

The Rfam files carry no label in their headers: the script writes one FASTA with ``family=RFxxxxx``
added to each header (``--label-field family``), into the output folder's parent.

Usage::

    python benchmarks/map_tutorials.py [--data ../shared/data/rnafm_tutorial] [--out benchmarks/results/map_tutorials]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FAMILIES = ("RF00001", "RF00005", "RF00010")
TYPES_FILE = "format_rnacentral_active.100.sample-Max50.fasta"


def cpu_flags() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    flags = set()
    model = ""
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
        if line.startswith("model name") and not model:
            model = line.split(":", 1)[1].strip()
    wanted = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16") if f in flags]
    return f"{model}; {os.cpu_count()} logical CPUs; flags: {' '.join(wanted) or 'none of avx2/avx512/amx'}"


def labelled_families(data: Path, target: Path) -> Path:
    """One FASTA of the three families, each header given ``family=RFxxxxx``."""
    with open(target, "w") as out:
        for fam in FAMILIES:
            for line in (data / f"{fam}.fasta").read_text().splitlines():
                out.write(f"{line.split()[0]} family={fam}\n" if line.startswith(">") else line + "\n")
    return target


def run(cmd: list[str]) -> float:
    print("$ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t


def table(scores: dict) -> str:
    lines = [
        "| representation | k-means ARI | k-means NMI | k-means silhouette | HDBSCAN ARI | HDBSCAN NMI "
        "| label silhouette | logreg acc | logreg macro F1 | kNN acc | kNN macro F1 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rep, s in scores["representations"].items():
        sil = s["kmeans"]["silhouette"]
        lines.append(
            f"| {rep} | {s['kmeans']['ari']:.3f} | {s['kmeans']['nmi']:.3f} | {sil:.3f} | {s['hdbscan']['ari']:.3f} "
            f"| {s['hdbscan']['nmi']:.3f} | {s['labels']['silhouette']:.3f} | {s['logreg']['accuracy']:.3f} "
            f"| {s['logreg']['macro_f1']:.3f} | {s['knn']['accuracy']:.3f} | {s['knn']['macro_f1']:.3f} |"
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "rnafm_tutorial")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "map_tutorials")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", default="umap,tsne,pca")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(
        f"CPU: {cpu_flags()}; Python {platform.python_version()}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}"
    )
    rnalm = [sys.executable, "-m", "rnalm", "map"]
    common = [
        "--unknown",
        "mask",
        "--methods",
        args.methods,
        "--seed",
        str(args.seed),
        "--folds",
        "5",
        "--overwrite",
        "-q",
    ]
    families = labelled_families(args.data, args.out / "rfam_3families.fasta")
    jobs = {
        "rfam": [*rnalm, "-i", str(families), "--label-field", "family", "-o", str(args.out / "rfam"), *common],
        "types": [
            *rnalm,
            "-i",
            str(args.data / TYPES_FILE),
            "--label-field",
            "1",
            "-o",
            str(args.out / "types"),
            *common,
        ],
    }
    for name, cmd in jobs.items():
        seconds = run(cmd)
        scores = json.loads((args.out / name / "scores.json").read_text())
        print(
            f"\n### {name}: {scores['settings']['records']} records, {len(scores['settings']['labels'])} labels, "
            f"{seconds:.1f} s wall\n"
        )
        print(table(scores), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
