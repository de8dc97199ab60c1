"""The shipped fold model's pair-map head alone: the training layout (``torch.no_grad``) against the
inference layout (``torch.inference_mode``), float32 against bfloat16 autocast, per operator.

The head is the former shipped ``utrlm-mini-fold``'s shape (132 input features, 32 projected, 32 channels, 4 residual
blocks, ViennaRNA prior) with seeded random weights: the time does not depend on the values.
Prints the CPU's flags and the fp32 / bf16 1024^3 matmul peak measured in the same run, and the
convolutions' share of each peak (``2 x 9 x C^2`` multiply-adds per cell and convolution).

    flock /tmp/bench.lock python benchmarks/pair_head_speed.py --threads 1 --batch 8 --length 130
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch

from rnalm.precision import cpu_report, matmul_peak
from rnalm.runs.pairwise_head import PairwiseHead, PairwiseHeadConfig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--length", type=int, default=130)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(cpu_report())
    peak = {"float32": matmul_peak(torch.float32) / 1e9, "bfloat16": matmul_peak(torch.bfloat16) / 1e9}
    fp32, bf16 = peak["float32"], peak["bfloat16"]
    print(f"threads {args.threads}; 1024^3 matmul peak: fp32 {fp32:.0f}, bf16 {bf16:.0f} GFLOP/s")
    torch.manual_seed(args.seed)
    cfg = PairwiseHeadConfig(in_dim=132, proj_dim=32, channels=32, blocks=4, dropout=0.1, bpp=True, bpp_prior=True)
    head = PairwiseHead(cfg).eval()
    b, n = args.batch, args.length
    x, bpp = torch.randn(b, n, 132), torch.rand(b, n, n)
    mask = torch.ones(b, n, dtype=torch.bool)
    mask[-1, n - n // 4 :] = False  # one shorter record: padding
    conv_flop = 2 * 2 * 9 * cfg.channels**2 * cfg.blocks * b * n * n
    print(f"batch {b} x {n} nt ({b * n * n} cells)")
    print("| layout | dtype | ms per batch | cells/s | conv ms | conv GFLOP/s | of peak | top operators (ms) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for layout, mode in (("training (no_grad)", torch.no_grad), ("inference", torch.inference_mode)):
        for dtype in ("float32", "bfloat16"):
            cast = torch.autocast("cpu", torch.bfloat16) if dtype == "bfloat16" else contextlib.nullcontext()
            with mode(), cast:
                head(x, mask, None, bpp)
                with torch.profiler.profile() as prof:
                    t0 = time.perf_counter()
                    for _ in range(args.reps):
                        head(x, mask, None, bpp)
                    dt = (time.perf_counter() - t0) / args.reps
            ops = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
            per = {e.key.removeprefix("aten::"): e.self_cpu_time_total / 1e3 / args.reps for e in ops}
            conv = per.get("mkldnn_convolution", 0.0) + per.get("_convolution", 0.0)
            top = ", ".join(f"{k} {v:.0f}" for k, v in list(per.items())[:5])
            gf = conv_flop / (conv / 1e3) / 1e9 if conv else float("nan")
            print(
                f"| {layout} | {dtype} | {dt * 1e3:.0f} | {b * n * n / dt:,.0f} | {conv:.0f} | {gf:.0f} "
                f"| {gf / peak[dtype]:.0%} | {top} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
