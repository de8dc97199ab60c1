"""``calibration.json``: the temperature a classification run's probabilities are reported at."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnalm.runs.calibration import CALIBRATION_FILE, Calibration, scale_probabilities
from rnalm.runs.errors import RunDirError


def test_a_temperature_softens_or_sharpens_and_keeps_each_row_s_order():
    p = np.array([[0.8, 0.2], [0.1, 0.9], [0.5, 0.5]])
    assert scale_probabilities(p, 1.0) is not None and np.array_equal(scale_probabilities(p, 1.0), p)
    soft = scale_probabilities(p, 2.0)
    # p ** (1/2) normalised: 0.8 -> sqrt(.8) / (sqrt(.8) + sqrt(.2)) = 2/3
    assert soft[0] == pytest.approx([2 / 3, 1 / 3]) and soft[2] == pytest.approx([0.5, 0.5])
    sharp = scale_probabilities(p, 0.5)
    assert sharp[0] == pytest.approx([0.64 / 0.68, 0.04 / 0.68])
    for q in (soft, sharp):
        assert np.allclose(q.sum(1), 1) and np.array_equal(q.argmax(1), p.argmax(1))
    many = np.random.default_rng(0).dirichlet(np.ones(5), size=50)
    assert np.allclose(scale_probabilities(many, 1e6), 0.2, atol=1e-4)  # very hot: uniform
    assert np.isfinite(scale_probabilities(np.array([[1.0, 0.0]]), 3.0)).all()  # an exact 0 is floored


def test_the_record_is_read_when_present_and_checked(tmp_path):
    assert Calibration.read(tmp_path) is None
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps({"method": "temperature", "temperature": 2.0}))
    cal = Calibration.read(tmp_path)
    assert cal is not None and cal.temperature == 2.0
    assert cal.apply(np.array([[0.8, 0.2]]))[0] == pytest.approx([2 / 3, 1 / 3])
    for bad in (
        {"method": "platt", "temperature": 2.0},
        {"method": "temperature", "temperature": 0},
        {"method": "temperature"},
    ):
        (tmp_path / CALIBRATION_FILE).write_text(json.dumps(bad))
        with pytest.raises(RunDirError, match=CALIBRATION_FILE):
            Calibration.read(tmp_path)
