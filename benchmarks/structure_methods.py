"""Every structure predictor of ``rnalm fold --model`` that runs here, scored on the same records.

Usage (from the repository root, with ../shared/data present):

    python benchmarks/structure_methods.py [--data DIR] [--archiveii-records 300] [--max-length 500]
        [--methods shipped,vienna,vienna-mea,vienna-bpp] [--json OUT.json]

Records:

* **bpRNA VL0, held out**: the 225 records (<= 200 nt) the shipped structure model did *not* train
  on -- the hold-out its run drew from ``VL0.jsonl`` (``valid_fraction`` 0.2, seed 42, after
  dropping records over 200 nt), rebuilt here from the shipped run's own config with the finetune
  data loader; every method is scored on exactly these.
* **ArchiveII**: up to ``--archiveii-records`` records of at most ``--max-length`` nt, drawn with
  seed 0 in equal shares per family (all of a family when it has fewer), reported per family too.
  The shipped model never saw ArchiveII, but bpRNA (its training source) contains homologues of its
  families, so this is not a homology-clean test.

Each method is what ``rnalm fold --model NAME`` does with its own defaults (the predictor table,
:data:`rnalm.predictors.fold.PREDICTORS`); records past a method's limit would take fold's
ViennaRNA fallback and are counted. Scores: :mod:`rnalm.structure.metrics`, per sequence then
averaged over sequences (F1 of the exact base pairs ``i < j``, each pair counted once; shifted F1
allows +-1 on one side, Mathews et al. 2004; a record with no true and no predicted pair scores 1).
``rna-fm-ss-resnet`` and ``protrna-ss-head`` need their published weights, which cannot be
downloaded here; they are run when the files are in rnalm's cache.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from rnalm import hub, shipped
from rnalm.finetune.data.loader_table import load_data
from rnalm.finetune.run_splits import label_strata, record_groups
from rnalm.predictors.fold import BY_NAME, choose
from rnalm.runs.config_file import load_finetune_config
from rnalm.runs.splits import holdout
from rnalm.runs.tasks import get_task
from rnalm.structure.folding import FoldPolicy, fold
from rnalm.structure.formats import archiveii_family, read_archiveii_csv, read_bprna_jsonl
from rnalm.structure.metrics import average_scores, score_pairs

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("shipped", "vienna", "vienna-mea", "vienna-bpp", "rna-fm-ss-resnet", "protrna-ss-head")
KEYS = ("f1_seq_mean", "f1_shifted_seq_mean", "precision_seq_mean", "recall_seq_mean", "mcc_seq_mean")


def cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                wanted = ("avx", "avx2", "avx512f", "avx512_bf16", "amx_tile", "fma", "sse4_2")
                have = set(line.split(":", 1)[1].split())
                return " ".join(f for f in wanted if f in have)
    except OSError:
        pass
    return platform.processor() or "unknown"


def vl0_held_out(data: Path) -> list:
    """The shipped structure model's hold-out of VL0, as its run drew it."""
    entry = shipped.structure_entry()
    if entry is None:
        raise SystemExit("no shipped structure model: its hold-out cannot be rebuilt")
    cfg = load_finetune_config(entry.path / "config.yaml", [f"data.train={data / 'ss_bprna' / 'VL0.jsonl'}"])
    bundle = load_data(cfg.data, cfg.task)
    recs = bundle.train
    _, held = holdout(
        len(recs.seqs),
        cfg.data.valid_fraction,
        cfg.train.seed,
        label_strata(get_task(cfg.task), cfg, recs),
        record_groups(recs),
    )
    ids = {recs.ids[i] for i in held}
    by_id = {s.id: s for s in read_bprna_jsonl(data / "ss_bprna" / "VL0.jsonl")}
    return [by_id[i] for i in sorted(ids)]


def archiveii_sample(data: Path, n: int, max_length: int, seed: int = 0) -> list:
    fam = defaultdict(list)
    for s in read_archiveii_csv(data / "ss_archiveii" / "ArchiveII.csv"):
        if len(s) <= max_length:
            fam[archiveii_family(s.id)].append(s)
    rng = np.random.default_rng(seed)
    share = max(1, n // len(fam))
    out = []
    for f in sorted(fam):
        pick = rng.permutation(len(fam[f]))[:share]
        out += [fam[f][i] for i in sorted(pick)]
    return out


def run_method(name: str, structures: list) -> tuple[dict, float, int]:
    """``{id: pairs}``, seconds, and how many records took the ViennaRNA fallback."""
    predictor = choose(name)
    t0 = time.time()
    preds, fallback = {}, 0
    for done in fold([(s.id, s.sequence) for s in structures], predictor, FoldPolicy(), batch_size=1):
        preds[done.id] = list(done.prediction.structure.pairs) if done.prediction is not None else []
        fallback += done.method != predictor.method
    return preds, time.time() - t0, fallback


def scores(structures, preds) -> dict:
    return average_scores([score_pairs(preds[s.id], s.pairs, len(s)) for s in structures])


def available(name: str) -> str:
    """Why ``name`` cannot run here, or ``""``."""
    spec = BY_NAME[name]
    missing = [
        n for n in spec.downloads if hub.cache_status(hub.get(n)) != "yes" and hub.torch_hub_path(hub.get(n)) is None
    ]
    return f"needs {', '.join(missing)} (published weights, not downloadable here)" if missing else ""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--archiveii-records", type=int, default=300)
    ap.add_argument("--max-length", type=int, default=500)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--json", help="also write all figures as JSON here")
    args = ap.parse_args(argv)
    data = Path(args.data)
    if not (data / "ss_bprna" / "VL0.jsonl").is_file():
        print(f"skipped: {data}/ss_bprna/VL0.jsonl not found", file=sys.stderr)
        return 0
    torch.set_num_threads(1)
    sets = {
        "bpRNA VL0 (held out)": vl0_held_out(data),
        "ArchiveII": archiveii_sample(data, args.archiveii_records, args.max_length),
    }
    import RNA

    print(
        f"CPU: {platform.machine()} ({cpu_flags()}); torch {torch.__version__}, 1 thread; ViennaRNA {RNA.__version__}"
    )
    for k, v in sets.items():
        print(f"{k}: {len(v)} records, {min(map(len, v))}-{max(map(len, v))} nt")
    results: dict = {"cpu_flags": cpu_flags(), "sets": {k: len(v) for k, v in sets.items()}, "methods": {}}
    print("\n| method | data | n | F1 | F1 shifted | precision | recall | MCC | fallback | s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.methods.split(","):
        why = available(name)
        if why:
            results["methods"][name] = {"skipped": why}
            print(f"| {name} | all | - | not run: {why} | | | | | | |")
            continue
        results["methods"][name] = {}
        for set_name, structs in sets.items():
            preds, secs, fallback = run_method(name, structs)
            r = scores(structs, preds)
            fam = defaultdict(list)
            if set_name == "ArchiveII":
                for s in structs:
                    fam[archiveii_family(s.id)].append(s)
            results["methods"][name][set_name] = {
                **r,
                "seconds": round(secs, 1),
                "fallback": fallback,
                "family": {f: scores(v, preds)["f1_seq_mean"] for f, v in sorted(fam.items())},
            }
            cells = " | ".join(f"{r[k]:.3f}" for k in KEYS)
            print(f"| {name} | {set_name} | {r['n_sequences']} | {cells} | {fallback} | {secs:.0f} |", flush=True)
    fams = sorted(
        {f for m in results["methods"].values() for d in m.values() if isinstance(d, dict) for f in d.get("family", {})}
    )
    if fams:
        print("\nArchiveII F1 per family (n):")
        counts = defaultdict(int)
        for s in sets["ArchiveII"]:
            counts[archiveii_family(s.id)] += 1
        print("| method | " + " | ".join(f"{f} ({counts[f]})" for f in fams) + " |")
        print("|---|" + "---|" * len(fams))
        for name, m in results["methods"].items():
            if "ArchiveII" in m:
                print(f"| {name} | " + " | ".join(f"{m['ArchiveII']['family'][f]:.3f}" for f in fams) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
