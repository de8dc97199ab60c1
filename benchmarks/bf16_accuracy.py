"""What bfloat16 costs in accuracy: bf16 against float32 per-token embeddings, two ways of computing bf16.

* ``autocast`` -- what ``rnalm embed --dtype auto`` does on a device with native bf16
  (:meth:`rnalm.precision.Precision.prepare`): matrix products in bf16, layer norms and the residual stream
  in float32, Linear weights pre-cast to bf16 once (the numbers autocast itself gives);
* ``cast`` -- the whole model cast to bf16 (every activation and norm in bf16).

Models: an RNA-FM-sized encoder (rnalm's ``rna-fm`` size: 12 layers x 640, 20 heads, FFN 5120,
learned positions) with seeded random weights -- a stand-in, as RNA-FM's weights cannot be
downloaded here -- and the shipped ``utrlm-mini``. Inputs: the first ``--n`` records of
``ncrna_family/train.fasta`` whose letters are all A/C/G/T/U (real ncRNA sequences, 13 Rfam
classes). Same token-budget batches for every variant; the last layer's per-token vectors
(``<cls>``/``<eos>`` removed) are compared with float32: cosine similarity per token (mean, min,
1st percentile) and the largest absolute difference. Seconds per variant are printed too (one
pass each, interleaved; a loaded machine makes them rough -- ``embed_throughput.py`` measures speed).

Usage::

    python benchmarks/bf16_accuracy.py --n 200 --threads 2
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ncrna_family" / "train.fasta"
TARGET_COSINE = 0.999


def records(path: Path, n: int):
    from rnalm.io.seqio import iter_records

    ok = (r for r in iter_records(path) if set(r.seq.upper()) <= set("ACGTU"))
    return list(itertools.islice(ok, n))


def rnafm_sized(seed: int):
    from rnalm.model import RNAEncoder
    from rnalm.model.config import named_config
    from rnalm.models.rnafm.alphabet import RNA_FM_ALPHABET as a

    torch.manual_seed(seed)
    cfg = named_config("rna-fm", alphabet=a, emb_layer_norm_before=True)
    return RNAEncoder(cfg).reset_parameters().eval(), a.with_max_length(cfg.max_length)


def plan(recs, alphabet, tokens_per_batch: int):
    from rnalm.embedding.batching import Preparer, plan_batches
    from rnalm.embedding.plan import rank_work

    specials = int(alphabet.prepend_bos) + int(alphabet.append_eos)
    prep = Preparer(alphabet, long="truncate")
    return list(plan_batches(rank_work(recs, prep, 0, 1), tokens_per_batch, 4096, specials))


def forward_all(model, alphabet, batches, context) -> tuple[dict, float]:
    """Per-token last-layer vectors (float32 numpy) of every record, and the seconds it took."""
    from rnalm.embedding.batching import batch_tensor

    layer, bos, out = model.num_layers, int(alphabet.prepend_bos), {}
    t0 = time.perf_counter()
    with torch.inference_mode():
        for b in batches:
            with context():
                rep = model(batch_tensor(b.items, alphabet), repr_layers=[layer], return_logits=False)
            rep = rep["representations"][layer].float()
            for row, it in enumerate(b.items):
                out[it.record] = rep[row, bos : bos + len(it.ids)].numpy()
    return out, time.perf_counter() - t0


def compare(ref: dict, got: dict) -> dict:
    cos, worst = [], 0.0
    for k, x in ref.items():
        y = got[k]
        cos.append((x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1)))
        worst = max(worst, float(np.abs(x - y).max()))
    c = np.concatenate(cos)
    return {
        "tokens": int(c.size),
        "cosine_mean": float(c.mean()),
        "cosine_min": float(c.min()),
        "cosine_p1": float(np.percentile(c, 1)),
        "max_abs_diff": worst,
        "ref_abs_max": float(max(np.abs(x).max() for x in ref.values())),
    }


def variants(model):
    """(name, model, context factory): float32, whole-model cast, and the autocast rnalm embed runs."""
    import contextlib

    from rnalm.precision import Precision

    auto = Precision("bfloat16", "asked")
    return [
        ("float32", model, contextlib.nullcontext),
        ("bf16 cast", copy.deepcopy(model).to(torch.bfloat16), contextlib.nullcontext),
        ("bf16 autocast", auto.prepare(copy.deepcopy(model), torch.device("cpu")), auto.autocast),
    ]


def measure(name: str, model, alphabet, recs, tokens_per_batch: int) -> dict:
    batches = plan(recs, alphabet, tokens_per_batch)
    runs = variants(model)
    outs, secs = {}, {}
    for label, m, ctx in runs:  # one warm-up batch each, then one timed pass each
        forward_all(m, alphabet, batches[-1:], ctx)
    for label, m, ctx in runs:
        outs[label], secs[label] = forward_all(m, alphabet, batches, ctx)
    res = {"model": name, "seconds": secs}
    for label in ("bf16 cast", "bf16 autocast"):
        res[label] = compare(outs["float32"], outs[label])
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=200, help="records of ncrna_family (default 200)")
    p.add_argument("--data", type=Path, default=DATA, help="FASTA file (default: ../shared/data/ncrna_family)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    p.add_argument("--tokens-per-batch", type=int, default=8192)
    p.add_argument("--seed", type=int, default=0, help="seed of the RNA-FM-sized model's random weights")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)

    import rnalm
    from rnalm.embedding import default_model
    from rnalm.numerics import reproducible
    from rnalm.precision import cpu_report

    if args.threads:
        torch.set_num_threads(args.threads)
    reproducible()
    recs = records(args.data, args.n)
    print(f"# bf16 vs float32 embeddings; {cpu_report()}")
    print(
        f"# {len(recs)} records of {args.data.name} ({sum(len(r.seq) for r in recs):,} nt), "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}, load {os.getloadavg()[0]:.1f}"
    )
    results = []
    fm, fm_alphabet = rnafm_sized(args.seed)
    results.append(
        measure(f"RNA-FM size, random weights (seed {args.seed})", fm, fm_alphabet, recs, args.tokens_per_batch)
    )
    ref, name = default_model()
    mini, mini_alphabet = rnalm.load(ref)
    results.append(measure(name, mini.eval(), mini_alphabet, recs, args.tokens_per_batch))

    print(
        "\n| model | bf16 | tokens | cosine mean | cosine min | cosine 1st pct | max abs diff (largest |x|) "
        "| s (fp32 / bf16) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    ok = True
    for r in results:
        for label in ("bf16 cast", "bf16 autocast"):
            c = r[label]
            ok &= c["cosine_min"] >= TARGET_COSINE if label == "bf16 autocast" else True
            print(
                f"| {r['model']} | {label.split()[1]} | {c['tokens']:,} | {c['cosine_mean']:.6f} | "
                f"{c['cosine_min']:.6f} | "
                f"{c['cosine_p1']:.6f} | {c['max_abs_diff']:.4f} ({c['ref_abs_max']:.2f}) | "
                f"{r['seconds']['float32']:.1f} / {r['seconds'][label]:.1f} |"
            )
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps({"command": " ".join(sys.argv), "results": results}, indent=2))
    if not ok:
        print(f"FAIL: autocast per-token cosine below {TARGET_COSINE}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
