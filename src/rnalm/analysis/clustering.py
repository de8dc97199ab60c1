"""Clustering scored against the labels: k-means with as many clusters as labels, and HDBSCAN.

k-means answers "do the labels form k compact groups?"; HDBSCAN (density-based, no k) answers "do
dense groups appear on their own?", calling sparse points noise (smallest cluster: 1 % of the
records, at least 5; ``min_samples`` 5). Scores are scikit-learn's:
ARI and NMI of the clusters against the labels (HDBSCAN's noise counts as one more cluster, so
a method that calls everything noise scores 0, not well), and the silhouette of the clusters in the
representation's space (noise points left out; ``None`` with fewer than two clusters). The
silhouette of the labels themselves is reported as ``labels``: how well the representation
separates the given classes before any clustering.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score

CLUSTERINGS = ("kmeans", "hdbscan")


def cluster(X: np.ndarray, method: str, n_labels: int, seed: int = 0) -> np.ndarray:
    """Cluster ids of the rows of ``X`` (HDBSCAN: -1 for noise)."""
    if method == "kmeans":
        return KMeans(n_clusters=n_labels, n_init=10, random_state=seed).fit_predict(X)
    if method == "hdbscan":
        min_size = min(max(5, len(X) // 100), len(X))
        return HDBSCAN(min_cluster_size=min_size, min_samples=min(5, len(X)), copy=True).fit_predict(X)
    raise ValueError(f"unknown clustering {method!r}; expected one of {', '.join(CLUSTERINGS)}")


def silhouette(X: np.ndarray, assigned: np.ndarray) -> Optional[float]:
    """Silhouette of ``assigned`` on ``X`` over the non-noise points; None when it is undefined."""
    keep = assigned >= 0
    n_clusters = len(set(assigned[keep].tolist()))
    if n_clusters < 2 or n_clusters >= keep.sum():
        return None
    return float(silhouette_score(X[keep], assigned[keep]))


def score(X: np.ndarray, labels: np.ndarray, assigned: np.ndarray) -> dict:
    """``ari``, ``nmi``, ``silhouette`` and the number of clusters found."""
    return {
        "ari": float(adjusted_rand_score(labels, assigned)),
        "nmi": float(normalized_mutual_info_score(labels, assigned)),
        "silhouette": silhouette(X, assigned),
        "clusters": int(len(set(assigned[assigned >= 0].tolist()))),
        "noise": int((assigned < 0).sum()),
    }


def cluster_scores(X: np.ndarray, labels: np.ndarray, seed: int = 0) -> tuple[dict, dict]:
    """Scores per clustering method (and ``labels``: the silhouette of the given classes), and the assignments."""
    n_labels = len(set(labels.tolist()))
    codes = np.unique(labels, return_inverse=True)[1]
    scores: dict = {"labels": {"silhouette": silhouette(X, codes)}}
    assigned = {}
    for method in CLUSTERINGS:
        assigned[method] = cluster(X, method, n_labels, seed)
        scores[method] = score(X, labels, assigned[method])
    return scores, assigned


__all__ = ["CLUSTERINGS", "cluster", "cluster_scores", "score", "silhouette"]
