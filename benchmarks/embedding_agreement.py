"""How far apart two checkpoints' embeddings are: per-token cosine and max abs difference of the last
layer on the same random sequences (say a backbone stored in float32 and the same weights rounded to
float16, as ``python -m rnalm.packaging --backbones-float16`` stores them).

    python benchmarks/embedding_agreement.py runs/previous/src/rnalm/shipped/utrlm-mini utrlm-mini [--n 64]

Both are loaded with :func:`rnalm.load` (paths or names) and run in float32 on the CPU, one sequence at
a time (no padding), on ``--n`` random A/C/G/U sequences of 30-300 nt drawn with ``--seed``.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from rnalm.api import load
from rnalm.precision import cpu_report


def last_layer(model, tokens: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        reps = model(tokens, repr_layers=[-1], return_logits=False)["representations"]
    return next(iter(reps.values()))[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", help="reference checkpoint (path or name)")
    ap.add_argument("b", help="checkpoint compared with it")
    ap.add_argument("--n", type=int, default=64, help="random sequences (default 64)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(cpu_report())
    rng = np.random.default_rng(args.seed)
    seqs = ["".join(rng.choice(list("ACGU"), size=int(n))) for n in rng.integers(30, 300, size=args.n)]
    a, alphabet = load(args.a)
    b, other = load(args.b)
    if other.tokens != alphabet.tokens:
        raise SystemExit(f"{args.a} and {args.b} have different alphabets; their embeddings do not compare")
    convert = alphabet.get_batch_converter()
    gaps, worst, scale = [], 0.0, []
    for i, s in enumerate(seqs):
        _, _, tokens = convert([(f"s{i}", s)])
        ea, eb = last_layer(a, tokens), last_layer(b, tokens)
        gaps += (1 - torch.nn.functional.cosine_similarity(ea, eb, dim=-1)).tolist()
        worst = max(worst, (ea - eb).abs().max().item())
        scale.append(ea.abs().mean().item())
    print(
        f"{args.b} against {args.a}: {len(gaps)} tokens of {len(seqs)} sequences; per-token 1 - cosine "
        f"max {max(gaps):.2e}, mean {np.mean(gaps):.2e}; max abs difference {worst:.4f} "
        f"(mean |embedding| {np.mean(scale):.3f})"
    )


if __name__ == "__main__":
    main()
