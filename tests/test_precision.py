"""``--dtype auto``: bfloat16 only where the device has native bf16, float32 elsewhere."""

from __future__ import annotations

import math

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


CPU = torch.device("cpu")


def test_float16_is_offered_only_where_asked_and_only_on_a_gpu(flags):
    flags()
    with pytest.raises(RnalmError, match="must be one of auto, float32, bfloat16$"):
        precision.resolve("float16", CPU)
    with pytest.raises(RnalmError, match="needs a GPU"):
        precision.resolve("fp16", CPU, float16=True)
    with pytest.raises(RnalmError, match="must be one of auto, float32, bfloat16, float16"):
        precision.resolve("int8", CPU, float16=True)
    assert precision.resolve("float16", "cuda", float16=True).mode == "cast"


def test_modes_summaries_and_what_auto_means_on_resume(flags):
    flags()
    p = precision.resolve("auto", CPU, float16=True)
    assert (p.name, p.mode, p.dtype) == ("float32", "float32", torch.float32)
    assert p.to_dict() == {"dtype": "float32", "reason": p.reason}
    flags("amx_bf16")
    p = precision.resolve(None, CPU, float16=True)
    assert (p.name, p.mode, p.dtype) == ("bfloat16", "autocast", torch.bfloat16)
    assert p.summary() == "bfloat16 (auto: CPU has amx_bf16)"
    assert p.summary(mode=True) == "bfloat16 autocast (auto: CPU has amx_bf16)"
    resumed = precision.resolve("auto", CPU, previous="float32")
    assert resumed.summary(mode=True) == "float32 (auto: as the interrupted run)"
    assert precision.resolve("bf16", CPU, previous="float32").name == "bfloat16"  # only auto follows it


def test_cuda_selection_without_a_gpu_reads_the_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *_: "Some GPU")
    p = precision.resolve("auto", torch.device("cuda"))
    assert (p.name, p.device_type, p.reason) == ("bfloat16", "cuda", "auto: Some GPU supports bf16")


def test_prepare_keeps_norms_in_float32_and_can_leave_the_weights_alone(tiny_rnafm):
    model, _ = tiny_rnafm
    p = precision.Precision("bfloat16", "asked")
    assert p.prepare(model, CPU, cast_weights=False) is model and not model.training
    assert {q.dtype for q in model.parameters()} == {torch.float32}
    p.prepare(model, CPU)
    assert model.layers[0].fc1.weight.dtype == torch.bfloat16
    assert model.layers[0].final_layer_norm.weight.dtype == torch.float32
    precision.Precision("float32", "asked").prepare(model, CPU)
    assert {q.dtype for q in model.parameters()} == {torch.float32}
    with precision.Precision("float16", "asked", "cuda").autocast():
        assert (torch.randn(2, 2) @ torch.randn(2, 2)).dtype == torch.float32  # cast, not autocast


def test_matmul_peak_is_the_rate_of_the_fastest_product():
    peak = precision.matmul_peak(torch.float32, n=64, reps=3)
    assert math.isfinite(peak) and peak > 0
    # a 64^3 product is 524,288 FLOP: faster than a microsecond would be past any CPU here
    assert peak < 2 * 64**3 / 1e-7
