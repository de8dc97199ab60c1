"""MLM training throughput: rnalm's encoder against fair-esm's ``ESM2``, same size, same batches,
in float32 and in bfloat16 autocast.

Both models get identical weights (fair-esm's state dict loaded into rnalm), the same masked
batches, AdamW, and a full step (forward, loss in float32, backward, optimizer; weights and
optimizer state float32). Four contenders run interleaved round by round -- fair-esm fp32, rnalm
fp32, fair-esm bf16, rnalm bf16 -- so load from other jobs hits all of them. Reported: the CPU and
its bf16 flags (:func:`rnalm.precision.cpu_report`), the fp32 and bf16 1024^3 matmul peaks measured
in the same run, tokens per second (non-padding tokens; best round), the ratio to fair-esm fp32 (best
times, and the median of the per-round ratios), and each one's fraction of its dtype's peak.

    python benchmarks/pretrain_throughput.py            # UTR-LM size (6 x 128, 16 heads)
    python benchmarks/pretrain_throughput.py --layers 12 --dim 480 --heads 20
    python benchmarks/pretrain_throughput.py --no-bf16  # fp32 only (CPUs without bf16 units)
"""

from __future__ import annotations

import argparse
import copy
import random
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Callable

import esm
import torch
import torch.nn.functional as F

from rnalm.model import EncoderConfig, RNAEncoder
from rnalm.models import get_alphabet
from rnalm.numerics import reproducible
from rnalm.precision import cpu_report, matmul_peak, resolve
from rnalm.pretrain.masking import IGNORE_INDEX, mask_tokens


def step_flops(cfg: EncoderConfig, tokens: int, seq_len: int) -> float:
    """Forward+backward FLOPs (3x forward) of the matmuls, incl. attention scores, per step."""
    d, f, L, V = cfg.embed_dim, cfg.ffn_embed_dim, cfg.num_layers, cfg.vocab_size
    per_token = L * (2 * 4 * d * d + 2 * 2 * d * f + 2 * 2 * seq_len * d) + 2 * d * d + 2 * d * V
    return 3 * per_token * tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--min-len", type=int, default=50)
    ap.add_argument("--max-len", type=int, default=200)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    ap.add_argument("--no-bf16", action="store_true", help="float32 only")
    ap.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="interleaved rounds (fair-esm, rnalm, fair-esm, rnalm, ...): load drift hits both",
    )
    args = ap.parse_args()
    reproducible()  # the numerics mode rnalm trains in (oneMKL CNR); applies to both models
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    a = get_alphabet("utr-lm")
    fa = esm.data.Alphabet(
        standard_toks=list(a.letters),
        prepend_toks=("<pad>", "<eos>", "<unk>"),
        append_toks=("<cls>", "<mask>", "<sep>"),
        prepend_bos=True,
        append_eos=True,
    )
    fa.all_toks = list(a.tokens)
    fa.tok_to_idx = {t: i for i, t in enumerate(a.tokens)}
    fa.padding_idx, fa.mask_idx, fa.cls_idx, fa.eos_idx = a.padding_idx, a.mask_idx, a.cls_idx, a.eos_idx
    ref = esm.model.esm2.ESM2(
        num_layers=args.layers, embed_dim=args.dim, attention_heads=args.heads, alphabet=fa, token_dropout=True
    )
    cfg = EncoderConfig(
        vocab_size=len(a),
        num_layers=args.layers,
        embed_dim=args.dim,
        ffn_embed_dim=4 * args.dim,
        attention_heads=args.heads,
        position_embedding="rotary",
        token_dropout=True,
        max_positions=args.max_len + 2,
        padding_idx=a.padding_idx,
        mask_idx=a.mask_idx,
        cls_idx=a.cls_idx,
        eos_idx=a.eos_idx,
    )
    ours = RNAEncoder(cfg)
    state = {k: v for k, v in ref.state_dict().items() if not k.endswith("inv_freq")}
    ours.load_state_dict(state, strict=True)

    rng = random.Random(0)
    bc = a.get_batch_converter(check_length=False)
    batches = []
    for s in range(args.steps + 2):
        seqs = [
            ("s", "".join(rng.choice("ACGT") for _ in range(rng.randint(args.min_len, args.max_len))))
            for _ in range(args.batch)
        ]
        tokens = bc(seqs)[2]
        inputs, targets = mask_tokens(tokens, a, torch.Generator().manual_seed(s))
        batches.append((inputs, targets))
    n_tokens = sum(int(t.ne(a.padding_idx).sum()) for t, _ in batches[2:])
    flops = sum(step_flops(cfg, int(t.ne(a.padding_idx).sum()), t.shape[1]) for t, _ in batches[2:])

    bf16 = resolve("bfloat16", "cpu")  # the autocast rnalm pretrain uses with dtype=bfloat16

    def run(model: torch.nn.Module, autocast: Callable[[], AbstractContextManager]) -> float:
        """Seconds for the timed steps (after 2 warm-up steps) of a fresh copy of ``model``."""
        model = copy.deepcopy(model)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        model.train()
        for i, (inp, tgt) in enumerate(batches):
            if i == 2:
                t0 = time.perf_counter()
            with autocast():
                logits = model(inp)["logits"]
            logits = logits.float()
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), tgt.view(-1), ignore_index=IGNORE_INDEX)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return time.perf_counter() - t0

    contenders: dict[str, tuple[torch.nn.Module, Callable[[], AbstractContextManager], str]] = {
        "fair-esm ESM2 fp32": (ref, nullcontext, "fp32"),
        "rnalm fp32": (ours, nullcontext, "fp32"),
    }
    if not args.no_bf16:
        contenders["fair-esm ESM2 bf16"] = (ref, bf16.autocast, "bf16")
        contenders["rnalm bf16"] = (ours, bf16.autocast, "bf16")
    print(cpu_report())
    print(f"bf16 here: {resolve('auto', 'cpu').summary()}")
    peaks = {"fp32": matmul_peak(torch.float32, reps=20)}
    if not args.no_bf16:
        peaks["bf16"] = matmul_peak(torch.bfloat16, reps=20)
    print(
        f"threads={torch.get_num_threads()} size={args.layers}x{args.dim} heads={args.heads} "
        f"batch={args.batch} lengths {args.min_len}-{args.max_len} steps={args.steps} rounds={args.rounds} "
        f"seeds: weights 0, lengths 0, masking 0..{args.steps + 1}"
    )
    print("1024^3 matmul peaks: " + ", ".join(f"{k} {v / 1e9:,.1f} GFLOP/s" for k, v in peaks.items()))
    # Interleave the contenders round by round so that load from other processes on a shared machine
    # hits all of them; report each one's best time and the median of its per-round ratios.
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, (model, autocast, _) in contenders.items():
            times[name].append(run(model, autocast))
    base = times["fair-esm ESM2 fp32"]
    for name, (_, _, kind) in contenders.items():
        best = min(times[name])
        ratios = sorted(b / t for b, t in zip(base, times[name]))
        print(
            f"{name:20s} {n_tokens / best:9,.0f} tokens/s (best round)  x{min(base) / best:5.2f} fair-esm fp32 "
            f"(per round: {', '.join(f'{r:.2f}' for r in ratios)}; median {ratios[len(ratios) // 2]:.2f})  "
            f"{100 * flops / best / peaks[kind]:5.1f}% of the {kind} peak"
        )


if __name__ == "__main__":
    main()
