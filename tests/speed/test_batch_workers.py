"""Frozen-backbone batches computed on worker threads: same bytes as on one thread, in order."""

import threading

import numpy as np
import pytest
import torch

from rnalm import shipped
from rnalm.precision import resolve
from rnalm.predictors import task
from rnalm.runs.backbones import FrozenFeatures, LMBackbone
from rnalm.runs.batch_workers import batch_workers, map_batches
from rnalm.runs.threads import inference_threads

SEQS = ["ACGUACGUAC", "GGGCCCAUAUAUGCGCAAU", "UUAG", "ACGUUGCA" * 5, "GCGCAUAU", "AUGGCAUUACG" * 3, "CCCGGG"]


@pytest.fixture
def two_threads():
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(old)


def test_each_batch_runs_on_one_thread_results_in_order_and_the_setting_comes_back(two_threads):
    seen: list[tuple[str, int]] = []

    def work(i: int) -> int:
        seen.append((threading.current_thread().name, torch.get_num_threads()))
        return i * i

    assert list(map_batches(work, range(9), workers=2)) == [i * i for i in range(9)]
    assert {n for _, n in seen} == {1} and all(name.startswith("rnalm-batch") for name, _ in seen)
    assert torch.get_num_threads() == 2
    assert batch_workers(torch.device("cpu"), 5) == 2 and batch_workers(torch.device("cpu"), 1) == 1
    assert batch_workers(torch.device("meta"), 5) == 1


def test_a_failing_batch_raises_and_the_setting_comes_back(two_threads):
    def work(i: int) -> int:
        if i == 3:
            raise ValueError("batch 3")
        return i

    with pytest.raises(ValueError, match="batch 3"):
        list(map_batches(work, range(6), workers=2))
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_frozen_features_on_workers_are_the_bytes_of_one_thread(tiny_rnafm, two_threads, dtype):
    """Several batches on 2 workers against the same batches on one thread; bfloat16 checks that the
    caller's autocast reaches the worker threads (it is thread-local)."""
    precision = resolve(dtype, torch.device("cpu"))
    backbone = LMBackbone(*tiny_rnafm, frozen=True)

    def features() -> dict:
        ff = FrozenFeatures(backbone, {"cls", "mean", "tokens"}, None, batch_size=2, precision=precision)
        ff.ensure(SEQS)
        return {s: (ff.pooled[s], ff.tokens[s]) for s in SEQS}

    with inference_threads(1):
        one = features()
    workers = features()
    for s in SEQS:
        assert np.array_equal(one[s][0], workers[s][0]) and np.array_equal(one[s][1], workers[s][1])
    if precision.is_bf16:  # autocast took effect: bfloat16 features differ from float32 ones
        fp32 = FrozenFeatures(backbone, {"cls", "mean"}, None, batch_size=2)
        fp32.ensure(SEQS)
        assert any(not np.array_equal(fp32.pooled[s], workers[s][0]) for s in SEQS)


def test_task_model_batches_on_workers_are_the_bytes_of_one_thread(two_threads, monkeypatch):
    monkeypatch.setenv(shipped.ENV_DIR, str(shipped.package_root()))
    model = task.from_shipped(shipped.task_entry("te"), device="cpu", log=lambda _m: None).model
    seqs = [s.replace("U", "T") for s in SEQS]
    with inference_threads(1):
        one = model.raw_outputs(seqs, batch_size=2)
    model.forget_features()
    workers = model.raw_outputs(seqs, batch_size=2)
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(one, workers))
