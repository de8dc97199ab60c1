"""Embedding throughput: rnalm against rna-fm's own model and multimolecule's RnaFmModel.

All three get the same random full-size RNA-FM weights (12 layers, 640 wide, 20 heads): the
rna-fm model is built with ``fm.BioBertModel``, saved in the published ``.pth`` layout and
loaded by ``rnalm.load`` (through the RNA-FM converter); multimolecule's model receives the same
tensors under its names and vocabulary order. Inputs are a 5' UTR-like set (lengths
log-uniform between 25 and 1,000 nt).

Measured on the CPU (and on a GPU when one is visible):

* rna-fm in its own usage: batches of 8 in input order;
* multimolecule, same batches;
* rnalm's encoder, same batches (kernels alone), and with rnalm's token-budget batches;
* ``rnalm embed`` end to end (``embed_file``: validation, batching, per-token HDF5 writes).

Tokens are non-padding tokens including ``<cls>``/``<eos>``, counted the same way for all. The
fp32 matmul peak is measured in the same process with large ``torch.matmul`` calls, and
rnalm's useful FLOP rate (linear layers + attention of the real, unpadded tokens) is reported
as a fraction of it. rnalm's outputs must equal rna-fm's (max abs diff <= 1e-4) or the script
exits with status 1. ``--memory`` also runs ``embed_file`` in child processes on 1k and 20k
records (``--memory-sizes``) and reports their peak resident memory.

Usage::

    python benchmarks/embed_throughput.py --quick     # smoke run, about a minute
    python benchmarks/embed_throughput.py             # full run (CPU, plus GPU if present), with --memory
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from argparse import Namespace
from pathlib import Path

import numpy as np
import torch

TOLERANCE = 1e-4


# ------------------------------------------------------------------------------ inputs and models
def utr_like(n: int, lo: int, hi: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        length = int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))
        out.append((f"utr{i}", "".join(rng.choice("ACGU") for _ in range(length))))
    return out


def build_rnafm(layers: int, seed: int):
    import fm

    alphabet = fm.Alphabet.from_architecture("roberta_large", theme="rna")
    args = Namespace(
        arch="roberta_large",
        layers=layers,
        embed_dim=640,
        ffn_embed_dim=5120,
        attention_heads=20,
        max_positions=1024,
        emb_layer_norm_before=True,
    )
    model = fm.BioBertModel(args, alphabet)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.02 * torch.randn(p.shape, generator=gen))
        model.embed_tokens.weight[alphabet.padding_idx].zero_()
        model.embed_tokens.weight[alphabet.mask_idx].zero_()  # rna-fm's loader does this too
        model.embed_positions.weight[alphabet.padding_idx].zero_()
    return model.eval(), alphabet


def save_published_pth(model, path: Path, layers: int) -> None:
    """The layout of RNA-FM_pretrained.pth: fairseq args + ``encoder.sentence_encoder.*`` tensors."""
    state = {}
    for k, v in model.state_dict().items():
        if k.startswith("lm_head."):
            state[f"encoder.{k}"] = v
        elif not k.startswith("contact_head."):
            state[f"encoder.sentence_encoder.{k}"] = v
    args = Namespace(
        arch="roberta_large",
        encoder_layers=layers,
        encoder_embed_dim=640,
        encoder_ffn_embed_dim=5120,
        encoder_attention_heads=20,
        max_positions=1024,
    )
    torch.save({"args": args, "model": state}, path)


def load_rnalm(pth: Path, fm_model, layers: int):
    """``rnalm.load`` of the published layout; if the converter fails, copy the state dict (and say so)."""
    import rnalm

    try:
        model, alphabet = rnalm.load(pth)
        return model, alphabet, "rnalm.load(.pth) through the RNA-FM converter"
    except Exception as exc:  # report, then measure the encoder anyway
        print(
            f"note: rnalm.load failed ({type(exc).__name__}: {exc}); copying the state dict directly", file=sys.stderr
        )
    from rnalm.model import EncoderConfig, RNAEncoder
    from rnalm.models.rnafm.alphabet import RNA_FM_ALPHABET as a

    cfg = EncoderConfig(
        vocab_size=len(a),
        num_layers=layers,
        embed_dim=640,
        ffn_embed_dim=5120,
        attention_heads=20,
        max_positions=1024,
        padding_idx=a.padding_idx,
        mask_idx=a.mask_idx,
        cls_idx=a.cls_idx,
        eos_idx=a.eos_idx,
        emb_layer_norm_before=True,
        contact_head=False,
    )
    model = RNAEncoder(cfg)
    state = {k: v for k, v in fm_model.state_dict().items() if not k.startswith("contact_head.")}
    model.load_state_dict(state, strict=True)
    return model.eval(), a.with_max_length(cfg.max_length), "state dict copied (rnalm.load failed)"


def build_multimolecule(fm_model, fm_alphabet, layers: int):
    from multimolecule import RnaFmConfig, RnaFmModel
    from multimolecule.tokenisers.rna.utils import get_alphabet

    vocab = list(get_alphabet().vocabulary)
    cfg = RnaFmConfig(num_hidden_layers=layers, hidden_dropout=0.0, attention_dropout=0.0, vocab_size=len(vocab))
    cfg._attn_implementation = "sdpa"
    mm = RnaFmModel(cfg, add_pooling_layer=False).eval()
    src = fm_model.state_dict()
    dst = {}
    emb = torch.zeros(len(vocab), 640)
    for i, tok in enumerate(vocab):
        if tok in fm_alphabet.tok_to_idx:
            emb[i] = src["embed_tokens.weight"][fm_alphabet.tok_to_idx[tok]]
    dst["embeddings.word_embeddings.weight"] = emb
    dst["embeddings.position_embeddings.weight"] = src["embed_positions.weight"]
    for part in ("weight", "bias"):
        dst[f"embeddings.layer_norm.{part}"] = src[f"emb_layer_norm_before.{part}"]
        dst[f"encoder.layer_norm.{part}"] = src[f"emb_layer_norm_after.{part}"]
        for i in range(layers):
            a, b = f"layers.{i}.", f"encoder.layer.{i}."
            names = {
                "self_attn.q_proj": "attention.self.query",
                "self_attn.k_proj": "attention.self.key",
                "self_attn.v_proj": "attention.self.value",
                "self_attn.out_proj": "attention.output.dense",
                "self_attn_layer_norm": "attention.layer_norm",
                "final_layer_norm": "layer_norm",
                "fc1": "intermediate.dense",
                "fc2": "output.dense",
            }
            for x, y in names.items():
                dst[f"{b}{y}.{part}"] = src[f"{a}{x}.{part}"]
    missing, unexpected = mm.load_state_dict(dst, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise RuntimeError(f"multimolecule mapping incomplete: missing {missing}, unexpected {unexpected}")
    lut = torch.tensor([vocab.index(t) if t in vocab else vocab.index("<unk>") for t in fm_alphabet.all_toks])
    return mm, lut, vocab.index("<pad>")


# ------------------------------------------------------------------------------ runs
def batches_of(seqs, size):
    for i in range(0, len(seqs), size):
        yield seqs[i : i + size]


def run_rnafm(model, alphabet, seqs, layers, device, keep=True):
    conv = alphabet.get_batch_converter()
    outs, t0 = {}, time.perf_counter()
    with torch.no_grad():
        for chunk in batches_of(seqs, 8):
            _, _, tokens = conv(chunk)
            rep = model(tokens.to(device), repr_layers=[layers])["representations"][layers]
            if keep:
                for i, (rid, s) in enumerate(chunk):
                    outs[rid] = rep[i, 1 : len(s) + 1].float().cpu().numpy()
    _sync(device)
    return time.perf_counter() - t0, outs


def run_multimolecule(mm, lut, pad, alphabet, seqs, device):
    conv = alphabet.get_batch_converter()
    outs, t0 = {}, time.perf_counter()
    with torch.no_grad():
        for chunk in batches_of(seqs, 8):
            _, _, tokens = conv(chunk)
            ids = lut[tokens].to(device)
            hidden = mm(input_ids=ids, attention_mask=ids.ne(pad).long()).last_hidden_state
            for i, (rid, s) in enumerate(chunk):
                outs[rid] = hidden[i, 1 : len(s) + 1].float().cpu().numpy()
    _sync(device)
    return time.perf_counter() - t0, outs


def run_rnalm_forward(model, alphabet, seqs, device, dtype, tokens_per_batch=None):
    """rnalm's encoder alone: batches of 8 in input order, or rnalm's token-budget plan."""
    from rnalm.embedding.batching import Item, RecordMeta, batch_tensor, plan_batches

    items = [
        (RecordMeta(rid, i, len(s), len(s)), [Item(i, 0, np.asarray(alphabet.encode(s), dtype=np.int32))])
        for i, (rid, s) in enumerate(seqs)
    ]
    if tokens_per_batch is None:
        plan = [[its[0] for _, its in chunk] for chunk in batches_of(items, 8)]
    else:
        plan = [b.items for b in plan_batches(items, tokens_per_batch, 4096, 2)]
    from rnalm.embedding.loop import cpu_kernels

    L = model.num_layers
    t0 = time.perf_counter()
    with torch.inference_mode(), cpu_kernels(torch.device(device), getattr(torch, dtype)):
        for batch in plan:
            tokens = batch_tensor(batch, alphabet).to(device)
            rep = model(tokens, repr_layers=[L], return_logits=False)["representations"][L]
            rep.float().cpu()
    _sync(device)
    return time.perf_counter() - t0


def run_rnalm_embed(model, alphabet, seqs, workdir: Path, device, dtype, tokens_per_batch=None):
    from rnalm.embedding import EmbedOptions, embed_file, open_embeddings

    fasta = workdir / "in.fa"
    fasta.write_text("".join(f">{r}\n{s}\n" for r, s in seqs))
    out = workdir / f"out-{dtype}.h5"
    if out.exists():
        out.unlink()
    s = embed_file(
        model,
        fasta,
        out,
        EmbedOptions(
            pools=["per-token"],
            progress=False,
            device=str(device),
            dtype=dtype,
            tokens_per_batch=tokens_per_batch,
            model_name="benchmark",
        ),
        alphabet=alphabet,
    )
    with open_embeddings(out) as emb:
        outs = {rid: emb[rid][f"layer_{model.num_layers}/per_token"] for rid in emb.ids}
    return s, outs


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def matmul_peak(device, dtype=torch.float32, n=4096, reps=5) -> float:
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    _sync(device)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


def useful_flops(seqs, layers, d=640, f=5120) -> float:
    """Linear layers (2 FLOPs per weight per token) and attention (QK^T and PV) of the real tokens."""
    total = 0.0
    for _, s in seqs:
        n = len(s) + 2
        total += layers * (n * 2 * (4 * d * d + 2 * d * f) + 4 * n * n * d)
    return total


def max_diff(a: dict, b: dict) -> float:
    return max(float(np.abs(a[k] - b[k]).max()) for k in a)


# ------------------------------------------------------------------------------ memory (child processes)
def peak_rss_kib() -> int:
    """Peak resident memory of this process. ``VmHWM`` belongs to the current address space, so
    unlike ``ru_maxrss`` (which Linux carries over from the parent across fork+exec) it is the
    child's own peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def memory_child(n: int, workdir: str) -> None:
    """Run embed_file on n records with a small model; print peak RSS (KiB) before and after."""
    from rnalm.embedding import EmbedOptions, embed_file
    from rnalm.model import EncoderConfig, RNAEncoder
    from rnalm.models.rnafm.alphabet import RNA_FM_ALPHABET as a

    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = EncoderConfig(
        vocab_size=len(a),
        num_layers=2,
        embed_dim=16,
        ffn_embed_dim=32,
        attention_heads=2,
        max_positions=1024,
        padding_idx=a.padding_idx,
        mask_idx=a.mask_idx,
        cls_idx=a.cls_idx,
        eos_idx=a.eos_idx,
    )
    model = RNAEncoder(cfg).reset_parameters().eval()
    before = peak_rss_kib()
    w = Path(workdir)
    s = embed_file(
        model,
        w / f"in{n}.fa",
        w / f"out{n}.h5",
        EmbedOptions(pools=["per-token", "mean"], progress=False, tokens_per_batch=8192),
        alphabet=a.with_max_length(cfg.max_length),
    )
    after = peak_rss_kib()
    print(
        json.dumps(
            {
                "n": n,
                "rss_before_kib": before,
                "peak_rss_kib": after,
                "tokens": s.n_tokens,
                "seconds": s.seconds,
                "output_bytes": (w / f"out{n}.h5").stat().st_size,
            }
        )
    )


def measure_memory(sizes, workdir: Path) -> list[dict]:
    results = []
    for n in sizes:
        seqs = utr_like(n, 25, 1000, seed=7)
        (workdir / f"in{n}.fa").write_text("".join(f">{r}\n{s}\n" for r, s in seqs))
        cmd = [sys.executable, __file__, "--memory-child", str(n), str(workdir)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        (workdir / f"out{n}.h5").unlink()
    return results


# ------------------------------------------------------------------------------ main
def bench_device(device, dtypes, seqs, layers, workdir, peak, tokens_per_batch, check_mm=True) -> dict:
    fm_model, fm_alphabet = build_rnafm(layers, seed=0)
    pth = workdir / "RNA-FM_random.pth"
    save_published_pth(fm_model, pth, layers)
    model, alphabet, how = load_rnalm(pth, fm_model, layers)
    mm, lut, pad = build_multimolecule(fm_model, fm_alphabet, layers)
    fm_model.to(device)
    mm.to(device)
    model.to(device)
    tokens = sum(len(s) + 2 for _, s in seqs)
    flops = useful_flops(seqs, layers)
    warm = seqs[:2]
    run_rnafm(fm_model, fm_alphabet, warm, layers, device)
    t_fm, out_fm = run_rnafm(fm_model, fm_alphabet, seqs, layers, device)
    rows = _Rows(tokens)
    rows.append(("rna-fm `fm.BioBertModel` (fp32)", "8 per batch, input order", t_fm))
    res: dict = {"tokens": tokens, "useful_flops": flops, "rnalm_loaded_by": how}
    if check_mm:
        run_multimolecule(mm, lut, pad, fm_alphabet, warm, device)
        t_mm, out_mm = run_multimolecule(mm, lut, pad, fm_alphabet, seqs, device)
        rows.append(("multimolecule `RnaFmModel` (fp32, sdpa)", "8 per batch, input order", t_mm))
        res["multimolecule_max_abs_diff_vs_rnafm"] = max_diff(out_mm, out_fm)
    del mm
    for dtype in dtypes:
        model.to(dtype=getattr(torch, dtype))
        run_rnalm_forward(model, alphabet, warm, device, dtype)
        t8 = run_rnalm_forward(model, alphabet, seqs, device, dtype)
        rows.append((f"rnalm encoder ({dtype})", "8 per batch, input order", t8))
        tb = run_rnalm_forward(model, alphabet, seqs, device, dtype, tokens_per_batch)
        rows.append((f"rnalm encoder ({dtype})", f"token budget {tokens_per_batch}, length-sorted", tb))
        summary, out_rn = run_rnalm_embed(model, alphabet, seqs, workdir, device, dtype, tokens_per_batch)
        rows.append(
            (
                f"`rnalm embed` end to end ({dtype})",
                f"token budget {tokens_per_batch}, per-token HDF5",
                summary.work_seconds,
            )
        )
        res[f"rnalm_{dtype}_max_abs_diff_vs_rnafm"] = max_diff(out_rn, out_fm)
        res[f"rnalm_{dtype}_embed_call_seconds"] = summary.seconds
    res["rows"] = [
        {
            "system": s,
            "batching": b,
            "seconds": t,
            "tokens_per_s": tokens / t,
            "vs_rnafm": t_fm / t,
            "fraction_of_fp32_peak": flops / t / peak,
        }
        for s, b, t in rows
    ]
    return res


class _Rows(list):
    """Result rows, each also reported on stderr as soon as it is measured (full runs take a while)."""

    def __init__(self, tokens: int) -> None:
        super().__init__()
        self.tokens = tokens

    def append(self, row) -> None:
        super().append(row)
        print(
            f"  {row[0]} [{row[1]}]: {row[2]:.1f} s, {self.tokens / row[2]:,.0f} tokens/s (load "
            f"{os.getloadavg()[0]:.1f})",
            file=sys.stderr,
            flush=True,
        )


def markdown(res: dict, peak: float, device: str) -> str:
    lines = [
        f"| system ({device}) | batching | seconds | tokens/s | vs rna-fm | % of fp32 matmul peak |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in res["rows"]:
        lines.append(
            f"| {r['system']} | {r['batching']} | {r['seconds']:.1f} | {r['tokens_per_s']:,.0f} | "
            f"{r['vs_rnafm']:.2f}x | {100 * r['fraction_of_fp32_peak']:.0f}% |"
        )
    lines.append("")
    lines.append(
        f"fp32 matmul peak: {peak / 1e9:,.1f} GFLOP/s; {res['tokens']:,} tokens, "
        f"{res['useful_flops'] / 1e12:.2f} TFLOP of useful work; rnalm model: {res['rnalm_loaded_by']}."
    )
    for k, v in res.items():
        if k.endswith("max_abs_diff_vs_rnafm"):
            lines.append(f"{k}: {v:.2e}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: 2 layers, 24 short sequences, no --memory")
    p.add_argument("--n", type=int, default=None, help="number of sequences (default 200; quick 24)")
    p.add_argument("--layers", type=int, default=None, help="encoder layers (default 12; quick 2)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for every system (default: torch's)")
    p.add_argument("--tokens-per-batch", type=int, default=None, help="rnalm's budget (default: rnalm's default)")
    p.add_argument(
        "--memory",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also measure peak RSS on 1k and 20k records (default: on in full mode)",
    )
    p.add_argument("--cpu-bf16", action="store_true", help="also run rnalm in bfloat16 on the CPU (informational)")
    p.add_argument("--no-gpu", action="store_true", help="skip the GPU section even if CUDA is available")
    p.add_argument("--memory-only", action="store_true", help="only the peak-RSS measurement")
    p.add_argument(
        "--memory-sizes",
        type=int,
        nargs="+",
        default=[1000, 20000],
        metavar="N",
        help="record counts for the peak-RSS measurement (default: 1000 20000)",
    )
    p.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    p.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.memory_child:
        memory_child(int(args.memory_child[0]), args.memory_child[1])
        return 0

    n = args.n or (24 if args.quick else 200)
    layers = args.layers or (2 if args.quick else 12)
    hi = 300 if args.quick else 1000
    if args.threads:
        torch.set_num_threads(args.threads)
    seqs = utr_like(n, 25, hi, seed=1)
    report: dict = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "n": n,
        "layers": layers,
        "lengths": [25, hi],
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "loadavg_start": os.getloadavg(),
        "torch": torch.__version__,
    }
    print(
        f"# embed throughput: {n} sequences, lengths log-uniform {25}..{hi}, {layers} layers x 640, "
        f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    failed = False
    with tempfile.TemporaryDirectory(prefix="rnalm-bench-") as tmp:
        work = Path(tmp)
        if args.memory_only:
            args.memory = True
        else:
            failed |= run_throughput(args, seqs, layers, work, report)
        memory = args.memory if args.memory is not None else not args.quick
        if memory:
            mem = measure_memory(args.memory_sizes, work)
            report["memory"] = mem
            print(
                "\n| records | tokens | peak RSS | peak RSS before embedding | output size |\n"
                "|---:|---:|---:|---:|---:|"
            )
            for m in mem:
                print(
                    f"| {m['n']:,} | {m['tokens']:,} | {m['peak_rss_kib'] / 1024:.0f} MiB | "
                    f"{m['rss_before_kib'] / 1024:.0f} MiB | {m['output_bytes'] / 2**20:.0f} MiB |"
                )
    report["loadavg_end"] = os.getloadavg()
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=float))
    if failed:
        print(f"FAIL: rnalm's outputs differ from rna-fm's by more than {TOLERANCE}", file=sys.stderr)
        return 1
    return 0


def run_throughput(args, seqs, layers, work: Path, report: dict) -> bool:
    """The CPU (and GPU) throughput tables; returns True if rnalm's outputs differ from rna-fm's."""
    from rnalm.embedding.options import DEFAULT_TOKENS_PER_BATCH

    failed = False
    peak = matmul_peak("cpu", n=2048 if args.quick else 4096)
    tpb = args.tokens_per_batch or DEFAULT_TOKENS_PER_BATCH["cpu"]
    res = bench_device("cpu", ["float32"] + (["bfloat16"] if args.cpu_bf16 else []), seqs, layers, work, peak, tpb)
    peak_after = matmul_peak("cpu", n=2048 if args.quick else 4096)
    res["peak_flops_before_after"] = [peak, peak_after]
    peak = max(peak, peak_after)  # the best the machine showed: the conservative reference
    for r in res["rows"]:
        r["fraction_of_fp32_peak"] = res["useful_flops"] / r["seconds"] / peak
    report["cpu"] = res
    print(markdown(res, peak, "CPU"), flush=True)
    print(f"(matmul peak re-measured after the runs: {peak_after / 1e9:,.1f} GFLOP/s)")
    failed |= res["rnalm_float32_max_abs_diff_vs_rnafm"] > TOLERANCE
    if torch.cuda.is_available() and not args.no_gpu:
        gpeak = matmul_peak("cuda", n=8192)
        gpeak_bf16 = matmul_peak("cuda", torch.bfloat16, n=8192)
        gtpb = args.tokens_per_batch or DEFAULT_TOKENS_PER_BATCH["cuda"]
        gres = bench_device("cuda", ["float32", "bfloat16"], seqs, layers, work, gpeak, gtpb, check_mm=True)
        gres["bf16_matmul_peak"] = gpeak_bf16
        report["gpu"] = gres
        report["gpu_name"] = torch.cuda.get_device_name()
        print(markdown(gres, gpeak, torch.cuda.get_device_name()), flush=True)
        print(f"bf16 matmul peak: {gpeak_bf16 / 1e12:,.1f} TFLOP/s")
        failed |= gres["rnalm_float32_max_abs_diff_vs_rnafm"] > TOLERANCE
    return failed


if __name__ == "__main__":
    sys.exit(main())
