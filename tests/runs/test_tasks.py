from __future__ import annotations

import numpy as np
import pytest
import torch

from rnalm.runs.errors import ConfigError
from rnalm.runs.table import Records
from rnalm.runs.task_base import LabelState
from rnalm.runs.tasks import TASKS, get_task


def recs(labels) -> Records:
    r = Records()
    for i, lab in enumerate(labels):
        r.append(f"r{i}", "ACGU", lab, f"f:{i + 2}")
    return r


def test_regression_transform_scale_and_inverse():
    t = get_task("regression")
    st = t.fit(recs(["1", "10", "100"]), "label", "log10", True)
    y = t.targets(recs(["1", "10", "100"]), st)
    assert y.mean() == pytest.approx(0, abs=1e-6) and y.std() == pytest.approx(1, abs=1e-6)
    assert t.label_values(y, st) == pytest.approx([0, 1, 2], abs=1e-6)
    assert t.decode(y[:, None], st)["prediction"] == pytest.approx([0, 1, 2], abs=1e-6)
    assert LabelState.from_dict(st.to_dict()) == st
    loss = t.loss_fn("huber", 1.0)(torch.zeros(3, 1), torch.tensor([0.0, 2.0, -0.5]))
    assert float(loss) == pytest.approx((0 + 1.5 + 0.125) / 3)
    with pytest.raises(ConfigError, match="regression"):
        t.loss_fn("ce", 1.0)


def test_classification_classes_and_probabilities():
    t = get_task("classification")
    st = t.fit(recs(["1.0", "0", "10", "2", "0"]), "label", "none", False)
    assert st.classes == ["0", "1", "2", "10"]  # numeric order; "1.0" is class "1"
    y = t.targets(recs(["10", "1"]), st)
    assert y.tolist() == [3, 1]
    logits = np.array([[0.0, 0.0, 0.0, 5.0], [0.0, 3.0, 0.0, 0.0]])
    cols = t.decode(logits, st)
    assert cols["prediction"].tolist() == ["10", "1"]
    assert cols["prob_10"][0] == pytest.approx(np.exp(5) / (np.exp(5) + 3))
    assert t.default_metric(st) == "accuracy"
    assert set(TASKS) >= {"regression", "classification"}
