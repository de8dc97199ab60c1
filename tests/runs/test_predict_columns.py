"""Prediction columns are named for what they hold."""

from __future__ import annotations

from rnalm.runs.prediction_columns import name_from_label, positive_class, prediction_columns


def test_a_run_names_its_predictions_after_its_label_column_unless_the_name_is_generic():
    assert name_from_label("mrl") == "mrl" and name_from_label("Label") is None and name_from_label("y") is None
    assert prediction_columns("regression", [], "mrl").names == ["mrl"]
    assert prediction_columns("regression", [], None).names == ["prediction"]


def test_a_cross_validated_regression_adds_the_spread_of_its_fold_models():
    cols = prediction_columns("regression", [], "te_log", folds=5)
    assert cols.names == ["te_log", "te_log_std"]
    assert cols.rename({"prediction": 1.0, "prediction_std": 0.1}) == {"te_log": 1.0, "te_log_std": 0.1}


def test_a_binary_task_gives_the_probability_of_its_positive_class():
    assert positive_class(["0", "1"]) == "1" and positive_class(["True", "False"]) == "True"
    assert positive_class(["cat", "dog"]) is None
    cols = prediction_columns("classification", ["0", "1"], "ires")
    assert cols.names == ["ires_probability"]
    assert cols.rename({"prediction": "1", "prob_0": 0.2, "prob_1": 0.8}) == {"ires_probability": 0.8}
    assert prediction_columns("classification", ["0", "1"], None).names == ["probability"]


def test_class_probabilities_are_named_by_class():
    cols = prediction_columns("classification", ["tRNA", "miRNA", "5S_rRNA"], "family")
    assert cols.names == ["family", "prob_tRNA", "prob_miRNA", "prob_5S_rRNA"]
    assert prediction_columns("classification", ["cat", "dog"], None).names == ["prediction", "prob_cat", "prob_dog"]
