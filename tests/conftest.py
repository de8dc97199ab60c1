"""Shared fixtures: tiny models built in-process, so no test needs network or shared data."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

import rnalm
from rnalm import numerics
from rnalm.model import EncoderConfig, RNAEncoder
from rnalm.models.rnafm.alphabet import RNA_FM_ALPHABET

# What a library user does: fix the math libraries' mode before the first torch computation, so the
# whole suite (and every `rnalm` subprocess it starts, which inherits the environment) runs in it.
numerics.reproducible()


def merge_sections(cfg: dict, sections: dict) -> dict:
    """``cfg`` with test-specific config ``sections`` applied: a dict updates that section's keys,
    anything else replaces the top-level value."""
    for k, v in sections.items():
        if isinstance(v, dict):
            cfg.setdefault(k, {}).update(v)
        else:
            cfg[k] = v
    return cfg


#: A second process that takes an output's one-writer lock, says so, and holds it until its stdin closes.
_HOLD_LOCK = """import sys
from rnalm.io.output_guard import output_lock
with output_lock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.read()
"""


@contextmanager
def lock_held_by_child(path):
    """Run the ``with`` block while a child process holds ``path``'s rnalm output lock; yields its pid."""
    src = str(Path(rnalm.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout.readline().strip() == "locked"
        yield proc.pid
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0


@pytest.fixture
def child_lock():
    """:func:`lock_held_by_child`, as a fixture for test packages that cannot import this module."""
    return lock_held_by_child


@pytest.fixture
def tiny_rnafm():
    """A 2-layer RNA-FM-style encoder with random weights and its alphabet."""
    torch.manual_seed(0)
    a = RNA_FM_ALPHABET
    cfg = EncoderConfig(
        vocab_size=len(a),
        num_layers=2,
        embed_dim=32,
        ffn_embed_dim=64,
        attention_heads=4,
        max_positions=64,
        padding_idx=a.padding_idx,
        mask_idx=a.mask_idx,
        cls_idx=a.cls_idx,
        eos_idx=a.eos_idx,
    )
    model = RNAEncoder(cfg).reset_parameters().eval()
    return model, a.with_max_length(cfg.max_length)


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory):
    """A 2-layer, 16-wide RNA-FM-style model (4 heads: 8 attention maps) in rnalm's native format."""
    from rnalm.io.native import save_native

    torch.manual_seed(0)
    a = RNA_FM_ALPHABET
    cfg = EncoderConfig(
        vocab_size=len(a),
        num_layers=2,
        embed_dim=16,
        ffn_embed_dim=32,
        attention_heads=4,
        max_positions=64,
        padding_idx=a.padding_idx,
        mask_idx=a.mask_idx,
        cls_idx=a.cls_idx,
        eos_idx=a.eos_idx,
    )
    return save_native(RNAEncoder(cfg).reset_parameters().eval(), a, tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(autouse=True)
def _no_shipped_models(tmp_path_factory, monkeypatch):
    """Tests see no shipped models unless they ask for some (tests/shipped points $RNALM_SHIPPED_DIR at
    a folder it builds; tests/shipped/test_manifest.py reads the package's own manifest directly), so
    results do not depend on which real models the package ships."""
    from rnalm import shipped

    monkeypatch.setenv(shipped.ENV_DIR, str(tmp_path_factory.getbasetemp() / "no-shipped-models"))
