"""``rnalm fold --run RUN_DIR`` on runs trained by ``rnalm finetune`` (task: structure)."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

from rnalm.cli import main
from rnalm.errors import RnalmError
from rnalm.finetune import finetune
from rnalm.runs.structure_model import load_run_model
from rnalm.structure.formats import read_bpseq, read_ct, read_dbn, write_dbn

from .conftest import planted_set, quiet, structure_config


def _fold(capsys, *argv):
    rc = main(["fold", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _valid_rows(run):
    with open(run / "predictions.csv", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["split"] == "valid"]


def _fasta(tmp_path, rows):
    p = tmp_path / "in.fa"
    p.write_text("".join(f">{r['id']}\n{r['sequence']}\n" for r in rows))
    return str(p)


@pytest.fixture(scope="module")
def onehot_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("onehot")
    write_dbn(planted_set(30), tmp / "train.dbn")
    import torch

    n = torch.get_num_threads()
    try:
        return finetune(structure_config(tmp, tmp / "train.dbn", train={"epochs": 3, "lr": 2e-2}), log=quiet).run_dir
    finally:
        torch.set_num_threads(n)


def test_fold_run_writes_files_and_reproduces_training_predictions(onehot_run, tmp_path, capsys):
    rows = _valid_rows(onehot_run)
    out = tmp_path / "out"
    rc, stdout, err = _fold(
        capsys,
        "--run",
        str(onehot_run),
        "--input",
        _fasta(tmp_path, rows),
        "--output",
        str(out),
        "--batch-size",
        "4",
        "--files",
        "ct,bpseq,dbn,npy",
    )
    assert rc == 0, err
    assert f"{len(rows)} records in" in err
    for r in rows:
        for ext in ("ct", "bpseq", "dbn", "npy"):
            assert (out / f"{r['id']}.{ext}").is_file()
        dbn = read_dbn(out / f"{r['id']}.dbn")[0]
        assert dbn == read_ct(out / f"{r['id']}.ct")[0] == read_bpseq(out / f"{r['id']}.bpseq")
        assert dbn.dot_bracket() == r["prediction"]  # the same model and post-processing as in training
        p = np.load(out / f"{r['id']}.npy")
        assert p.shape == (len(r["sequence"]),) * 2 and np.allclose(p, p.T) and (p >= 0).all() and (p <= 1).all()


def test_structure_run_errors(onehot_run, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(onehot_run, broken)
    (broken / "model.safetensors").unlink()
    with pytest.raises(RnalmError, match="no model.safetensors; the training did not finish"):
        load_run_model(broken)
    (broken / "config.yaml").unlink()
    with pytest.raises(RnalmError, match="not a finished `rnalm finetune` run"):
        load_run_model(broken)


def test_lm_run_with_attention_maps_and_missing_backbone(tiny_lm_path, tmp_path, capsys, one_thread):
    write_dbn(planted_set(16), tmp_path / "train.dbn")
    lm = tmp_path / "lm"
    shutil.copytree(tiny_lm_path, lm)
    cfg = structure_config(
        tmp_path,
        tmp_path / "train.dbn",
        backbone={"name": str(lm), "cache_dir": str(tmp_path / "c")},
        structure={"attention": True},
        train={"epochs": 1},
    )
    run = finetune(cfg, log=quiet).run_dir
    assert "attention_maps: 8" in (run / "config.yaml").read_text()  # 2 layers x 4 heads, resolved from the model
    info = json.loads((run / "run_info.json").read_text())
    assert set(info["head"]["needs"]) == {"attentions", "onehot", "tokens"}
    rows = _valid_rows(run)
    rc, _, err = _fold(
        capsys, "--run", str(run), "-i", _fasta(tmp_path, rows), "-o", str(tmp_path / "o"), "--files", "dbn"
    )
    assert rc == 0, err
    assert [read_dbn(tmp_path / "o" / f"{r['id']}.dbn")[0].dot_bracket() for r in rows] == [
        r["prediction"] for r in rows
    ]
    shutil.rmtree(lm)
    rc, _, err = _fold(capsys, "--run", str(run), "-i", _fasta(tmp_path, rows), "-o", str(tmp_path / "o2"))
    assert rc == 2 and "backbone" in err and "is not there any more" in err, err
