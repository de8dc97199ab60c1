"""``train.members``: an ensemble of models on one split, scored and predicted as their mean."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from scipy.stats import spearmanr

from rnalm.finetune import finetune
from rnalm.metrics import classification_metrics
from rnalm.runs.config_file import load_finetune_config
from rnalm.runs.errors import ConfigError
from rnalm.runs.predict import Predictor

from .conftest import base_config

CNN = {"type": "cnn", "pool": "mean", "filters": 4, "dense": 4}


def quiet(_msg: str) -> None:
    pass


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_regression_ensemble_is_the_mean_of_its_members(tmp_path, regression_files):
    train, valid = regression_files
    cfg = base_config(tmp_path, train, valid, head=CNN, train={"members": 3, "seed": 5})
    res = finetune(cfg, log=quiet)
    info = json.loads((res.run_dir / "run_info.json").read_text())
    assert info["members"] == [0, 1, 2] and info["folds"] is None
    members = res.metrics["members"]
    assert [m["seed"] for m in members] == [5, 6, 7]
    # different seeds give different models
    preds = [
        [float(r["prediction"]) for r in read_csv(res.run_dir / f"member_{i}" / "predictions.csv")] for i in range(3)
    ]
    assert not np.allclose(preds[0], preds[1])
    # the run's valid figure is the ensemble's: the mean of the members' predictions
    rows = read_csv(res.run_dir / "predictions.csv")
    labels = [float(r["label"]) for r in rows]
    ensemble = np.mean(preds, axis=0)
    assert [float(r["prediction"]) for r in rows] == pytest.approx(ensemble, abs=1e-4)
    assert res.metrics["valid"]["spearman"] == pytest.approx(spearmanr(labels, ensemble)[0], abs=1e-3)
    assert res.metrics["members_valid"]["spearman"]["n_folds"] == 3
    # rnalm predict combines the members the same way
    seqs = [r["sequence"] for r in rows]
    out = Predictor(res.run_dir, log=quiet).predict(seqs)
    assert out["prediction"] == pytest.approx(ensemble, abs=1e-4)
    assert out["prediction_std"] == pytest.approx(np.std(preds, axis=0), abs=1e-4)


def test_classification_ensemble_averages_probabilities(tmp_path, classification_file):
    cfg = base_config(
        tmp_path,
        classification_file,
        task="classification",
        data={"valid_fraction": 0.25},
        head=CNN,
        train={"members": 2},
    )
    res = finetune(cfg, log=quiet)
    member_rows = [read_csv(res.run_dir / f"member_{i}" / "predictions.csv") for i in range(2)]
    # both members were scored on the same hold-out (drawn by train.seed, not by the member's seed)
    assert [r["id"] for r in member_rows[0]] == [r["id"] for r in member_rows[1]]
    probs = np.mean([[[float(r["prob_0"]), float(r["prob_1"])] for r in rows] for rows in member_rows], axis=0)
    rows = read_csv(res.run_dir / "predictions.csv")
    assert [r["id"] for r in rows] == [r["id"] for r in member_rows[0]]
    assert [float(r["prob_1"]) for r in rows] == pytest.approx(probs[:, 1], abs=1e-4)
    y = np.array([int(r["label"]) for r in rows])
    assert res.metrics["valid"]["auroc"] == pytest.approx(classification_metrics(y, probs)["auroc"], abs=1e-3)


def test_resume_keeps_finished_members(tmp_path, regression_files):
    train, valid = regression_files
    cfg = base_config(tmp_path, train, valid, head=CNN, train={"members": 2})
    first = finetune(cfg, log=quiet)
    weights = (first.run_dir / "member_1" / "model.safetensors").read_bytes()
    (first.run_dir / "member_1" / "metrics.json").unlink()  # member 1 as if interrupted before it finished
    logs: list[str] = []
    again = finetune(str(first.run_dir), resume=True, log=logs.append)
    assert "member 0: already complete" in logs
    assert (again.run_dir / "member_1" / "model.safetensors").read_bytes() == weights
    assert again.metrics["valid"] == pytest.approx(first.metrics["valid"])


def test_resume_with_every_member_complete_recomputes_the_ensemble(tmp_path, regression_files):
    """A run stopped after its last member's files but before the ensemble's (or members joined from
    another run with the same recipe): resuming trains nothing and still scores the ensemble. It
    failed with 'valid: the labels were not fitted yet', as no member refitted them."""
    train, valid = regression_files
    cfg = base_config(tmp_path, train, valid, head=CNN, train={"members": 2})
    first = finetune(cfg, log=quiet)
    rows = read_csv(first.run_dir / "predictions.csv")
    (first.run_dir / "metrics.json").unlink()
    (first.run_dir / "predictions.csv").unlink()
    logs: list[str] = []
    again = finetune(str(first.run_dir), resume=True, log=logs.append)
    assert "member 0: already complete" in logs and "member 1: already complete" in logs
    assert again.metrics["valid"] == pytest.approx(first.metrics["valid"])
    assert read_csv(again.run_dir / "predictions.csv") == rows


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"cv": {"folds": 3}, "train": {"members": 2}}, "exclude each other"),
        ({"train": {"members": 0}}, "train.members"),
    ],
)
def test_bad_member_settings(tmp_path, regression_files, sections, message):
    train, _ = regression_files
    with pytest.raises(ConfigError, match=message):
        load_finetune_config(data=base_config(tmp_path, train, **sections))
