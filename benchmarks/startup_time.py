"""Start-up time of ``import rnalm`` and of ``rnalm`` commands, two source trees side by side.

Each measurement is one fresh interpreter (``sys.executable``, ``PYTHONPATH=TREE/src``), timed by
wall clock from spawn to exit; the trees alternate (A B A B ...) within each repetition, so a load
change on a shared machine falls on both. Measured, in each repetition:

* ``import torch`` -- the floor: every command that runs a model pays it (tree-independent);
* ``import rnalm``, and ``rnalm.predict`` read from a notebook (the function, not a call);
* ``rnalm --help`` and ``rnalm predict --help`` (``python -m rnalm``: the parser and its imports);
* ``rnalm predict --task te -i DATA -o OUT`` -- start-up plus the work (1,090 records by default),
  with the shipped te model of each tree;
* with ``--embed-model CKPT``: ``rnalm embed --model CKPT`` of 16 sequences of 100 nt, where loading a
  large checkpoint (RNA-FM's size: 99.5 M parameters) is most of the time.

Medians (and min, max) per tree and the ratio A/B are printed, with the CPU line of
:func:`rnalm.precision.cpu_report`. ``--threads N`` sets ``OMP_NUM_THREADS``/``MKL_NUM_THREADS``
in the children (default: unset, what a user gets).

Usage::

    flock /tmp/bench.lock python benchmarks/startup_time.py /work/wt-A /work/main --reps 5 --threads 1
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "utr5_te_hek" / "valid.csv"


def measurements(data: Path, out: Path, embed_model: Path | None = None) -> dict[str, list[str]]:
    """Name -> the arguments after the interpreter."""
    embed = {}
    if embed_model is not None:
        fasta = out.parent / "embed.fa"
        rng = random.Random(0)
        fasta.write_text("".join(f">s{i}\n{''.join(rng.choice('ACGU') for _ in range(100))}\n" for i in range(16)))
        embed["rnalm embed (large model)"] = [
            *("-m", "rnalm", "embed", "-q", "--model", str(embed_model), "-i", str(fasta)),
            *("-o", str(out.parent / "embed.h5"), "--dtype", "float32", "--overwrite"),
        ]
    return {
        **embed,
        "import rnalm": ["-c", "import rnalm"],
        "rnalm.predict (notebook)": ["-c", "import rnalm; rnalm.predict"],
        "rnalm --help": ["-m", "rnalm", "--help"],
        "rnalm predict --help": ["-m", "rnalm", "predict", "--help"],
        "rnalm predict --task te": ["-m", "rnalm", "predict", "--task", "te", "-i", str(data), "-o", str(out)],
    }


def timed(argv: list[str], env: dict[str, str], out: Path) -> float:
    out.unlink(missing_ok=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *argv], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trees", nargs=2, type=Path, metavar="TREE", help="two source trees (each with src/rnalm)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--data", type=Path, default=DATA, help=f"predict's input (default: {DATA})")
    ap.add_argument("--threads", type=int, default=None, help="OMP/MKL threads of the children (default: unset)")
    ap.add_argument(
        "--embed-model", type=Path, default=None, help="also time `rnalm embed --model` with this checkpoint"
    )
    args = ap.parse_args()
    trees = [t.resolve() for t in args.trees]
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RNALM_SHIPPED_DIR")}
    if args.threads is not None:
        base.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    envs = [{**base, "PYTHONPATH": str(t / "src")} for t in trees]

    sys.path.insert(0, str(trees[0] / "src"))
    from rnalm.precision import cpu_report

    print(cpu_report())
    threads = args.threads or "unset"
    print(f"python {sys.executable}; threads {threads}; {args.reps} repetitions; load {os.getloadavg()}")
    for name, tree in zip("AB", trees):
        print(f"{name}: {tree}")

    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "predictions.csv"
        cases = measurements(args.data, out, args.embed_model)
        for rep in range(args.reps):
            times.setdefault(("import torch", "-"), []).append(timed(["-c", "import torch"], base, out))
            for case, argv in cases.items():
                for name, env in zip("AB", envs):
                    times.setdefault((case, name), []).append(timed(argv, env, out))
            print(f"repetition {rep + 1}/{args.reps} done; load {os.getloadavg()[0]:.2f}", flush=True)

    print(f"\n{'seconds (median [min-max])':<28}{'A':>24}{'B':>24}{'A/B':>8}")
    floor = times[("import torch", "-")]
    print(f"{'import torch (floor)':<28}{summary(floor):>24}")
    for case in cases:
        a, b = times[(case, "A")], times[(case, "B")]
        print(f"{case:<28}{summary(a):>24}{summary(b):>24}{statistics.median(a) / statistics.median(b):>8.2f}")
    print("every run (s):")
    for (case, name), values in times.items():
        print(f"  {case} {name}: {' '.join(f'{v:.2f}' for v in values)}")


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"


if __name__ == "__main__":
    main()
