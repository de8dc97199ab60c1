"""Two-dimensional maps of a representation: UMAP (umap-learn), t-SNE and PCA (scikit-learn).

Every method is seeded, so the same vectors and seed give the same coordinates. Neighbourhood sizes
shrink for small inputs (UMAP's ``n_neighbors``, t-SNE's perplexity), which would otherwise refuse them.
"""

from __future__ import annotations

import numpy as np

METHODS = ("umap", "tsne", "pca")


def project(X: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """``N x 2`` coordinates of the rows of ``X`` by ``method`` (one of :data:`METHODS`)."""
    n = len(X)
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(X)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(1.0, (n - 1) / 3)))
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(X)
    if method == "umap":
        import warnings

        import umap

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "n_jobs overridden by setting random_state": what seeding means
            reducer = umap.UMAP(n_components=2, n_neighbors=min(15, n - 1), random_state=seed)
            return np.asarray(reducer.fit_transform(X))
    raise ValueError(f"unknown map method {method!r}; expected one of {', '.join(METHODS)}")


__all__ = ["METHODS", "project"]
