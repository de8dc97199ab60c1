"""Fixtures for structure training tests: planted-hairpin structures written as real files, a tiny
language model, and a config that trains in seconds on one thread."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from rnalm.structure.pairs import Structure

from ...conftest import merge_sections

COMPLEMENT = {"A": "U", "U": "A", "G": "C", "C": "G"}


def planted(rng: random.Random, rid: str, stem: int = 5) -> Structure:
    """A random 20-28 nt sequence holding one Watson-Crick stem of ``stem`` pairs around a 3-6 nt loop."""
    n = rng.randint(20, 28)
    loop = rng.randint(3, 6)
    start = rng.randint(0, n - 2 * stem - loop)
    seq = [rng.choice("ACGU") for _ in range(n)]
    pairs = []
    for k in range(stem):
        i, j = start + k, start + 2 * stem + loop - 1 - k
        seq[j] = COMPLEMENT[seq[i]]
        pairs.append((i, j))
    return Structure(rid, "".join(seq), tuple(pairs))


def planted_set(n: int, seed: int = 0, prefix: str = "s") -> list[Structure]:
    rng = random.Random(seed)
    return [planted(rng, f"{prefix}{k}") for k in range(n)]


def quiet(_msg: str) -> None:
    pass


def structure_config(tmp_path: Path, train_file, **sections) -> dict:
    """A fast structure config: a tiny pairwise head, 2 epochs, one thread, no figures."""
    cfg = {
        "task": "structure",
        "output_dir": str(tmp_path / "run"),
        "plots": False,
        "data": {"train": str(train_file), "valid_fraction": 0.2},
        "backbone": {"cache_dir": str(tmp_path / "cache")},
        "head": {"channels": 8, "blocks": 1, "reduction_dim": 8, "dropout": 0.0},
        "train": {"epochs": 2, "batch_size": 8, "threads": 1, "lr": 5e-3, "logging_steps": 2},
        "structure": {"pos_weight": 5.0},
    }
    return merge_sections(cfg, sections)


@pytest.fixture
def one_thread():
    # a shared 2-core machine: one thread avoids OpenMP oversubscription
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def tiny_lm_path(tiny_lm_dir) -> Path:
    """The shared tiny native LM (tests/conftest.py)."""
    return tiny_lm_dir
