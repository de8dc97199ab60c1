"""Embedding throughput: rnalm against rna-fm's own model (and multimolecule's RnaFmModel when installed).

All systems get the same random full-size RNA-FM weights (12 layers, 640 wide, 20 heads): the
rna-fm model is built with ``fm.BioBertModel``, saved in the published ``.pth`` layout and
loaded by ``rnalm.load`` (through the RNA-FM converter); multimolecule's model receives the same
tensors under its names and vocabulary order. Inputs are a 5' UTR-like set (lengths
log-uniform between 25 and 1,000 nt, seed 1).

Rows, interleaved (each ``--rounds`` round runs every row once, in this order), on the CPU and,
when CUDA is visible, again on the GPU:

* rna-fm in its own usage: fp32, batches of 8 in input order;
* multimolecule, same batches (left out when it is not installed);
* rnalm's encoder with rnalm's token-budget batches, float32 and bfloat16 (the command's autocast);
* ``rnalm embed`` end to end as a user runs it: a new process per run (interpreter and torch
  start-up, model loading, validation, batching, per-token HDF5 writes), float32 and bfloat16.

bfloat16 rows run where ``--dtype auto`` would pick bf16 (a CPU with AMX or AVX512-BF16, a CUDA
GPU with bf16), or on any CPU with ``--cpu-bf16``. Tokens are non-padding tokens including
``<cls>``/``<eos>``, counted the same way for all. The fp32 and bf16 peaks are the best of ten
1024^3 ``torch.matmul`` calls in the same process, before and after the rows (the higher is
used); each row's useful FLOP rate (linear layers + attention of the real, unpadded tokens) is
reported as a fraction of its dtype's peak. The
command's float32 output must equal rna-fm's (max abs diff <= 1e-4) or the script exits with
status 1; the bf16 output's per-token cosine similarity to rna-fm's is printed. ``--memory``
also runs ``embed_file`` in child processes on 1k and 20k records (``--memory-sizes``) and
reports their peak resident memory.

Usage::

    python benchmarks/embed_throughput.py --quick     # smoke run
    python benchmarks/embed_throughput.py --n 200 --threads 2 --no-memory   # CPU (and GPU if present)
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
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


def rnalm_compute(dtype: str, device: str):
    """The arithmetic ``rnalm embed --dtype`` uses (bfloat16: autocast, fp32 norms), as asked."""
    from rnalm.precision import resolve

    return resolve(dtype, torch.device(device), float16=True)


def run_rnalm_forward(model, alphabet, seqs, device, compute, tokens_per_batch=None):
    """rnalm's encoder alone, in the command's arithmetic: batches of 8 in input order, or rnalm's
    token-budget plan."""
    from rnalm.embedding.batching import Item, RecordMeta, batch_tensor, plan_batches
    from rnalm.embedding.loop import cpu_kernels

    items = [
        (RecordMeta(rid, i, len(s), len(s)), [Item(i, 0, np.asarray(alphabet.encode(s), dtype=np.int32))])
        for i, (rid, s) in enumerate(seqs)
    ]
    if tokens_per_batch is None:
        plan = [[its[0] for _, its in chunk] for chunk in batches_of(items, 8)]
    else:
        plan = [b.items for b in plan_batches(items, tokens_per_batch, 4096, 2)]
    L = model.num_layers
    t0 = time.perf_counter()
    with torch.inference_mode(), cpu_kernels(torch.device(device), compute.dtype):
        for batch in plan:
            tokens = batch_tensor(batch, alphabet).to(device)
            with compute.autocast():
                rep = model(tokens, repr_layers=[L], return_logits=False)["representations"][L]
            rep.float().cpu()
    _sync(device)
    return time.perf_counter() - t0


def embed_command(pth: Path, fasta: Path, out: Path, device: str, dtype: str, tokens_per_batch: int, threads):
    """``rnalm embed`` as a user runs it: a new process (start-up, model loading, validation,
    batching, per-token HDF5 writes)."""
    cmd = [sys.executable, "-m", "rnalm", "embed", "--model", str(pth), "-i", str(fasta), "-o", str(out)]
    cmd += ["--pool", "per-token", "--dtype", dtype, "--device", device, "--tokens-per-batch", str(tokens_per_batch)]
    cmd += ["--overwrite"] if out.exists() else []
    if threads:
        cmd += ["--threads", str(threads)]
    return cmd


def run_rnalm_embed(cmd: list[str]) -> tuple[float, str]:
    """Wall-clock seconds of the command, and its closing line."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return seconds, proc.stderr.strip().splitlines()[-1]


def in_call_seconds(line: str):
    """The seconds a closing line reports (``200 records in 46.7 s ...``): ``embed_file``'s own clock."""
    import re

    m = re.search(r" in ([0-9.]+) s ", line)
    return float(m.group(1)) if m else None


def read_per_token(out: Path, layers: int) -> dict:
    from rnalm.embedding import open_embeddings

    with open_embeddings(out) as emb:
        return {rid: emb[rid][f"layer_{layers}/per_token"] for rid in emb.ids}


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def useful_flops(seqs, layers, d=640, f=5120) -> float:
    """Linear layers (2 FLOPs per weight per token) and attention (QK^T and PV) of the real tokens."""
    total = 0.0
    for _, s in seqs:
        n = len(s) + 2
        total += layers * (n * 2 * (4 * d * d + 2 * d * f) + 4 * n * n * d)
    return total


def max_diff(a: dict, b: dict) -> float:
    return max(float(np.abs(a[k] - b[k]).max()) for k in a)


def cosines(ref: dict, got: dict) -> dict:
    """Per-token cosine similarity of ``got`` to ``ref`` (mean, min, 1st percentile)."""
    c = np.concatenate(
        [(ref[k] * got[k]).sum(1) / (np.linalg.norm(ref[k], axis=1) * np.linalg.norm(got[k], axis=1)) for k in ref]
    )
    return {"mean": float(c.mean()), "min": float(c.min()), "p1": float(np.percentile(c, 1))}


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
def devices(cuda_available: bool, no_gpu: bool, no_cpu: bool = False) -> list[str]:
    """The CPU (unless ``--no-cpu``), then CUDA when a GPU is visible and not switched off."""
    return ([] if no_cpu else ["cpu"]) + (["cuda"] if cuda_available and not no_gpu else [])


def dtypes_for(device: str, cpu_bf16: bool) -> list[str]:
    """float32 everywhere; bfloat16 where ``--dtype auto`` would pick it (or asked with ``--cpu-bf16``)."""
    from rnalm.precision import fast_bf16

    fast, _ = fast_bf16(torch.device(device))
    return ["float32"] + (["bfloat16"] if fast or (device == "cpu" and cpu_bf16) else [])


def bench_device(device: str, dtypes, seqs, layers, workdir: Path, tokens_per_batch: int, args) -> dict:
    """Every row on ``device``, interleaved: each round runs every system once, in the same order."""
    from rnalm.precision import matmul_peak

    fm_model, fm_alphabet = build_rnafm(layers, seed=0)
    pth = workdir / "RNA-FM_random.pth"
    save_published_pth(fm_model, pth, layers)
    model, alphabet, how = load_rnalm(pth, fm_model, layers)
    fm_model.to(device)
    model.to(device)
    fasta = workdir / "in.fa"
    fasta.write_text("".join(f">{r}\n{s}\n" for r, s in seqs))
    peaks = {d: matmul_peak(getattr(torch, d), device) for d in ("float32", "bfloat16")}
    print(
        f"{device}: 1024^3 matmul peak fp32 {peaks['float32'] / 1e9:,.0f} GFLOP/s, bf16 "
        f"{peaks['bfloat16'] / 1e9:,.0f} GFLOP/s",
        flush=True,
    )
    outs: dict = {}
    systems = []  # (name, dtype, batching, run() -> seconds)

    def rnafm():
        t, outs["rna-fm"] = run_rnafm(fm_model, fm_alphabet, seqs, layers, device)
        return t

    systems.append(("rna-fm `fm.BioBertModel`", "float32", "8 per batch, input order", rnafm))
    try:
        mm, lut, pad = build_multimolecule(fm_model, fm_alphabet, layers)
        mm.to(device)

        def multimolecule():
            t, outs["multimolecule"] = run_multimolecule(mm, lut, pad, fm_alphabet, seqs, device)
            return t

        systems.append(("multimolecule `RnaFmModel` (sdpa)", "float32", "8 per batch, input order", multimolecule))
    except ImportError as exc:
        print(f"multimolecule: not installed ({exc}); its row is left out", flush=True)
    encoders = {}
    for dtype in dtypes:
        compute = rnalm_compute(dtype, device)
        encoders[dtype] = (compute.prepare(copy.deepcopy(model), torch.device(device)), compute)
        systems.append(
            (
                "rnalm encoder",
                dtype,
                f"token budget {tokens_per_batch}, length-sorted",
                lambda m=encoders[dtype]: run_rnalm_forward(m[0], alphabet, seqs, device, m[1], tokens_per_batch),
            )
        )
    lines: dict = {}
    for dtype in dtypes:
        out = workdir / f"out-{device}-{dtype}.h5"

        def embed(dtype=dtype, out=out):
            t, lines[dtype] = run_rnalm_embed(
                embed_command(pth, fasta, out, device, dtype, tokens_per_batch, args.threads)
            )
            inside = in_call_seconds(lines[dtype])
            if inside is not None:  # what the closing line counts starts once the imports are done
                print(f"  (interpreter, imports {t - inside:.1f} s; embed_file {inside:.1f} s)", file=sys.stderr)
            outs[f"embed-{dtype}"] = read_per_token(out, layers)
            return t

        systems.append(("`rnalm embed` end to end (new process)", dtype, f"token budget {tokens_per_batch}", embed))

    # warm-up on two sequences (the commands start cold: their start-up is part of what they measure)
    run_rnafm(fm_model, fm_alphabet, seqs[:2], layers, device)
    for m, compute in encoders.values():
        run_rnalm_forward(m, alphabet, seqs[:2], device, compute, tokens_per_batch)

    tokens = sum(len(s) + 2 for _, s in seqs)
    flops = useful_flops(seqs, layers)
    seconds: dict = {}
    for r in range(args.rounds):
        for name, dtype, batching, fn in systems:
            t = fn()
            seconds.setdefault((name, dtype, batching), []).append(t)
            print(
                f"  round {r + 1}: {name} ({dtype}) [{batching}]: {t:.1f} s, {tokens / t:,.0f} tokens/s "
                f"(load {os.getloadavg()[0]:.1f})",
                file=sys.stderr,
                flush=True,
            )
    # measured again after the rows: one burst of ten products is easily caught by another process's
    # work on a shared machine, and a depressed peak would flatter every fraction of it
    again = {d: matmul_peak(getattr(torch, d), device) for d in ("float32", "bfloat16")}
    print(
        f"{device}: peak again fp32 {again['float32'] / 1e9:,.0f}, bf16 {again['bfloat16'] / 1e9:,.0f} GFLOP/s "
        f"(the higher of the two is used)",
        flush=True,
    )
    peaks = {d: max(peaks[d], again[d]) for d in peaks}
    t_fm = float(np.mean(seconds[systems[0][:3]]))
    rows = []
    for (name, dtype, batching), ts in seconds.items():
        t = float(np.mean(ts))
        rows.append(
            {
                "system": name,
                "dtype": dtype,
                "batching": batching,
                "seconds": t,
                "seconds_each_round": ts,
                "tokens_per_s": tokens / t,
                "vs_rnafm": t_fm / t,
                "fraction_of_peak": flops / t / peaks[dtype],
            }
        )
    res: dict = {
        "device": device,
        "tokens": tokens,
        "useful_flops": flops,
        "peaks": peaks,
        "rnalm_loaded_by": how,
        "rows": rows,
        "closing_lines": lines,
    }
    for key, got in outs.items():
        if key != "rna-fm":
            res[f"{key}_max_abs_diff_vs_rnafm"] = max_diff(got, outs["rna-fm"])
            res[f"{key}_cosine_vs_rnafm"] = cosines(outs["rna-fm"], got)
    for dtype in dtypes:  # the command against its own encoder (same arithmetic)
        enc = np.mean(seconds[("rnalm encoder", dtype, f"token budget {tokens_per_batch}, length-sorted")])
        cmd = np.mean(seconds[("`rnalm embed` end to end (new process)", dtype, f"token budget {tokens_per_batch}")])
        res[f"embed_vs_encoder_{dtype}"] = float(enc / cmd)
    return res


def markdown(res: dict) -> str:
    dev = res["device"]
    lines = [
        f"| system ({dev}) | dtype | batching | seconds | tokens/s | vs rna-fm | % of the dtype's matmul peak |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in res["rows"]:
        lines.append(
            f"| {r['system']} | {r['dtype']} | {r['batching']} | {r['seconds']:.1f} | {r['tokens_per_s']:,.0f} | "
            f"{r['vs_rnafm']:.2f}x | {100 * r['fraction_of_peak']:.0f}% |"
        )
    lines.append("")
    lines.append(
        f"1024^3 matmul peak: fp32 {res['peaks']['float32'] / 1e9:,.0f} GFLOP/s, bf16 "
        f"{res['peaks']['bfloat16'] / 1e9:,.0f} GFLOP/s; {res['tokens']:,} tokens, "
        f"{res['useful_flops'] / 1e12:.2f} TFLOP of useful work; rnalm model: {res['rnalm_loaded_by']}."
    )
    for k, v in res.items():
        if k.endswith("max_abs_diff_vs_rnafm"):
            lines.append(f"{k}: {v:.2e}")
        elif k.endswith("cosine_vs_rnafm"):
            lines.append(f"{k}: mean {v['mean']:.6f}, min {v['min']:.6f}, 1st pct {v['p1']:.6f}")
        elif k.startswith("embed_vs_encoder_"):
            lines.append(f"{k}: {v:.2f} (the command's tokens/s over its encoder's)")
    for dtype, line in res["closing_lines"].items():
        lines.append(f"closing line ({dtype}): {line}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: 2 layers, 24 short sequences, no --memory")
    p.add_argument("--n", type=int, default=None, help="number of sequences (default 200; quick 24)")
    p.add_argument("--layers", type=int, default=None, help="encoder layers (default 12; quick 2)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for every system (default: torch's)")
    p.add_argument("--rounds", type=int, default=1, help="rounds of all rows, interleaved (default 1)")
    p.add_argument("--tokens-per-batch", type=int, default=None, help="rnalm's budget (default: rnalm's default)")
    p.add_argument(
        "--memory",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also measure peak RSS on 1k and 20k records (default: on in full mode)",
    )
    p.add_argument(
        "--cpu-bf16", action="store_true", help="run the bfloat16 rows on a CPU without native bf16 too (slow there)"
    )
    p.add_argument(
        "--dtypes",
        nargs="+",
        choices=["float32", "bfloat16"],
        default=None,
        help="rnalm rows to run (default: float32, and bfloat16 where it runs natively or with --cpu-bf16)",
    )
    p.add_argument("--no-gpu", action="store_true", help="skip the GPU section even if CUDA is available")
    p.add_argument("--no-cpu", action="store_true", help="skip the CPU rows (a GPU session's device time is short)")
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
    from rnalm.precision import cpu_report

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
        "cpu": cpu_report(),
        "loadavg_start": os.getloadavg(),
        "torch": torch.__version__,
    }
    print(
        f"# embed throughput: {n} sequences (seed 1), lengths log-uniform {25}..{hi}, {layers} layers x 640 "
        f"(random weights, seed 0), {torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f}\n"
        f"# {cpu_report()}",
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
        print(f"FAIL: rnalm's float32 outputs differ from rna-fm's by more than {TOLERANCE}", file=sys.stderr)
        return 1
    return 0


def run_throughput(args, seqs, layers, work: Path, report: dict) -> bool:
    """The CPU (and GPU) throughput tables; returns True if rnalm's float32 outputs differ from rna-fm's."""
    from rnalm.embedding.options import DEFAULT_TOKENS_PER_BATCH

    failed = False
    for device in devices(torch.cuda.is_available(), args.no_gpu, args.no_cpu):
        tpb = args.tokens_per_batch or DEFAULT_TOKENS_PER_BATCH[device]
        if device == "cuda":
            print(f"\n# GPU: {torch.cuda.get_device_name()}", flush=True)
        dtypes = [d for d in dtypes_for(device, args.cpu_bf16 or bool(args.dtypes)) if d in (args.dtypes or [d])]
        res = bench_device(device, dtypes, seqs, layers, work, tpb, args)
        report[device] = res
        print(markdown(res), flush=True)
        failed |= res.get("embed-float32_max_abs_diff_vs_rnafm", 0.0) > TOLERANCE
    return failed


if __name__ == "__main__":
    sys.exit(main())
