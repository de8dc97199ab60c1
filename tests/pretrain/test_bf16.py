"""Pretraining in bfloat16 (``dtype``): recorded in the run, deterministic, and a resumed run keeps
the type it started with (older run folders, which say ``bf16: false``, continue in float32)."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from rnalm.errors import RnalmError
from rnalm.pretrain.config import PretrainConfig, dtype_choice
from rnalm.pretrain.trainer import pretrain

from .test_pretrain import _final_state, tiny_cfg, write_corpus


def test_identical_bf16_runs_give_identical_weights_and_record_the_type(tmp_path, capsys):
    corpus = write_corpus(tmp_path / "c.fa", n=40)
    pretrain(tiny_cfg(tmp_path / "a", corpus, dtype="bfloat16"))
    assert "[rnalm pretrain] precision: bfloat16 (asked" in capsys.readouterr().err
    pretrain(tiny_cfg(tmp_path / "b", corpus, dtype="bfloat16"))
    pretrain(tiny_cfg(tmp_path / "c", corpus, dtype="float32"))
    a, b, c = (_final_state(tmp_path / x / "run") for x in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)  # autocast was on: bf16 rounds differently
    assert all(v.dtype == torch.float32 for v in a.values())  # weights stay float32
    run = tmp_path / "a" / "run"
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["dtype"] == "bfloat16" and saved["bf16"] is None
    provenance = json.loads((run / "final" / "config.json").read_text())
    assert "bfloat16" in json.dumps(provenance)


def test_resume_keeps_the_recorded_type(tmp_path, capsys):
    corpus = write_corpus(tmp_path / "c.fa", n=40)
    cfg = tiny_cfg(tmp_path, corpus, dtype="float32", save_every=2)
    cfg.optim.max_steps = 4
    pretrain(cfg)
    saved = tmp_path / "run" / "config.yaml"
    data = yaml.safe_load(saved.read_text())
    del data["dtype"]
    data["bf16"] = False  # as rnalm wrote it before dtype existed
    saved.write_text(yaml.safe_dump(data))
    with pytest.raises(RnalmError, match="trained in float32"):
        pretrain(tiny_cfg(tmp_path, corpus, dtype="bfloat16"), resume=True)
    capsys.readouterr()
    pretrain(tiny_cfg(tmp_path, corpus), resume=True)  # dtype auto: the run's own float32
    err = capsys.readouterr().err
    assert "resumed from" in err and "precision: float32 (asked)" in err


def test_the_older_bf16_flag_meant_gpu_only():
    assert PretrainConfig(bf16=True, device="cuda").dtype_choice() == "bfloat16"
    assert PretrainConfig(bf16=True, device="cpu").dtype_choice() == "float32"
    assert PretrainConfig(bf16=False, device="cuda").dtype_choice() == "float32"
    assert PretrainConfig().dtype_choice() == "auto"
    assert dtype_choice("bfloat16", False, "cpu") == "bfloat16"  # an explicit dtype wins
