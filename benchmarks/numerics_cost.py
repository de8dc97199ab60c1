"""What rnalm's reproducible math mode (``rnalm.numerics``) costs in speed on this machine.

oneMKL's mode is fixed at its first call, so every measurement is a fresh process. Modes, run
interleaved (A B C A B C ...) so that load from other jobs falls on all of them alike:

* ``fast``: ``RNALM_FAST_MATH=1``, the libraries' default mode (what ``--fast-math`` gives);
* ``auto``: rnalm's default, ``rnalm.numerics.reproducible()`` (``MKL_CBWR=AUTO``, no dynamic threads);
* ``compatible``: ``MKL_CBWR=COMPATIBLE``, the stricter setting (same bits on any x86 CPU).

Each process times, in float32 with ``--threads`` torch threads (default 1):

* ``peak``: a 2048 x 2048 x 2048 ``torch.matmul`` (GFLOP/s, best of 5);
* ``enc-small`` / ``enc-large``: forward + backward of an encoder the size of utrlm-mini (6 x 128,
  8 x 100 tokens) and of RNA-FM (12 x 640, 1 x 100 tokens), median of 2 steps after one warm-up, with the useful
  FLOP rate as a fraction of the fast mode's ``peak``;
* ``embed``: ``embed_file`` with the shipped ``utrlm-mini`` on 150 random 50-250 nt sequences
  (tokens/s, mean pooling, HDF5).

Usage::

    python benchmarks/numerics_cost.py              # 2 rounds of the 3 modes, about 6 min on a loaded 2-core box
    python benchmarks/numerics_cost.py --rounds 1   # quicker, noisier
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = {"fast": {"RNALM_FAST_MATH": "1"}, "auto": {}, "compatible": {"MKL_CBWR": "COMPATIBLE"}}
FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile")


def cpu_flags() -> tuple[str, list[str]]:
    model, flags = platform.processor() or "?", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("?", ""):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return model, [f for f in FLAGS if f in flags]


# ------------------------------------------------------------------------------ child process
def child(threads: int) -> dict:
    import torch

    from rnalm import numerics

    mode = numerics.reproducible(warn=False)  # first thing: before any matrix product
    torch.set_num_threads(threads)
    from rnalm.embedding import EmbedOptions, embed_file
    from rnalm.model import EncoderConfig, RNAEncoder

    out: dict = {"mkl_cbwr": mode.mkl_cbwr, "threads": torch.get_num_threads()}
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    out["peak_gflops"] = 2 * 2048**3 / min(times) / 1e9

    for name, (layers, dim, heads, batch, length) in {
        "enc-small": (6, 128, 8, 8, 100),
        "enc-large": (12, 640, 20, 1, 100),
    }.items():
        torch.manual_seed(0)
        cfg = EncoderConfig(
            vocab_size=25,
            num_layers=layers,
            embed_dim=dim,
            ffn_embed_dim=4 * dim,
            attention_heads=heads,
            max_positions=1024,
            padding_idx=1,
            mask_idx=24,
            cls_idx=0,
            eos_idx=2,
        )
        model = RNAEncoder(cfg).reset_parameters().train()
        tokens = torch.randint(4, 20, (batch, length))
        steps = []
        for i in range(3):
            t = time.perf_counter()
            model(tokens)["logits"].float().pow(2).mean().backward()
            model.zero_grad(set_to_none=True)
            if i:  # the first step warms up
                steps.append(time.perf_counter() - t)
        n_params = sum(p.numel() for n, p in model.named_parameters() if "layers" in n and p.ndim == 2)
        flops = 3 * (2 * n_params * batch * length + 4 * layers * batch * length * length * dim)
        out[name] = {"ms": 1000 * statistics.median(steps), "gflops": flops / statistics.median(steps) / 1e9}

    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        fasta = Path(tmp) / "in.fa"
        fasta.write_text(
            "".join(f">s{i}\n{''.join(rng.choice('ACGU') for _ in range(rng.randint(50, 250)))}\n" for i in range(150))
        )
        s = embed_file("utrlm-mini", fasta, Path(tmp) / "out.h5", EmbedOptions(progress=False, threads=threads))
        out["embed_tok_s"] = s.n_tokens / s.work_seconds
    return out


# ------------------------------------------------------------------------------ parent
def run_child(mode: str, threads: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("MKL_CBWR", "MKL_DYNAMIC", "RNALM_FAST_MATH")}
    env.update(MODES[mode])
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    res = subprocess.run(
        [sys.executable, __file__, "--child", "--threads", str(threads)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )
    if res.returncode != 0:
        sys.exit(f"{mode}: child failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=2, help="rounds of the interleaved modes (default 2)")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: on a shared machine, more threads than free cores measure "
        "the scheduler more than the kernels)",
    )
    ap.add_argument("--json", help="also write all measurements here")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.threads)))
        return
    import torch

    model, flags = cpu_flags()
    print(
        f"CPU: {model}; flags: {' '.join(flags) or '-'}; {os.cpu_count()} logical CPUs; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"torch {torch.__version__}, MKL {torch.backends.mkl.is_available()}, "
        f"oneDNN {torch.backends.mkldnn.is_available()}"
    )
    results: dict[str, list[dict]] = {m: [] for m in MODES}
    for r in range(args.rounds):
        for mode in MODES:
            results[mode].append(run_child(mode, args.threads))
            print(f"round {r + 1} {mode}: {json.dumps(results[mode][-1])}", flush=True)
    peak = statistics.median(x["peak_gflops"] for x in results["fast"])
    print(
        f"\nthreads {results['fast'][0]['threads']}; medians over {args.rounds} processes per mode; "
        f"fraction of peak = of the fast mode's 2048^3 matmul ({peak:.0f} GFLOP/s)"
    )
    print(
        "| measure | "
        + " | ".join(f"{m} (MKL_CBWR {results[m][0]['mkl_cbwr']})" for m in MODES)
        + " | auto / fast | compatible / fast |"
    )
    print("|---|" + "---|" * (len(MODES) + 2))

    def row(label: str, get, unit: str, higher_better: bool, frac: bool = False) -> None:
        med = {m: statistics.median(get(x) for x in results[m]) for m in MODES}
        cells = [
            f"{med[m]:.1f} {unit}" + (f" ({100 * get_gf(m, label) / peak:.0f} % of peak)" if frac else "")
            for m in MODES
        ]
        ratio = (lambda m: med["fast"] / med[m]) if higher_better else (lambda m: med[m] / med["fast"])
        print(f"| {label} | " + " | ".join(cells) + f" | {ratio('auto'):.3f}x | {ratio('compatible'):.3f}x |")

    def get_gf(mode: str, label: str) -> float:
        return statistics.median(x[label]["gflops"] for x in results[mode])

    row("peak", lambda x: x["peak_gflops"], "GFLOP/s", True)
    row("enc-small", lambda x: x["enc-small"]["ms"], "ms/step", False, frac=True)
    row("enc-large", lambda x: x["enc-large"]["ms"], "ms/step", False, frac=True)
    row("embed", lambda x: x["embed_tok_s"], "tok/s", True)
    print("(ratios are time relative to fast: above 1 = slower)")
    if args.json:
        Path(args.json).write_text(json.dumps({"cpu": model, "flags": flags, "results": results}, indent=1))


if __name__ == "__main__":
    main()
