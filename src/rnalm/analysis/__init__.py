"""Answers from embeddings: 2-D maps, clustering and type classification of labelled sequences.

What RNA-FM's family-clustering and type-classification tutorial does by hand, as a library that
``rnalm map`` and :func:`rnalm.map` run:

* :mod:`~rnalm.analysis.labels` -- records and their labels (a FASTA header field or a table column);
* :mod:`~rnalm.analysis.representations` -- one vector per record: a language model's pooled
  embedding, or the k-mer frequencies every such figure needs as its baseline;
* :mod:`~rnalm.analysis.maps` -- UMAP, t-SNE and PCA to two dimensions;
* :mod:`~rnalm.analysis.clustering` -- k-means and HDBSCAN scored against the labels (ARI, NMI, silhouette);
* :mod:`~rnalm.analysis.classification` -- stratified k-fold logistic regression and kNN;
* :mod:`~rnalm.analysis.figures` and :mod:`~rnalm.analysis.html` -- PNG figures and a self-contained HTML map;
* :mod:`~rnalm.analysis.job` -- all of it, seeded, into one output folder.

The names below are imported on first use (PEP 562): a caller that reads only
:data:`~rnalm.analysis.maps.METHODS` or the labels does not load scikit-learn and matplotlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rnalm.lazy import attach

if TYPE_CHECKING:
    from rnalm.analysis.job import MAP_OUTPUT, MapResult, MapSettings, run_map, write_map
    from rnalm.analysis.labels import read_labelled
    from rnalm.analysis.representations import kmer_counts, kmer_frequencies

#: public name -> the module that defines it, imported when the name is first read
_LAZY = {
    "MAP_OUTPUT": "rnalm.analysis.job",
    "MapResult": "rnalm.analysis.job",
    "MapSettings": "rnalm.analysis.job",
    "run_map": "rnalm.analysis.job",
    "write_map": "rnalm.analysis.job",
    "read_labelled": "rnalm.analysis.labels",
    "kmer_counts": "rnalm.analysis.representations",
    "kmer_frequencies": "rnalm.analysis.representations",
}

__all__ = [
    "MAP_OUTPUT",
    "MapResult",
    "MapSettings",
    "kmer_counts",
    "kmer_frequencies",
    "read_labelled",
    "run_map",
    "write_map",
]

__getattr__, __dir__ = attach(__name__, _LAZY)
