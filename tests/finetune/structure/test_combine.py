"""``python -m rnalm.finetune.structure.combine``: structure runs joined into one ensemble run whose
maps, threshold and validation figures are those of the mean of its members' maps."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest
import torch

from rnalm import shipped
from rnalm.finetune import finetune
from rnalm.finetune.structure import combine
from rnalm.io.permissions import current_umask
from rnalm.packaging import Options, package
from rnalm.packaging.check import check_entry
from rnalm.runs.structure_model import RunModel
from rnalm.structure.formats import write_dbn
from rnalm.structure.metrics import score_pairs
from rnalm.structure.pairs import dot_bracket_to_pairs, pairs_to_dot_bracket
from rnalm.structure.postprocess import postprocess
from rnalm.structure.threshold import read_record

from .conftest import planted_set, quiet, structure_config


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two single-model runs on the same split: one on the file alone, one with extra training rows
    (``data.extra_train``) and another seed; and a run whose head differs."""
    tmp = tmp_path_factory.mktemp("combine")
    write_dbn(planted_set(24), tmp / "train.dbn")
    write_dbn(planted_set(12, seed=7, prefix="x"), tmp / "extra.dbn")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a = finetune(structure_config(tmp / "a", tmp / "train.dbn", train={"lr": 2e-2}), log=quiet).run_dir
        b = finetune(
            structure_config(
                tmp / "b",
                tmp / "train.dbn",
                data={"extra_train": [str(tmp / "extra.dbn")]},
                train={"lr": 2e-2, "seed": 7},
            ),
            log=quiet,
        ).run_dir
        c = finetune(
            structure_config(tmp / "c", tmp / "train.dbn", head={"channels": 4}, train={"epochs": 1}), log=quiet
        ).run_dir
    finally:
        torch.set_num_threads(n)
    return a, b, c


def test_ensemble_maps_threshold_and_figures_are_the_mean_models(two_runs, tmp_path, capsys, one_thread):
    a, b, _ = two_runs
    out = tmp_path / "ens"
    assert combine.main([str(a), str(b), "-o", str(out), "--max-sequences", "12"]) == 0
    assert str(out) in capsys.readouterr().out
    info = json.loads((out / "run_info.json").read_text())
    assert info["members"] == [0, 1]
    assert [m["run"] for m in info["combined_from"]] == [str(a), str(b)]
    assert info["combined_from"][1]["data"]["extra_train"] and info["combined_from"][1]["seed"] == 7
    assert (out / "member_1" / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".ens.")]  # no temporary left

    seqs = [s.sequence for s in planted_set(5, seed=3)]
    ens = RunModel.load(out)(seqs)
    ma, mb = RunModel.load(a)(seqs), RunModel.load(b)(seqs)
    for e, x, y in zip(ens, ma, mb):
        np.testing.assert_allclose(e, (x + y) / 2, atol=1e-6)

    # the recorded threshold and validation figures are those of the mean maps on the first run's split
    rec = read_record(out)
    assert rec["n_sequences"] == 12 and rec["chosen_by"] == "python -m rnalm.finetune.structure.calibrate"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["postprocess"]["threshold"] == rec["threshold"]
    assert [m["valid"]["f1"] for m in metrics["members"]] == [
        json.loads((r / "metrics.json").read_text())["valid"]["f1"] for r in (a, b)
    ]
    preds, first = _rows(out / "predictions.csv"), _rows(a / "predictions.csv")
    assert [r["id"] for r in preds] == [r["id"] for r in first]  # the first run's validation rows
    maps = RunModel.load(out)([r["sequence"] for r in preds])
    f1 = []
    for r, p in zip(preds, maps):
        got = postprocess(p, None, rec["threshold"])
        assert pairs_to_dot_bracket(got, len(p)) == r["prediction"]
        f1.append(score_pairs(got, dot_bracket_to_pairs(r["label"]), len(p)).f1)
    assert metrics["valid"]["f1"] == pytest.approx(np.mean(f1), abs=1e-6)
    assert oct(os.stat(out).st_mode & 0o777) == oct(0o777 & ~current_umask())


def _rows(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_refusals_name_the_run_and_the_reason(two_runs, tmp_path, capsys):
    a, b, c = two_runs
    cases = [
        ([str(a), "-o", str(tmp_path / "x")], "two or more runs"),
        ([str(a), str(a), "-o", str(tmp_path / "x")], "named twice"),
        ([str(a), str(c), "-o", str(tmp_path / "x")], "head.channels"),
        ([str(a), str(tmp_path), "-o", str(tmp_path / "x")], "not a finished"),
        ([str(a), str(b), "-o", str(tmp_path)], "exists"),
    ]
    for argv, words in cases:
        assert combine.main(argv) == 2
        assert words in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_ensemble_ships_with_its_threshold_and_folds_as_its_runs_mean(two_runs, tmp_path, monkeypatch, one_thread):
    a, b, _ = two_runs
    out = tmp_path / "ens"
    combine.combine([a, b], out, max_sequences=12)
    root = tmp_path / "shipped"
    opts = Options(name="ens-fold", data_licence="CC0", check_size=6, include=("postprocess.json",))
    entry = package(out, opts, root, log=quiet)
    assert (root / "ens-fold" / "postprocess.json").read_text() == (out / "postprocess.json").read_text()
    assert sorted(p.name for p in (root / "ens-fold").glob("member_*")) == ["member_0", "member_1"]
    recorded, value = check_entry(entry)
    assert value == pytest.approx(recorded, abs=1e-4)
    monkeypatch.setenv(shipped.ENV_DIR, str(root))
    seqs = [s.sequence for s in planted_set(3, seed=5)]
    got = RunModel.load(root / "ens-fold")(seqs)
    for g, e in zip(got, RunModel.load(out)(seqs)):
        np.testing.assert_allclose(g, e, atol=2e-3)  # the shipped weights are stored in float16
