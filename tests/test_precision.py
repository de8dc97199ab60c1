"""``--dtype auto``: bfloat16 only where the device has native bf16, float32 elsewhere."""

from __future__ import annotations

import pytest
import torch

from rnalm import precision
from rnalm.errors import RnalmError


@pytest.fixture
def flags(monkeypatch):
    def set_flags(*names: str) -> None:
        monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(names))

    return set_flags


def test_auto_follows_the_cpu_flags(flags):
    flags("avx2", "avx512f")
    p = precision.resolve("auto", "cpu")
    assert p.name == "float32" and p.dtype == torch.float32 and "lacks amx_bf16 and avx512_bf16" in p.reason
    flags("avx2", "amx_bf16")
    p = precision.resolve(None, "cpu")
    assert p.name == "bfloat16" and p.is_bf16 and p.reason == "auto: CPU has amx_bf16"
    flags("avx512_bf16")
    assert precision.resolve("auto", "cpu").is_bf16


def test_asked_types_are_kept_and_a_slow_choice_says_so(flags):
    flags("avx2")
    assert precision.resolve("float32", "cpu").summary() == "float32 (asked)"
    p = precision.resolve("bf16", "cpu")
    assert p.name == "bfloat16" and "slow here" in p.reason
    assert precision.resolve("fp32", "cpu").name == "float32"


def test_unknown_choice_names_the_option_and_the_choices():
    with pytest.raises(RnalmError, match="auto, float32, bfloat16"):
        precision.resolve("float8", "cpu")


def test_autocast_runs_matrix_products_in_bf16_and_keeps_float32_for_float32():
    x = torch.randn(4, 8)
    w = torch.randn(8, 3)
    with precision.Precision("bfloat16", "asked").autocast():
        assert (x @ w).dtype == torch.bfloat16
    with precision.Precision("float32", "asked").autocast():
        assert (x @ w).dtype == torch.float32


def test_cpu_report_names_the_flags_benchmarks_need(flags):
    flags("avx2", "amx_bf16", "amx_tile")
    line = precision.cpu_report()
    assert "flags: avx2 amx_tile amx_bf16" in line and "lacks: avx512f avx512_bf16 amx_int8" in line
