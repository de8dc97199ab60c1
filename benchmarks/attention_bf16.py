"""CPU attention in bf16 against fp32, forward and forward + backward, at the shapes rnalm trains.

Why: under bf16 autocast, PyTorch's CPU ``scaled_dot_product_attention`` backward is slower in bf16
than in fp32 at small head sizes, which made bf16 pretraining of UTR-LM-size models slower than fp32.
This script measures that, interleaved (bf16, fp32, bf16, fp32; the second of each is reported), to
justify ``SelfAttention`` running attention in fp32 while it trains in bf16 on a CPU.

Usage::

    flock /tmp/bench.lock python benchmarks/attention_bf16.py [--threads 2] [--seconds 2]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from rnalm.precision import cpu_report

#: (batch, heads, tokens, head size): utrlm-mini training, an RNA-FM-like width, a long sequence
SHAPES = [(16, 16, 128, 8), (8, 20, 200, 32), (4, 16, 512, 8), (4, 20, 512, 32), (2, 20, 1000, 32)]


def time_ms(shape: tuple[int, int, int, int], dtype: torch.dtype, backward: bool, seconds: float) -> float:
    g = torch.Generator().manual_seed(0)
    qkv = [torch.randn(*shape, generator=g).bfloat16().to(dtype).requires_grad_(backward) for _ in range(3)]

    def step() -> None:
        out = F.scaled_dot_product_attention(*qkv)
        if backward:
            out.float().sum().backward()

    step()
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return (time.perf_counter() - t0) / n * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(cpu_report())
    print(f"threads={args.threads}\n")
    print("| shape (B, H, T, D) | pass | bf16 ms | fp32 ms | bf16 / fp32 |\n|---|---|---|---|---|")
    for shape in SHAPES:
        for backward in (False, True):
            got: dict[str, float] = {}
            for name, dtype in (("bf16", torch.bfloat16), ("fp32", torch.float32)) * 2:
                got[name] = time_ms(shape, dtype, backward, args.seconds)
            what = "forward + backward" if backward else "forward"
            ratio = got["bf16"] / got["fp32"]
            print(f"| {shape} | {what} | {got['bf16']:.1f} | {got['fp32']:.1f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
