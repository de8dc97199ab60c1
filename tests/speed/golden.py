"""Writes or checks the byte-for-byte outputs of ``rnalm predict`` and ``rnalm fold`` (float32) on a
few records: faster code paths must give the same bytes. ``python tests/speed/golden.py --write``
records them in float32, as the test checks them (run with ``OMP_NUM_THREADS=1``, as the test suite runs)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from rnalm import numerics, shipped
from rnalm.cli import main

numerics.reproducible()  # as the test suite runs

HERE = Path(__file__).parent
EXPECTED = HERE / "golden.json"
#: short RNAs of mixed lengths (several batches, padding, an N, a T)
RECORDS = [
    ("r1", "GGGAAACCCAGCUUCGGCUGGG"),
    ("r2", "AUGCUAGCUAGCUAGGCUAGCAUCGAUCGAUCGGAUCGAUCGUAGCUAGCUAGCAUCGAUCGA"),
    ("r3", "GCGCUUCGGCGCAAAA"),
    ("r4", "UUAGCNGAUCGAUCGAUGCAUGCAUCGUACGAUGCUAGCUAGCUACGUACG"),
    ("r5", "GGGGAAAACCCCUUUUGGGGAAAACCCC"),
    ("r6", "ACGTACGTAGCTAGCTAGCTAGCATCGATCGATGCATGCATCGATCGTAGCTAGCTAGCATGCATCGATCGAUUUGCGCGCAAAUGC"),
    ("r7", "CCCCGGGGAAAAUUUUCCCCGGGG"),
    ("r8", "GAUCGAUCGAUCGAUCGAUCGAUCGAUCGAUCGAUCGAUCGAUCGAUC"),
    ("r9", "AGCUAGCUAGCUAGCUAGCUAGCUAGCUAGCUAGCUAGCUAGCUAGCUAGCUAGCUAGCUAGCUAGCUAGCUAGCUAGCUAGCUAGCUAGCUAGCU"),
    ("r10", "GCAUGCAUCGAUCGAUCGUAGCUAGCUAGCUAGC"),
    ("r11", "UUUUUUUUUUGGGGGGGGGGAAAAAAAAAACCCCCCCCCC"),
]
#: (name, extra arguments): every shipped neural task model and the shipped fold model
RUNS = [
    ("te", ["predict", "--task", "te"]),
    ("family", ["predict", "--task", "family"]),
    ("halflife", ["predict", "--task", "halflife"]),
    ("ires", ["predict", "--task", "ires"]),
    ("fold", ["fold", "--files", "ct,dbn,npy", "--batch-size", "3"]),
]


def produce(name: str, args: list[str], tmp: Path, extra: list[str] = ()) -> dict[str, str]:
    """sha256 of every file the command writes for :data:`RECORDS` (``extra``: more options)."""
    fasta = tmp / "in.fa"
    fasta.write_text("".join(f">{rid}\n{seq}\n" for rid, seq in RECORDS))
    out = tmp / name
    target = ["-o", str(out / "out.csv")] if args[0] == "predict" else ["-o", str(out)]
    if args[0] == "predict":
        out.mkdir(parents=True)
    assert main([*args, "-i", str(fasta), *target, "-q", *extra]) == 0
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


if __name__ == "__main__" and "--write" in sys.argv:
    import tempfile

    os.environ[shipped.ENV_DIR] = str(shipped.package_root())

    with tempfile.TemporaryDirectory() as d:
        found = {name: produce(name, args, Path(d), ["--dtype", "float32"]) for name, args in RUNS}
    EXPECTED.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    print(f"wrote {EXPECTED}")
