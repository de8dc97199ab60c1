"""The scores rnalm map reports are scikit-learn's, computed on the same vectors; reruns are identical."""

import numpy as np
import pytest
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    adjusted_rand_score,
    f1_score,
    normalized_mutual_info_score,
    silhouette_score,
)
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from rnalm.analysis import MapSettings, run_map
from rnalm.errors import RnalmError
from rnalm.io.seqio import Record

from .data import labelled


def records_and_labels(n=8):
    rows = labelled(n)
    return [Record(rid, seq, "", i, i + 1) for i, (rid, seq, _) in enumerate(rows)], [lab for *_, lab in rows]


@pytest.fixture(scope="module")
def result(tiny_lm_dir):
    records, labels = records_and_labels()
    return run_map(records, labels, MapSettings(models=[str(tiny_lm_dir)], methods=["pca"], folds=4, seed=3))


def test_clustering_scores_are_sklearns(result):
    y = result.labels
    assert set(result.vectors) == {"kmer3", "tiny"}
    for rep, X in result.vectors.items():
        s = result.scores["representations"][rep]
        km = KMeans(n_clusters=3, n_init=10, random_state=3).fit_predict(X)
        assert s["kmeans"]["ari"] == pytest.approx(adjusted_rand_score(y, km), abs=1e-12)
        assert s["kmeans"]["nmi"] == pytest.approx(normalized_mutual_info_score(y, km), abs=1e-12)
        assert s["kmeans"]["silhouette"] == pytest.approx(silhouette_score(X, km), abs=1e-12)
        hd = HDBSCAN(min_cluster_size=5, min_samples=5, copy=True).fit_predict(X)
        assert s["hdbscan"]["ari"] == pytest.approx(adjusted_rand_score(y, hd), abs=1e-12)
        assert s["hdbscan"]["noise"] == int((hd < 0).sum())
        assert s["labels"]["silhouette"] == pytest.approx(silhouette_score(X, y), abs=1e-12)


def test_classification_scores_are_sklearns(result):
    y = result.labels
    splits = list(StratifiedKFold(n_splits=4, shuffle=True, random_state=3).split(np.zeros(len(y)), y))
    models = {
        "logreg": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        "knn": lambda: make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=5)),
    }
    for rep, X in result.vectors.items():
        for name, build in models.items():
            acc, f1 = [], []
            for train, test in splits:
                pred = build().fit(X[train], y[train]).predict(X[test])
                acc.append(accuracy_score(y[test], pred))
                f1.append(f1_score(y[test], pred, average="macro", zero_division=0))
            s = result.scores["representations"][rep][name]
            assert s["accuracy_folds"] == pytest.approx(acc, abs=1e-12)
            assert s["macro_f1_folds"] == pytest.approx(f1, abs=1e-12)
            assert s["accuracy"] == pytest.approx(np.mean(acc), abs=1e-12)
            assert sum(v["support"] for v in s["per_class"].values()) == len(y)


def test_kmer_baseline_separates_the_composition_classes(result):
    assert result.scores["representations"]["kmer3"]["logreg"]["accuracy"] > 0.9


def test_seeded_reruns_are_identical(result, tiny_lm_dir):
    records, labels = records_and_labels()
    again = run_map(records, labels, MapSettings(models=[str(tiny_lm_dir)], methods=["pca"], folds=4, seed=3))
    assert again.scores == result.scores
    assert again.coordinates.equals(result.coordinates)


def test_tables_hold_every_representation(result):
    assert list(result.coordinates.columns) == ["representation", "method", "id", "label", "x", "y"]
    assert len(result.coordinates) == 2 * 24
    assert set(result.clustering["method"]) == {"kmeans", "hdbscan"}
    assert len(result.classification) == 4 and len(result.per_class) == 2 * 2 * 3


def test_too_few_records_per_class_for_the_folds_is_refused():
    records, labels = records_and_labels(3)
    with pytest.raises(RnalmError, match=r"fewer than folds= 4"):
        run_map(records, labels, MapSettings(methods=["pca"], folds=4))


def test_one_label_is_refused():
    records, _ = records_and_labels(3)
    with pytest.raises(RnalmError, match="fewer than two distinct labels"):
        run_map(records, ["x"] * len(records), MapSettings(methods=["pca"], folds=2))


@pytest.mark.slow
def test_umap_and_tsne_maps_are_seeded():
    records, labels = records_and_labels()
    a = run_map(records, labels, MapSettings(methods=["umap", "tsne"], folds=4, seed=1))
    b = run_map(records, labels, MapSettings(methods=["umap", "tsne"], folds=4, seed=1))
    assert a.coordinates.equals(b.coordinates)
    assert set(a.coordinates["method"]) == {"umap", "tsne"}
