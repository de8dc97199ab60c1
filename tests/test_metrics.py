from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from rnalm.metrics import (
    classification_metrics,
    expected_calibration_error,
    greater_is_better,
    regression_metrics,
    summarize_folds,
)


def test_regression_metrics_match_references():
    rng = np.random.default_rng(0)
    y = rng.normal(size=50)
    p = y + rng.normal(scale=0.5, size=50)
    m = regression_metrics(y, p)
    assert m["mse"] == pytest.approx(skm.mean_squared_error(y, p))
    assert m["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)))
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(y, p))
    assert m["r2"] == pytest.approx(skm.r2_score(y, p))
    assert m["pearson"] == pytest.approx(stats.pearsonr(y, p)[0])
    assert m["spearman"] == pytest.approx(stats.spearmanr(y, p)[0])
    assert m["n"] == 50


def test_undefined_metrics_are_none():
    m = regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0]))
    assert m["pearson"] is None and m["spearman"] is None and m["mse"] == pytest.approx(2 / 3)
    c = classification_metrics(np.array([1, 1]), np.array([[0.2, 0.8], [0.6, 0.4]]))
    assert c["auroc"] is None and c["accuracy"] == 0.5


def test_classification_metrics_binary_and_multiclass():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 40)
    p1 = np.clip(y * 0.6 + rng.uniform(0, 0.5, 40), 0, 1)
    probs = np.stack([1 - p1, p1], 1)
    m = classification_metrics(y, probs)
    assert m["auroc"] == pytest.approx(skm.roc_auc_score(y, p1))
    assert m["auprc"] == pytest.approx(skm.average_precision_score(y, p1))
    assert m["f1"] == pytest.approx(skm.f1_score(y, probs.argmax(1)))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, probs))
    y3 = rng.integers(0, 3, 60)
    logits = rng.normal(size=(60, 3)) + 2 * np.eye(3)[y3]
    pr = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    m3 = classification_metrics(y3, pr)
    assert m3["auroc"] == pytest.approx(skm.roc_auc_score(y3, pr, multi_class="ovr", average="macro"))
    assert m3["log_loss"] == pytest.approx(skm.log_loss(y3, pr, labels=[0, 1, 2]))
    assert m3["f1"] == pytest.approx(skm.f1_score(y3, pr.argmax(1), average="macro"))


def test_fold_summary_and_direction():
    s = summarize_folds(
        [{"spearman": 0.5, "n": 3, "by_subset": {}}, {"spearman": 0.7, "n": 3}, {"spearman": None, "n": 3}]
    )
    assert set(s) == {"spearman"}
    assert s["spearman"]["mean"] == pytest.approx(0.6) and s["spearman"]["n_folds"] == 2
    assert s["spearman"]["std"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert not greater_is_better("mse") and not greater_is_better("eval_loss") and greater_is_better("auroc")


def test_expected_calibration_error_by_hand():
    # bin (0.9, 1.0]: confidences 0.95, 0.95, hits 1, 0 -> gap |0.5 - 0.95| = 0.45, 2 rows
    # bin (0.6, 0.7]: confidence 0.65, hit 1 -> gap 0.35, 1 row
    probs = np.array([[0.95, 0.05], [0.05, 0.95], [0.35, 0.65]])
    y = np.array([0, 0, 1])
    assert expected_calibration_error(y, probs, bins=10) == pytest.approx((2 * 0.45 + 0.35) / 3)
    # stated confidence equal to the hit rate in every bin: 0
    probs = np.array([[0.75, 0.25]] * 4)
    assert expected_calibration_error(np.array([0, 0, 0, 1]), probs) == pytest.approx(0.0)
