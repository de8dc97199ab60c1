"""``python -m rnalm.finetune.calibrate_probabilities``: a classification run's temperature, fitted on
its validation rows, then applied by every prediction with the run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnalm.finetune import finetune
from rnalm.finetune.calibrate_probabilities import cross_fitted, fit_temperature, main
from rnalm.metrics import classification_metrics
from rnalm.runs.calibration import CALIBRATION_FILE, scale_probabilities
from rnalm.runs.predict import Predictor

from .conftest import base_config
from .test_runner import quiet

HEAD = {"type": "cnn", "pool": "max", "filters": 4, "dense": 4, "conv_layers": 1}


def _overconfident(n: int, temperature: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from softmax(z) and the probabilities of a model that reports softmax(z * temperature)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, size=(n, 3))
    true = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in true])
    reported = np.exp(z * temperature) / np.exp(z * temperature).sum(1, keepdims=True)
    return y, reported


def test_the_fitted_temperature_undoes_a_known_overconfidence():
    y, probs = _overconfident(4000, 2.0)
    t = fit_temperature(y, probs)
    assert t == pytest.approx(2.0, rel=0.1)
    est = cross_fitted(y, probs, repeats=2)
    assert est["log_loss_after"] < est["log_loss_before"] and est["ece_after"] < est["ece_before"]
    assert len(est["half_temperatures"]) == 4
    y, probs = _overconfident(4000, 1.0, seed=1)  # already calibrated: T stays near 1
    assert fit_temperature(y, probs) == pytest.approx(1.0, abs=0.1)


def test_a_run_s_temperature_is_written_and_applied_by_its_predictions(tmp_path, classification_file, capsys):
    cfg = base_config(tmp_path, classification_file, task="classification", head=HEAD)
    cfg["data"]["valid_fraction"] = 0.3
    run = finetune(cfg, log=quiet).run_dir
    seqs = ["ACGUACGGGCCA", "GGGCCCGCGC", "AUAUAUAUUA"]
    before = Predictor(run, log=quiet).predict(seqs)
    assert main([str(run), "--repeats", "2"]) == 0
    assert capsys.readouterr().out.startswith("temperature ")
    record = json.loads((run / CALIBRATION_FILE).read_text())
    assert record["method"] == "temperature" and record["fitted_on"].startswith("18 rows held out of data.train")
    t = record["temperature"]
    probs = np.column_stack([before["prob_0"], before["prob_1"]])
    after = Predictor(run, log=quiet).predict(seqs)
    assert np.allclose(np.column_stack([after["prob_0"], after["prob_1"]]), scale_probabilities(probs, t))
    assert list(after["prediction"]) == list(before["prediction"])
    # the in-sample log-loss at T is the minimum over temperatures
    ins = record["in_sample"]
    assert ins["log_loss_after"] <= ins["log_loss_before"] + 1e-12
    assert set(record["cross_fitted"]) >= {"log_loss_before", "log_loss_after", "ece_before", "ece_after"}


def test_a_calibration_file_rnalm_did_not_write_is_left_alone(tmp_path, classification_file, capsys):
    cfg = base_config(tmp_path, classification_file, task="classification", head=HEAD)
    cfg["data"]["valid_fraction"] = 0.3
    run = finetune(cfg, log=quiet).run_dir
    assert main([str(run), "--repeats", "1"]) == 0  # its own record: a second fit may replace it
    first = (run / CALIBRATION_FILE).read_text()
    assert main([str(run), "--repeats", "2"]) == 0
    assert json.loads((run / CALIBRATION_FILE).read_text())["command"].endswith("--repeats 2") and first
    foreign = '{"method": "temperature", "temperature": 3.0, "note": "fitted by hand"}'
    (run / CALIBRATION_FILE).write_text(foreign)
    capsys.readouterr()
    assert main([str(run)]) == 2
    assert "was not written by" in capsys.readouterr().err
    assert (run / CALIBRATION_FILE).read_text() == foreign


def test_a_regression_run_is_refused(tmp_path, regression_files, capsys):
    train, valid = regression_files
    run = finetune(base_config(tmp_path, train, valid, head=HEAD), log=quiet).run_dir
    assert main([str(run)]) == 2
    assert "no class probabilities to calibrate" in capsys.readouterr().err
    assert not (run / CALIBRATION_FILE).exists()


def test_log_loss_of_the_scaled_probabilities_is_what_the_search_minimises():
    y, probs = _overconfident(500, 1.5, seed=2)
    t = fit_temperature(y, probs)
    at = classification_metrics(y, scale_probabilities(probs, t))["log_loss"]
    for other in (t * 0.8, t * 1.25):
        assert at <= classification_metrics(y, scale_probabilities(probs, other))["log_loss"]
