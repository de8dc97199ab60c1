"""Fine-tuning in bfloat16 (``train.dtype``): recorded in the run, deterministic, resumable exactly,
with its own frozen-embedding cache entries; a resumed run keeps the type it started with."""

from __future__ import annotations

import json

import pytest
import yaml
from safetensors.torch import load_file

from rnalm.finetune import finetune
from rnalm.predictors import task
from rnalm.runs.errors import ConfigError

from .conftest import base_config
from .test_runner import Interrupt, quiet, read_csv


def bf16_config(tmp_path, train_file, valid_file, name, **sections):
    sections["train"] = {"dtype": "bfloat16", **sections.get("train", {})}
    return base_config(tmp_path, train_file, valid_file, output_dir=str(tmp_path / name), **sections)


def weights(run) -> dict:
    return load_file(str(run / "model.safetensors"))


def same_bytes(a, b) -> bool:
    return all((a / n).read_bytes() == (b / n).read_bytes() for n in ("model.safetensors", "predictions.csv"))


def test_frozen_backbone_bf16_runs_are_identical_and_recorded(tmp_path, regression_files, tiny_lm_dir):
    train, valid = regression_files
    kw = dict(backbone={"name": str(tiny_lm_dir)}, head={"type": "mlp"})
    logs: list[str] = []
    a = finetune(bf16_config(tmp_path, train, valid, "a", **kw), log=logs.append)
    assert any("60 computed, 0 from cache" in m for m in logs)  # the frozen embeddings, computed in bf16
    assert any(m.startswith("precision: bfloat16 (asked") for m in logs)
    b = finetune(bf16_config(tmp_path, train, valid, "b", backbone={**kw["backbone"], "cache": False}, head=kw["head"]))
    assert same_bytes(a.run_dir, b.run_dir)  # from the cache or computed again: the same bits
    info = json.loads((a.run_dir / "run_info.json").read_text())
    assert info["precision"]["dtype"] == "bfloat16" and a.precision.is_bf16
    assert yaml.safe_load((a.run_dir / "config.yaml").read_text())["train"]["dtype"] == "bfloat16"
    # float32 embeddings are cached apart: a float32 run computes its own, and trains to other weights
    logs.clear()
    c = finetune(base_config(tmp_path, train, valid, output_dir=str(tmp_path / "c"), **kw), log=logs.append)
    assert any("60 computed, 0 from cache" in m for m in logs)
    assert json.loads((c.run_dir / "run_info.json").read_text())["precision"]["dtype"] == "float32"
    wa, wc = weights(a.run_dir), weights(c.run_dir)
    assert any(not (wa[k] == wc[k]).all() for k in wa)


def test_full_finetuning_bf16_runs_are_identical(tmp_path, regression_files, tiny_lm_dir):
    train, valid = regression_files
    kw = dict(backbone={"name": str(tiny_lm_dir), "mode": "full"}, head={"type": "mlp", "pooling": "mean"})
    a = finetune(bf16_config(tmp_path, train, valid, "a", **kw), log=quiet)
    b = finetune(bf16_config(tmp_path, train, valid, "b", **kw), log=quiet)
    assert same_bytes(a.run_dir, b.run_dir)
    assert all(v.dtype.is_floating_point and v.element_size() == 4 for v in weights(a.run_dir).values())


def test_bf16_resume_gives_the_uninterrupted_result(tmp_path, regression_files):
    train, valid = regression_files
    kw = dict(
        head={"type": "cnn", "pool": "mean", "filters": 8, "dense": 8, "dropout": 0.3},
        train={"epochs": 4, "patience": 0},
    )
    full = finetune(bf16_config(tmp_path, train, valid, "a", **kw), log=quiet)
    cfg = bf16_config(tmp_path, train, valid, "b", **kw)
    with pytest.raises(KeyboardInterrupt):
        finetune(cfg, callbacks=[Interrupt(2)], log=quiet)
    with pytest.raises(ConfigError, match="trained in bfloat16"):
        finetune(tmp_path / "b", ["train.dtype=float32"], resume=True, log=quiet)
    resumed = finetune(tmp_path / "b", resume=True, log=quiet)
    assert resumed.precision.is_bf16
    assert same_bytes(full.run_dir, resumed.run_dir)


def test_a_run_saved_before_train_dtype_resumes_in_float32(tmp_path, regression_files):
    train, valid = regression_files
    kw = dict(head={"type": "cnn", "pool": "mean", "filters": 8, "dense": 8}, train={"epochs": 3, "patience": 0})
    cfg = base_config(tmp_path, train, valid, output_dir=str(tmp_path / "old"), **kw)
    with pytest.raises(KeyboardInterrupt):
        finetune(cfg, callbacks=[Interrupt(1)], log=quiet)
    saved = tmp_path / "old" / "config.yaml"
    data = yaml.safe_load(saved.read_text())
    del data["train"]["dtype"]  # as an older rnalm wrote it
    saved.write_text(yaml.safe_dump(data))
    resumed = finetune(tmp_path / "old", resume=True, log=quiet)
    assert resumed.precision.name == "float32"


def test_prediction_reads_only_embeddings_cached_in_its_own_type(tmp_path, regression_files, tiny_lm_dir):
    """Predicting from a bf16 run in bf16 reproduces its validation predictions from the bf16 cache
    entries; a float32 prediction computes its own instead of reading bf16 embeddings."""
    train, valid = regression_files
    kw = dict(backbone={"name": str(tiny_lm_dir), "cache_dir": str(tmp_path / "cache")}, head={"type": "mlp"})
    run = finetune(bf16_config(tmp_path, train, valid, "a", **kw), log=quiet).run_dir
    want = [float(r["prediction"]) for r in read_csv(run / "predictions.csv") if r["split"] == "valid"]
    records = [(r["id"], r["sequence"]) for r in read_csv(run / "predictions.csv") if r["split"] == "valid"]
    got = {}
    for dtype in ("bfloat16", "float32"):
        rows = task.from_run(run, device="cpu", log=quiet, dtype=dtype).predict(records)
        got[dtype] = [r["prediction"] for r in rows]
    assert got["bfloat16"] == pytest.approx(want, abs=1e-6)
    assert got["float32"] != got["bfloat16"]
