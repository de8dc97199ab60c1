"""Fixtures for ``rnalm embed`` tests: tiny native checkpoints and sequence files built in tmp_path."""

from __future__ import annotations

import pytest
import torch

from rnalm import precision
from rnalm.io.native import save_native
from rnalm.model import EncoderConfig, RNAEncoder
from rnalm.models.rnafm.alphabet import MRNA_FM_ALPHABET


@pytest.fixture(autouse=True)
def cpu_without_bf16(monkeypatch):
    """``--dtype auto`` means float32 here, so outputs compare exactly with float32 forwards on any
    machine; tests of the bf16 path ask for it or set the flags themselves."""
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset())


@pytest.fixture
def tiny_dir(tmp_path, tiny_rnafm):
    """The conftest tiny RNA-FM model saved in rnalm's native format; returns (path, model, alphabet)."""
    model, alphabet = tiny_rnafm
    path = save_native(model, alphabet, tmp_path / "tiny_model")
    return path, model, alphabet


@pytest.fixture
def tiny_mrnafm():
    """A 2-layer mRNA-FM-style (codon) encoder with random weights, max 32 codons."""
    torch.manual_seed(1)
    a = MRNA_FM_ALPHABET
    cfg = EncoderConfig(
        vocab_size=len(a),
        num_layers=2,
        embed_dim=24,
        ffn_embed_dim=48,
        attention_heads=3,
        max_positions=34,
        padding_idx=a.padding_idx,
        mask_idx=a.mask_idx,
        cls_idx=a.cls_idx,
        eos_idx=a.eos_idx,
    )
    model = RNAEncoder(cfg).reset_parameters().eval()
    return model, a.with_max_length(cfg.max_length)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models gain nothing from threads, and OpenMP spin-waits make them crawl on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
