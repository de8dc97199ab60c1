"""``rnalm predict`` processing and wall time against another checkout, interleaved in one run.

A and B, alternating A B A B in the same run: this checkout's ``src`` and ``--base`` (another
checkout's ``src``, e.g. the main tree or a ``git worktree`` of the previous commit). Every command
is a fresh process, ``rnalm predict --task TASK -i FILE --dtype D``; reported per dtype:

* processing: the closing line's records / rate (reading, the model, writing; start-up excluded);
* wall: the whole process, start-up included (``os.wait4``), with user and system CPU seconds;
* tokens/s of processing (the letters each record was read for, from the output's ``read``
  column, plus ``<cls>``/``<eos>``) and the fraction of the machine's peak for that dtype, from
  the encoder's multiply-adds per token (linear layers and attention, the head left out);
* the largest difference of the predictions of A and B.

Also printed: ``rnalm.precision.cpu_report()`` and the peak of a 1024^3 matmul in float32 and
bfloat16 on torch's threads, measured in the same run, and the machine's load average around
each command (the cores are shared). ``--busy N`` keeps N processes spinning on the CPU during
the timed runs (the peak is measured before they start): predict on cores other work shares.

    flock /tmp/bench.lock python benchmarks/predict_speed.py \\
        --input ../shared/data/utr5_te_hek/valid.csv --base /work/main/src --rounds 3 [--busy 2]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from rnalm.precision import cpu_report, matmul_peak

ROOT = Path(__file__).resolve().parents[1]
CLOSING = re.compile(r"(\d+) records? in [\d.]+ s \(([\d.]+) records/s\)")


def encoder_flops(task: str, tokens_per_record: list[int]) -> float:
    """Multiply-adds x 2 of the task's encoder over these records (each record its own length)."""
    from rnalm import shipped
    from rnalm.api import resolve

    enc = json.loads((resolve(shipped.task_entry(task).backbone) / "config.json").read_text())["encoder"]
    c, f, n = enc["embed_dim"], enc["ffn_embed_dim"], enc["num_layers"]
    return float(sum(n * (2 * (4 * c * c + 2 * c * f) + 4 * t * c) * t for t in tokens_per_record))


def run(src: Path, task: str, inp: Path, out: Path, dtype: str, pycache: Path) -> dict:
    # both sides read compiled modules from a cache of their own (written by a warm-up run)
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONPYCACHEPREFIX": str(pycache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmd = [sys.executable, "-m", "rnalm", "predict", "--task", task, "-i", str(inp), "-o", str(out)]
    cmd += ["--overwrite", "--dtype", dtype]
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    m = CLOSING.search(err)
    if m is None:
        raise SystemExit(f"no closing line in:\n{err}")
    return {
        "processing": int(m.group(1)) / float(m.group(2)),
        "wall": wall,
        "user": ru.ru_utime,
        "sys": ru.ru_stime,
        "load": (load0 + os.getloadavg()[0]) / 2,
    }


def predictions(path: Path) -> tuple[list[float], list[int]]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    col = [c for c in rows[0] if c not in ("id", "seq", "sequence", "label", "length", "read", "note")][0]
    return [float(r[col]) for r in rows if r[col]], [int(r["read"]) + 2 for r in rows if r["read"]]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", required=True, help="CSV/FASTA to predict (e.g. utr5_te_hek/valid.csv)")
    p.add_argument("--task", default="te")
    p.add_argument("--base", required=True, help="the other checkout's src folder (B)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    p.add_argument(
        "--busy", type=int, default=0, help="processes spinning on the CPU during the runs (shared cores; default 0)"
    )
    args = p.parse_args()

    print(cpu_report())
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, load {os.getloadavg()}")
    peak = {"float32": matmul_peak(torch.float32) / 1e9, "bfloat16": matmul_peak(torch.bfloat16) / 1e9}
    print(f"peak 1024^3 matmul: float32 {peak['float32']:.0f} GFLOP/s, bfloat16 {peak['bfloat16']:.0f} GFLOP/s")
    sides = {"A (this tree)": ROOT / "src", f"B ({args.base})": Path(args.base)}
    tmp = Path(tempfile.mkdtemp(prefix="predict_speed_"))
    got: dict = {}
    outs: dict = {}
    with open(args.input) as fh:  # warm-up on the first records: compiled-module caches written
        head = "".join(line for _, line in zip(range(21), fh))
    (tmp / ("warm" + Path(args.input).suffix)).write_text(head)
    for i, src in enumerate(sides.values()):
        run(src, args.task, tmp / ("warm" + Path(args.input).suffix), tmp / "warm_out.csv", "float32", tmp / f"pyc{i}")
    spin = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    if spin:
        print(f"{len(spin)} busy processes spinning during the runs")
    try:
        rounds(args, sides, tmp, got, outs)
    finally:
        for proc in spin:
            proc.kill()
            proc.wait()
    report(args, sides, peak, got, outs)


def rounds(args: argparse.Namespace, sides: dict, tmp: Path, got: dict, outs: dict) -> None:
    for r in range(args.rounds):
        for dtype in args.dtypes:
            for side, src in sides.items():
                out = tmp / f"{len(outs)}.csv"
                res = run(src, args.task, Path(args.input), out, dtype, tmp / f"pyc{list(sides).index(side)}")
                got.setdefault((dtype, side), []).append(res)
                outs[(dtype, side)] = out
                print(
                    f"round {r} {dtype:8s} {side}: processing {res['processing']:6.2f} s, wall {res['wall']:6.2f} s "
                    f"(user {res['user']:.1f}, sys {res['sys']:.1f}), load {res['load']:.1f}",
                    flush=True,
                )


def report(args: argparse.Namespace, sides: dict, peak: dict, got: dict, outs: dict) -> None:
    print(f"\n{'dtype':9s} {'side':32s} {'proc s':>7s} {'wall s':>7s} {'tok/s':>8s} {'% peak':>7s}  (median; min)")
    for dtype in args.dtypes:
        preds, tokens = predictions(outs[(dtype, next(iter(sides)))])
        flops = encoder_flops(args.task, tokens)
        for side in sides:
            rs = got[(dtype, side)]
            proc = statistics.median(x["processing"] for x in rs)
            best = min(x["processing"] for x in rs)
            wall = statistics.median(x["wall"] for x in rs)
            pct = 100 * flops / proc / 1e9 / peak[dtype]
            print(
                f"{dtype:9s} {side:32s} {proc:7.2f} {wall:7.2f} {sum(tokens) / proc:8.0f} {pct:6.1f}%"
                f"  (min {best:.2f} s, {sum(tokens) / best:.0f} tok/s)"
            )
        a, _ = predictions(outs[(dtype, list(sides)[0])])
        b, _ = predictions(outs[(dtype, list(sides)[1])])
        diff = max(abs(x - y) for x, y in zip(a, b))
        print(f"{dtype}: {len(a)} records, {sum(tokens)} tokens, {flops / 1e9:.1f} GFLOP; max |A - B| {diff:.3g}")


if __name__ == "__main__":
    main()
