"""A small labelled set whose classes differ in composition, so every score is defined."""

from __future__ import annotations

import random

COMPOSITION = {"au_rich": "AAUUUAUAGC", "gc_rich": "GGCCGCGCAU", "mixed": "ACGUACGUAC"}


def labelled(n_per_class: int = 8, seed: int = 0) -> list[tuple[str, str, str]]:
    """``(id, sequence, label)`` rows, ``n_per_class`` per label, 20-40 nt."""
    rng = random.Random(seed)
    rows = []
    for label, letters in COMPOSITION.items():
        for i in range(n_per_class):
            seq = "".join(rng.choice(letters) for _ in range(rng.randint(20, 40)))
            rows.append((f"{label}_{i}", seq, label))
    return rows


def write_fasta(path, rows) -> None:
    path.write_text("".join(f">{rid} source=test type={lab}\n{seq}\n" for rid, seq, lab in rows))


def write_csv(path, rows) -> None:
    path.write_text("id,sequence,family\n" + "".join(f"{rid},{seq},{lab}\n" for rid, seq, lab in rows))
