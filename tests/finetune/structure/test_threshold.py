"""The base-pair threshold chosen on the training split: selection rule, training option,
``rnalm fold --run`` read-back, and ``python -m rnalm.finetune.structure.calibrate`` on trained runs."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
import torch

from rnalm.cli import main
from rnalm.finetune import finetune
from rnalm.finetune.structure import calibrate
from rnalm.runs.config import ConfigError
from rnalm.runs.config_file import load_finetune_config
from rnalm.structure.formats import read_dbn, write_dbn
from rnalm.structure.postprocess import postprocess
from rnalm.structure.threshold import (
    RECORD_FILE,
    THRESHOLD_GRID,
    choose_threshold,
    describe,
    pairs_by_threshold,
    read_record,
    subset_indices,
)

from .conftest import planted_set, quiet, structure_config


def _rows(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """A hold-out run trained at the fixed 0.5 and a 2-fold CV run with structure.select_threshold."""
    tmp = tmp_path_factory.mktemp("thr")
    write_dbn(planted_set(24), tmp / "train.dbn")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        plain = finetune(
            structure_config(tmp / "a", tmp / "train.dbn", train={"epochs": 2, "lr": 2e-2}), log=quiet
        ).run_dir
        cv = finetune(
            structure_config(
                tmp / "b", tmp / "train.dbn", cv={"folds": 2}, train={"epochs": 1}, structure={"select_threshold": True}
            ),
            log=quiet,
        ).run_dir
    finally:
        torch.set_num_threads(n)
    return plain, cv


# ------------------------------------------------------------------------------ selection rule
def test_greedy_grid_pass_equals_postprocess_at_each_threshold():
    rng = np.random.default_rng(0)
    for n in (1, 7, 30):
        p = rng.random((n, n)) ** 3
        grid = list(THRESHOLD_GRID) + [0.5]
        fast = pairs_by_threshold(p, grid)
        assert fast == [postprocess(p, None, t) for t in grid]


def test_choose_threshold_finds_the_known_answer():
    # true pairs at probability 0.3, everything else 0.12: only thresholds in [0.12, 0.3) recover
    # the structure exactly (0.15, 0.20, 0.25 on the grid); ties go to the one closest to 0.5
    structs = planted_set(6)
    probs = []
    for s in structs:
        p = np.full((len(s), len(s)), 0.12)
        for i, j in s.pairs:
            p[i, j] = p[j, i] = 0.3
        probs.append(p)
    c = choose_threshold(probs, [s.pairs for s in structs])
    assert c["threshold"] == 0.25 and c["f1"] == 1.0 and c["f1_t050"] == 0.0
    assert c["f1_by_threshold"]["0.15"] == 1.0 and c["f1_by_threshold"]["0.30"] == 0.0
    assert c["f1_by_threshold"]["0.10"] < 1.0  # the noise cells come in
    # a perfectly calibrated map keeps 0.5 (ties: closest to 0.5)
    exact = [np.where(p > 0.2, 0.9, 0.01) for p in probs]
    assert choose_threshold(exact, [s.pairs for s in structs])["threshold"] == 0.5


def test_subset_is_seeded_and_capped():
    assert subset_indices(10, 400, 1) == list(range(10))
    a = subset_indices(1000, 400, 3)
    assert len(a) == 400 and a == sorted(set(a)) and a == subset_indices(1000, 400, 3) != subset_indices(1000, 400, 4)


def test_select_threshold_is_for_structure_only(tmp_path):
    with pytest.raises(ConfigError, match="select_threshold.*task=structure.*regression"):
        load_finetune_config(
            data={"task": "regression", "data": {"train": "x.csv"}, "structure": {"select_threshold": True}}
        )
    cfg = load_finetune_config(
        data={"task": "structure", "data": {"train": "x.dbn"}, "structure": {"select_threshold": True}}
    )
    assert cfg.structure.select_threshold is True


# ------------------------------------------------------------------------------ training
def test_cv_training_records_fold_and_mean_thresholds(tiny_runs):
    _, cv = tiny_runs
    folds = [read_record(cv / f"fold_{i}") for i in (0, 1)]
    top = read_record(cv)
    assert all(r["source"] == "train" and r["threshold"] in THRESHOLD_GRID for r in folds)
    assert top["threshold"] == pytest.approx(np.mean([r["threshold"] for r in folds]))
    assert top["folds"] == {"0": folds[0]["threshold"], "1": folds[1]["threshold"]}
    m = json.loads((cv / "metrics.json").read_text())
    assert m["postprocess"]["threshold"] == top["threshold"]
    for i, f in enumerate(m["cv"]["per_fold"]):
        assert f["test"]["threshold"] == folds[i]["threshold"] and "f1_t050" in f["test"]
        assert f["postprocess"]["n_sequences"] == folds[i]["n_sequences"] <= f["n_train"]
    assert "f1_t050" in m["cv"]["mean_std"]
    assert describe(top) == f"{top['threshold']:.2f} (train)" and describe(None) == "0.50"


# ------------------------------------------------------------------------------ rnalm fold --run
def test_fold_run_uses_recorded_threshold_unless_given(tiny_runs, tmp_path, capsys):
    plain, _ = tiny_runs
    run = tmp_path / "run"
    shutil.copytree(plain, run)
    (run / RECORD_FILE).write_text(json.dumps({"threshold": 0.05, "source": "train", "n_sequences": 19}))
    rows = [r for r in _rows(run / "predictions.csv")][:4]
    fa = tmp_path / "in.fa"
    fa.write_text("".join(f">{r['id']}\n{r['sequence']}\n" for r in rows))
    assert main(["fold", "--run", str(run), "-i", str(fa), "-o", str(tmp_path / "o1"), "--files", "dbn,npy"]) == 0
    err = capsys.readouterr().err
    assert "threshold 0.05: chosen on the run's training split" in err
    for r in rows:
        p = np.load(tmp_path / "o1" / f"{r['id']}.npy")
        assert list(read_dbn(tmp_path / "o1" / f"{r['id']}.dbn")[0].pairs) == postprocess(p, None, 0.05)
    assert (
        main(
            [
                "fold",
                "--run",
                str(run),
                "-i",
                str(fa),
                "-o",
                str(tmp_path / "o2"),
                "--threshold",
                "0.5",
                "--files",
                "dbn,npy",
            ]
        )
        == 0
    )
    assert "chosen on the run's training split" not in capsys.readouterr().err
    for r in rows:
        p = np.load(tmp_path / "o2" / f"{r['id']}.npy")
        assert list(read_dbn(tmp_path / "o2" / f"{r['id']}.dbn")[0].pairs) == postprocess(p, None, 0.5)


# ------------------------------------------------------------------------------ calibrate
def test_calibrate_holdout_run_updates_metrics_and_keeps_t050(tiny_runs, tmp_path, capsys, one_thread):
    plain, _ = tiny_runs
    run = tmp_path / "run"
    shutil.copytree(plain, run)
    before = json.loads((run / "metrics.json").read_text())
    assert calibrate.main([str(run), "--max-sequences", "10"]) == 0
    line = capsys.readouterr().out.strip()
    rec = read_record(run)
    assert rec["n_sequences"] == 10 and rec["chosen_by"] == "python -m rnalm.finetune.structure.calibrate"
    assert f"threshold {rec['threshold']:.2f}" in line and "train F1" in line and "valid F1" in line
    after = json.loads((run / "metrics.json").read_text())
    v0, v1 = before["valid"], after["valid"]
    for k in ("f1", "precision", "recall", "mcc"):
        assert v1[f"{k}_t050"] == pytest.approx(v0[k], abs=1e-6)  # the 0.5 numbers are kept
    assert v1["threshold"] == rec["threshold"] and after["postprocess"]["f1_train"] == rec["f1_train"]
    assert after["notes"] == before["notes"] and after["n_train"] == before["n_train"]
    preds = _rows(run / "predictions.csv")
    assert len(preds) == before["n_valid"]
    assert np.mean([float(r["f1"]) for r in preds]) == pytest.approx(v1["f1"], abs=1e-5)
    # rnalm fold --run now uses the recorded threshold and reproduces predictions.csv
    fa = tmp_path / "in.fa"
    fa.write_text("".join(f">{r['id']}\n{r['sequence']}\n" for r in preds))
    argv = ["fold", "--run", str(run), "-i", str(fa), "-o", str(tmp_path / "o"), "-q", "--files", "dbn"]
    assert main(argv + ["--dtype", "float32"]) == 0
    for r in preds:
        assert read_dbn(tmp_path / "o" / f"{r['id']}.dbn")[0].dot_bracket() == r["prediction"]


def test_calibrate_cv_run_matches_training_selection(tiny_runs, tmp_path, capsys, one_thread):
    _, cv = tiny_runs
    run = tmp_path / "run"
    shutil.copytree(cv, run)
    trained = [read_record(run / f"fold_{i}") for i in (0, 1)]
    assert calibrate.main([str(run)]) == 0
    assert "mean of folds" in capsys.readouterr().out
    again = [read_record(run / f"fold_{i}") for i in (0, 1)]
    for a, b in zip(trained, again):  # the same training sequences, the same choice
        assert (a["threshold"], a["n_sequences"], a["subset_seed"]) == (
            b["threshold"],
            b["n_sequences"],
            b["subset_seed"],
        )
        assert a["f1_train"] == pytest.approx(b["f1_train"], abs=1e-6)
    m = json.loads((run / "metrics.json").read_text())
    assert m["postprocess"]["threshold"] == read_record(run)["threshold"]
    assert len(_rows(run / "predictions.csv")) == 24


def test_calibrate_refuses_other_runs(tmp_path, capsys):
    assert calibrate.main([str(tmp_path)]) == 2
    assert "not an `rnalm finetune` run directory" in capsys.readouterr().err


def test_threshold_is_chosen_on_data_train_rows_not_extra_ones(tmp_path, one_thread):
    # data.extra_train rows train the model, but the threshold is fitted to data.train's rows only
    write_dbn(planted_set(24), tmp_path / "train.dbn")
    write_dbn(planted_set(12, seed=7, prefix="x"), tmp_path / "extra.dbn")
    cfg = structure_config(
        tmp_path,
        tmp_path / "train.dbn",
        data={"extra_train": [str(tmp_path / "extra.dbn")]},
        train={"epochs": 1},
        structure={"select_threshold": True},
    )
    run = finetune(cfg, log=quiet).run_dir
    rec = read_record(run)
    n_joined = json.loads((run / "metrics.json").read_text())["n_train"]
    assert rec["extra_train_rows_left_out"] == 12
    assert rec["n_train"] == n_joined - 12 == rec["n_sequences"]  # every data.train training row, no extra one
