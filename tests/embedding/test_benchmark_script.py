"""benchmarks/embed_throughput.py: which devices and dtypes it measures (the GPU section included),
and a tiny end-to-end run on the CPU."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from rnalm import precision

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "embed_throughput.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("embed_throughput", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_devices_include_the_gpu_when_visible(bench):
    assert bench.devices(False, False) == ["cpu"]
    assert bench.devices(True, False) == ["cpu", "cuda"]
    assert bench.devices(True, True) == ["cpu"]
    assert bench.devices(True, False, no_cpu=True) == ["cuda"]


def test_bf16_rows_follow_the_hardware(bench, monkeypatch):
    assert bench.dtypes_for("cpu", cpu_bf16=False) == ["float32"]  # conftest: a CPU without bf16 units
    assert bench.dtypes_for("cpu", cpu_bf16=True) == ["float32", "bfloat16"]
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    assert bench.dtypes_for("cpu", cpu_bf16=False) == ["float32", "bfloat16"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *_: "GPU")
    assert bench.dtypes_for("cuda", cpu_bf16=False) == ["float32", "bfloat16"]
    c = bench.rnalm_compute("bfloat16", "cuda")
    assert (c.device_type, c.mode) == ("cuda", "autocast")


def test_the_command_line_it_times(bench, tmp_path):
    cmd = bench.embed_command(tmp_path / "m.pth", tmp_path / "in.fa", tmp_path / "o.h5", "cuda", "bfloat16", 65536, 2)
    assert cmd[1:4] == ["-m", "rnalm", "embed"]
    assert cmd[cmd.index("--dtype") + 1] == "bfloat16" and cmd[cmd.index("--device") + 1] == "cuda"
    assert "--overwrite" not in cmd and cmd[-2:] == ["--threads", "2"]


@pytest.mark.slow
def test_tiny_run_on_the_cpu(bench, tmp_path):
    pytest.importorskip("fm")
    out = tmp_path / "r.json"
    rc = bench.main(
        ["--quick", "--n", "4", "--layers", "1", "--no-memory", "--cpu-bf16", "--no-gpu", "--json", str(out)]
    )
    assert rc == 0
    import json

    rows = json.loads(out.read_text())["cpu"]["rows"]
    assert [(r["system"].split()[0], r["dtype"]) for r in rows if "multimolecule" not in r["system"]] == [
        ("rna-fm", "float32"),
        ("rnalm", "float32"),
        ("rnalm", "bfloat16"),
        ("`rnalm", "float32"),
        ("`rnalm", "bfloat16"),
    ]
