"""Fixtures for the fine-tuning tests: small synthetic datasets with a learnable signal, written into
temporary directories (the tiny native checkpoint, ``tiny_lm_dir``, is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ..conftest import merge_sections


def random_seq(rng: np.random.Generator, lo: int = 12, hi: int = 30) -> str:
    return "".join(rng.choice(list("ACGU"), int(rng.integers(lo, hi))))


def gc_label(seq: str) -> float:
    """A label a model can learn quickly: GC fraction (x10)."""
    return 10.0 * sum(c in "GC" for c in seq) / len(seq)


def write_csv(path: Path, rows: list[tuple], header: str = "seq,label") -> Path:
    with open(path, "w") as fh:
        fh.write(header + "\n")
        for r in rows:
            fh.write(",".join(str(x) for x in r) + "\n")
    return path


@pytest.fixture
def regression_files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    seqs = [random_seq(rng) for _ in range(60)]
    rows = [(s, f"{gc_label(s):.4f}") for s in seqs]
    return write_csv(tmp_path / "train.csv", rows[:48]), write_csv(tmp_path / "valid.csv", rows[48:])


@pytest.fixture
def classification_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    rows = []
    for _ in range(60):
        s = random_seq(rng)
        rows.append((s, int(gc_label(s) > 5.0)))
    return write_csv(tmp_path / "cls.csv", rows)


def base_config(tmp_path: Path, train_file: Path, valid_file: Path | None = None, **sections) -> dict:
    """A fast config: 2 epochs, one thread, no figures, a private embedding cache, float32 (the
    bfloat16 runs have tests of their own: test_bf16.py)."""
    cfg = {
        "output_dir": str(tmp_path / "run"),
        "plots": False,
        "data": {"train": str(train_file), **({"valid": str(valid_file)} if valid_file else {})},
        "backbone": {"cache_dir": str(tmp_path / "cache")},
        "train": {"epochs": 2, "batch_size": 16, "threads": 1, "lr": 3e-3, "logging_steps": 2, "dtype": "float32"},
    }
    return merge_sections(cfg, sections)
