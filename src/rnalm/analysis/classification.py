"""Type classification from pooled vectors, scored by stratified k-fold cross-validation.

Two classifiers that need no tuning: logistic regression on standardised features (linear
separability of the classes) and k nearest neighbours (k = 5, Euclidean, on standardised
features: local structure). The folds are stratified and shuffled with the seed, so every
representation is scored on the same splits. Reported: accuracy and macro F1 per fold and their
mean, and per-class precision and recall of the out-of-fold predictions pooled over the folds
(their confusion matrix is the figure).
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from rnalm.errors import RnalmError, option

CLASSIFIERS = ("logreg", "knn")


def classifier(name: str, n_train: int) -> Pipeline:
    """A fresh, unfitted ``name`` classifier (standardisation included)."""
    if name == "logreg":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    if name == "knn":
        return make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=min(5, n_train)))
    raise ValueError(f"unknown classifier {name!r}; expected one of {', '.join(CLASSIFIERS)}")


def folds_for(labels: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The stratified, seeded (train, test) index pairs; an error when a class is smaller than ``folds``."""
    classes, counts = np.unique(labels, return_counts=True)
    if folds < 2:
        raise RnalmError(f"{option('folds')} must be at least 2")
    if counts.min() < folds:
        small = classes[counts.argmin()]
        raise RnalmError(
            f"label {small!r} has {counts.min()} records, fewer than {option('folds')} {folds}: "
            f"every fold needs each class; lower {option('folds')} or leave the class out"
        )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(labels)), labels))


def cross_validate(X: np.ndarray, labels: np.ndarray, splits: list, name: str) -> tuple[dict, np.ndarray]:
    """Scores of classifier ``name`` over ``splits``, and its out-of-fold predictions."""
    predicted = np.empty(len(labels), dtype=object)
    acc, f1 = [], []
    for train, test in splits:
        model = classifier(name, len(train)).fit(X[train], labels[train])
        predicted[test] = model.predict(X[test])
        acc.append(float(accuracy_score(labels[test], predicted[test])))
        f1.append(float(f1_score(labels[test], predicted[test], average="macro", zero_division=0)))
    classes = sorted(set(labels.tolist()))
    p, r, _, support = precision_recall_fscore_support(
        labels, predicted.astype(labels.dtype), labels=classes, zero_division=0
    )
    per_class = {
        c: {"precision": float(pi), "recall": float(ri), "support": int(si)}
        for c, pi, ri, si in zip(classes, p, r, support)
    }
    scores = {
        "accuracy": float(np.mean(acc)),
        "macro_f1": float(np.mean(f1)),
        "accuracy_folds": acc,
        "macro_f1_folds": f1,
        "per_class": per_class,
    }
    return scores, predicted.astype(labels.dtype)


def confusion(labels: np.ndarray, predicted: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Class names (sorted) and the confusion matrix of ``predicted`` against ``labels`` (rows: true)."""
    classes = sorted(set(labels.tolist()))
    return classes, confusion_matrix(labels, predicted, labels=classes)


__all__ = ["CLASSIFIERS", "classifier", "confusion", "cross_validate", "folds_for"]
