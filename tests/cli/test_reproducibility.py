"""The same `rnalm finetune` command, run as separate processes, gives bit-identical
weights and predictions, and a run killed with SIGKILL and continued with --resume ends with exactly
the bytes of an uninterrupted run. Compared byte for byte, so a math library that rounds differently
from one process to the next makes these tests fail."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

N_RUNS = 4


def write_config(tmp_path: Path) -> Path:
    """A CNN on 300 labelled 40-60 nt sequences: small, but with enough steps per epoch to be killed mid-run."""
    rng = np.random.default_rng(7)
    lines = ["seq,label"]
    for _ in range(300):
        s = "".join(rng.choice(list("ACGU"), int(rng.integers(40, 60))))
        lines.append(f"{s},{10 * sum(c in 'GC' for c in s) / len(s) + rng.normal(0, 0.5):.4f}")
    (tmp_path / "train.csv").write_text("\n".join(lines[:251]) + "\n")
    (tmp_path / "valid.csv").write_text("\n".join(lines[:1] + lines[251:]) + "\n")
    cfg = {
        "data": {"train": str(tmp_path / "train.csv"), "valid": str(tmp_path / "valid.csv")},
        "head": {"type": "cnn", "pool": "mean", "filters": 16, "dense": 8, "dropout": 0.2},
        "train": {"epochs": 4, "batch_size": 16, "lr": 3e-3, "patience": 0, "threads": 2},
        "plots": False,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def rnalm(*args: str) -> list[str]:
    return [sys.executable, "-m", "rnalm", "finetune", "-q", *args]


def results(run: Path) -> dict[str, bytes]:
    return {name: (run / name).read_bytes() for name in ("model.safetensors", "predictions.csv")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, list[Path]]:
    """N_RUNS identical uninterrupted runs, as separate processes started together."""
    tmp = tmp_path_factory.mktemp("repro")
    config = write_config(tmp)
    dirs = [tmp / f"run{i}" for i in range(N_RUNS)]
    procs = [
        subprocess.Popen(
            rnalm("--config", str(config), "-o", str(d)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        for d in dirs
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-2000:]
    return config, dirs


@pytest.mark.slow
def test_identical_runs_give_identical_bytes(runs):
    _, dirs = runs
    assert json.loads((dirs[0] / "run_info.json").read_text())["numerics"]["reproducible"]
    first = results(dirs[0])
    for d in dirs[1:]:
        assert results(d) == first, f"{d.name} differs from {dirs[0].name}"


@pytest.mark.slow
def test_kill_9_and_resume_equals_uninterrupted(runs, tmp_path):
    config, dirs = runs
    run = tmp_path / "killed"
    proc = subprocess.Popen(
        rnalm("--config", str(config), "-o", str(run)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not list(run.glob("checkpoint-*")):
        time.sleep(0.005)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (run / "metrics.json").exists() and list(run.glob("checkpoint-*"))
    res = subprocess.run(rnalm("--resume", "-o", str(run)), check=False, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert results(run) == results(dirs[0])
