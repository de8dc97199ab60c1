"""`predict` input handling: the same readers and validation as `rnalm embed`."""

from __future__ import annotations

import csv

import pytest

from rnalm.finetune import finetune
from rnalm.io.seqio import SequenceFileError
from rnalm.runs.errors import DataError, RunDirError
from rnalm.runs.predict import Predictor
from rnalm.runs.prediction_table import predict_run_file

from .conftest import base_config


@pytest.fixture
def run_dir(tmp_path, regression_files):
    train, valid = regression_files
    cfg = base_config(
        tmp_path, train, valid, head={"type": "cnn", "pool": "mean", "filters": 4, "dense": 4}, train={"epochs": 1}
    )
    return finetune(cfg, log=lambda m: None).run_dir


def rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_inputs_in_every_layout(tmp_path, run_dir):
    (tmp_path / "a.fa").write_text(">x desc\nACGU\nACGU\n>y\nGGGCCC\n")
    (tmp_path / "b.csv").write_text("name,sequence\nx,ACGUACGU\ny,GGGCCC\n")
    (tmp_path / "c.csv").write_text("seq,label\nACGUACGU,1\nGGGCCC,2\n")  # the run's own columns, no ids
    (tmp_path / "d.tsv").write_text("utr\nACGUACGU\nGGGCCC\n")
    outs = [
        predict_run_file(run_dir, tmp_path / f, tmp_path / f"{f}.out.csv") and rows(tmp_path / f"{f}.out.csv")
        for f in ("a.fa", "b.csv", "c.csv", "d.tsv")
    ]
    assert [r["id"] for r in outs[0]] == ["x", "y"] and [r["id"] for r in outs[1]] == ["x", "y"]
    assert [r["id"] for r in outs[2]] == ["c_1", "c_2"] and [r["id"] for r in outs[3]] == ["d_1", "d_2"]
    preds = [[r["prediction"] for r in o] for o in outs]
    assert preds[0] == preds[1] == preds[2] == preds[3]  # same sequences, same predictions


def test_bad_prediction_inputs(tmp_path, run_dir):
    (tmp_path / "dup.fa").write_text(">x\nACGU\n>x\nGGCC\n")
    with pytest.raises(SequenceFileError, match="duplicate record id 'x'"):
        predict_run_file(run_dir, tmp_path / "dup.fa", tmp_path / "o.csv")
    (tmp_path / "e.csv").write_text("foo,bar\n1,2\n")
    with pytest.raises(SequenceFileError, match="seq_column="):
        predict_run_file(run_dir, tmp_path / "e.csv", tmp_path / "o.csv")
    (tmp_path / "bad.csv").write_text("id,seq\nx,ACGU\ny,AC-GU*\n")
    with pytest.raises(DataError, match=r"bad\.csv: record 'y' \(line 3\): invalid letter '\*' at position 6"):
        predict_run_file(run_dir, tmp_path / "bad.csv", tmp_path / "o.csv", strict=True)
    (run_dir / "model.safetensors").unlink()
    with pytest.raises(RunDirError, match="incomplete run"):
        Predictor(run_dir)


def test_moved_or_changed_backbone_is_refused(tmp_path, regression_files, tiny_lm_dir):
    import shutil

    train, valid = regression_files
    lm = tmp_path / "lm"
    shutil.copytree(tiny_lm_dir, lm)
    cfg = base_config(tmp_path, train, valid, backbone={"name": str(lm)}, train={"epochs": 1})
    run = finetune(cfg, log=lambda m: None).run_dir
    moved = tmp_path / "moved"
    lm.rename(moved)
    with pytest.raises(RunDirError, match="--backbone"):
        Predictor(run)
    assert Predictor(run, backbone=str(moved)).encoder is not None
    import torch

    from rnalm.api import load
    from rnalm.io.native import save_native

    enc, a = load(moved)
    with torch.no_grad():
        enc.layers[0].fc1.weight.add_(1.0)
    save_native(enc, a, tmp_path / "other")
    with pytest.raises(RunDirError, match="sha256"):
        Predictor(run, backbone=str(tmp_path / "other"))
