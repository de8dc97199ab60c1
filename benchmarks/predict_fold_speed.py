"""``rnalm predict --task te`` and ``rnalm fold`` (the shipped model) against their peers, in one run.

Peers, interleaved A B A B in the same run: the same commands run from another checkout
(``--base SRC``: its ``src`` folder, e.g. a ``git worktree`` of the previous commit) and, for fold,
ViennaRNA's MFE (``RNA.fold_compound(seq).mfe()`` per record, what ``RNAfold`` computes, in a
process of its own, start-up included). Every command is a fresh process (start-up included);
wall, user and system seconds come from ``os.wait4``. Also printed: the CPU's flags and the fp32 /
bf16 peak of a 1024^3 matmul on the threads torch uses here, measured in the same run.

``--accuracy`` instead compares bfloat16 with float32 outputs of every shipped task model on its
validation file and of the fold model on the fold records (no timing).

    flock /tmp/bench.lock python benchmarks/predict_fold_speed.py \\
        --te ../shared/data/utr5_te_hek/valid.csv --fold-jsonl ../shared/data/ss_bprna/VL0.jsonl \\
        --base /tmp/base/src --repeats 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from rnalm.precision import cpu_report, matmul_peak

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], src: Path, env_extra: dict | None = None) -> dict:
    """Run ``cmd`` with ``src`` first on PYTHONPATH; wall, user, sys seconds."""
    env = {**os.environ, "PYTHONPATH": str(src), **(env_extra or {})}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    last = [ln for ln in err.splitlines() if ln.strip()][-1:] or [""]
    return {"wall": wall, "user": ru.ru_utime, "sys": ru.ru_stime, "minflt": ru.ru_minflt, "line": last[0]}


VIENNA_MFE = """
import sys, RNA
for line in open(sys.argv[1]):
    if not line.startswith(">"):
        RNA.fold_compound(line.strip().upper().replace("T", "U")).mfe()
"""


#: glibc keeps up to 1 GiB of freed memory and serves blocks up to 32 MiB from its heap
MALLOC_KEEP = "glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=33554432"


def fasta_from_jsonl(path: Path, n: int, out: Path) -> int:
    rows = [json.loads(line) for line in path.open()][:n]
    out.write_text("".join(f">{r['id']}\n{r['sequence']}\n" for r in rows))
    return len(rows)


def speed(args: argparse.Namespace) -> None:
    py = sys.executable
    src = ROOT / "src"
    tmp = Path(tempfile.mkdtemp(prefix="pf_speed_"))
    fa = tmp / "fold.fa"
    n_fold = fasta_from_jsonl(Path(args.fold_jsonl), args.fold_n, fa)
    n_te = 0 if args.no_predict else sum(1 for _ in open(args.te)) - 1
    runs: dict[str, tuple[list[str], Path]] = {}
    te = ["-m", "rnalm", "predict", "--task", "te", "-i", args.te, "--overwrite", "-q"]
    fold = ["-m", "rnalm", "fold", "-i", str(fa), "-q"]
    for dt in ("float32", "auto") if not args.no_predict else ():
        runs[f"predict te, this code, --dtype {dt}"] = ([py, *te, "-o", str(tmp / "te.csv"), "--dtype", dt], src)
    if args.base and not args.no_predict:
        runs["predict te, base code"] = ([py, *te, "-o", str(tmp / "te_base.csv")], Path(args.base))
    if not args.no_fold:
        runs["fold VL0, ViennaRNA MFE (RNAfold)"] = ([py, "-c", VIENNA_MFE, str(fa)], src)
        for dt in ("float32", "auto"):
            runs[f"fold VL0, this code, --dtype {dt}"] = ([py, *fold, "--dtype", dt], src)
        if args.fold_malloc:  # glibc keeps freed memory instead of returning it (page faults)
            runs["fold VL0, this code, --dtype float32, GLIBC_TUNABLES"] = ([py, *fold, "--dtype", "float32"], src)
        if args.base and not args.no_base_fold:
            runs["fold VL0, base code, --dtype float32"] = ([py, *fold, "--dtype", "float32"], Path(args.base))
    times: dict[str, list[dict]] = {k: [] for k in runs}
    for rep in range(args.repeats):
        for name, (cmd, where) in runs.items():  # interleaved: A B C A B C
            r = timed(cmd, where, {"GLIBC_TUNABLES": MALLOC_KEEP} if name.endswith("GLIBC_TUNABLES") else None)
            times[name].append(r)
            print(
                f"  rep {rep + 1} {name}: {r['wall']:.1f} s wall, {r['user']:.1f} user, {r['sys']:.1f} sys, "
                f"{r['minflt']} minor faults; load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    print(f"\nrecords: predict {n_te} ({args.te}), fold {n_fold} (first {n_fold} of {args.fold_jsonl})")
    print("| run | wall s (best of reps) | user s | sys s | minor faults | records/s | closing line |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    best = {k: min(v, key=lambda r: r["wall"]) for k, v in times.items()}
    for k, r in best.items():
        n = n_te if k.startswith("predict") else n_fold
        print(
            f"| {k} | {r['wall']:.1f} | {r['user']:.1f} | {r['sys']:.1f} | {r['minflt']} | {n / r['wall']:.1f} "
            f"| {r['line'][:90]} |"
        )
    vienna = best.get("fold VL0, ViennaRNA MFE (RNAfold)")
    base_te = best.get("predict te, base code")
    base_fold = best.get("fold VL0, base code, --dtype float32")
    print()
    for k, r in best.items():
        if k.startswith("fold") and vienna is not None and r is not vienna:
            print(f"{k}: {r['wall'] / vienna['wall']:.2f}x RNAfold MFE's time")
        if k.startswith("fold VL0, this") and base_fold is not None:
            print(f"{k}: {base_fold['wall'] / r['wall']:.2f}x the base code's rate")
        if k.startswith("predict te, this") and base_te is not None:
            print(f"{k}: {base_te['wall'] / r['wall']:.2f}x the base code's rate")


def accuracy(args: argparse.Namespace) -> None:
    """bf16 against fp32: every shipped task model on its validation file, the fold model on VL0."""
    import numpy as np
    from scipy.stats import spearmanr

    from rnalm import shipped
    from rnalm.finetune.run_splits import validation_records
    from rnalm.predictors import fold as fold_predictors
    from rnalm.predictors import task
    from rnalm.structure.checks import check_sequence
    from rnalm.structure.metrics import score_pairs

    for alias in args.tasks:
        entry = shipped.task_entry(alias)
        recs, _, where = validation_records(entry.path)
        rows = list(zip(recs.ids, recs.seqs))
        labels = [str(x).strip() for x in recs.labels]
        out, prec = {}, ""
        for dt in ("float32", "bfloat16"):
            p = task.from_shipped(entry, device="cpu", log=lambda _m: None, dtype=dt)
            out[dt] = p.predict(rows)
            cols, prec = p.columns.names, p.precision.summary()
        name = cols[0]
        a, b = [r[name] for r in out["float32"]], [r[name] for r in out["bfloat16"]]
        ok = [i for i in range(len(a)) if a[i] is not None]
        print(f"{alias} ({entry.name}; {len(ok)} validation records, {where}); bf16 run: {prec}")
        if isinstance(a[ok[0]], str):  # classification
            probs = [c for c in cols if c.startswith("prob_")]
            agree = np.mean([a[i] == b[i] for i in ok])
            diff = max(abs(float(out["float32"][i][c]) - float(out["bfloat16"][i][c])) for i in ok for c in probs)
            acc = {dt: np.mean([out[dt][i][name] == labels[i] for i in ok]) for dt in out}
            print(
                f"  label agreement {agree:.4f}; max prob diff {diff:.4f}; accuracy fp32 {acc['float32']:.4f} "
                f"bf16 {acc['bfloat16']:.4f}"
            )
        else:
            fa, fb = np.array([a[i] for i in ok], float), np.array([b[i] for i in ok], float)
            y = np.array([float(labels[i]) for i in ok])
            kind = "probability" if name.endswith("probability") else "value"
            line = (
                f"  spearman(bf16, fp32) {spearmanr(fa, fb).correlation:.5f}; max abs diff {np.abs(fa - fb).max():.4f}"
            )
            if kind == "probability":
                from sklearn.metrics import roc_auc_score

                line += f"; AUROC fp32 {roc_auc_score(y, fa):.4f} bf16 {roc_auc_score(y, fb):.4f}"
            else:
                line += (
                    f"; validation spearman fp32 {spearmanr(fa, y).correlation:.4f} "
                    f"bf16 {spearmanr(fb, y).correlation:.4f}"
                )
            print(line)
    if args.fold_jsonl:
        rows = [json.loads(line) for line in open(args.fold_jsonl)][: args.fold_n]
        recs = [(r["id"], check_sequence(r["id"], r["sequence"], "N")) for r in rows]
        res = {}
        for dt in ("float32", "bfloat16"):
            p = fold_predictors.choose(None, dtype=dt)
            keep = [(rid, s) for rid, s in recs if p.window is None or len(s) <= p.window]
            preds = []
            for i in range(0, len(keep), 8):
                preds += p(keep[i : i + 8])
            res[dt] = preds
        truth = {r["id"]: {(i - 1, j - 1) for i, j in r["pairs"]} for r in rows}  # 1-based in the file
        f1 = {dt: [score_pairs(pr.structure.pairs, truth[pr.structure.id]).f1 for pr in res[dt]] for dt in res}
        same = np.mean([x.structure.dot_bracket() == y.structure.dot_bracket() for x, y in zip(*res.values())])
        print(
            f"fold ({len(res['float32'])} VL0 records): mean F1 fp32 {np.mean(f1['float32']):.4f}, "
            f"bf16 {np.mean(f1['bfloat16']):.4f} (difference {np.mean(f1['bfloat16']) - np.mean(f1['float32']):+.4f}); "
            f"identical dot-brackets {same:.4f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--te", default="../shared/data/utr5_te_hek/valid.csv")
    ap.add_argument("--fold-jsonl", default="../shared/data/ss_bprna/VL0.jsonl")
    ap.add_argument("--fold-n", type=int, default=1305, help="first N records of the fold file")
    ap.add_argument("--base", help="src folder of the code to compare with (e.g. a worktree of the previous commit)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--no-fold", action="store_true")
    ap.add_argument("--no-base-fold", action="store_true", help="skip the base code's fold (slow)")
    ap.add_argument("--no-predict", action="store_true", help="fold only")
    ap.add_argument(
        "--fold-malloc", action="store_true", help=f"also fold with GLIBC_TUNABLES={MALLOC_KEEP} (page faults)"
    )
    ap.add_argument("--accuracy", action="store_true", help="bf16 against fp32 outputs instead of timings")
    ap.add_argument("--tasks", nargs="*", default=["te", "halflife", "ires", "family"], help="for --accuracy")
    args = ap.parse_args()
    print(cpu_report())
    fp32, bf16 = matmul_peak(torch.float32) / 1e9, matmul_peak(torch.bfloat16) / 1e9
    print(
        f"torch threads {torch.get_num_threads()}; 1024^3 matmul peak: fp32 {fp32:.0f} GFLOP/s, bf16 {bf16:.0f} GFLOP/s"
    )
    if args.accuracy:
        accuracy(args)
    else:
        speed(args)


if __name__ == "__main__":
    main()
