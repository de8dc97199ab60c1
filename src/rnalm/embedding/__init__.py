"""Embedding extraction at scale: ``rnalm embed`` as a library.

* :func:`embed_file` -- a FASTA/CSV file through a model into HDF5, ``.npy`` or ``.pt`` output,
  in token-budget batches, resumable, shardable across ``torchrun`` ranks;
* :func:`read_matrix` -- an output read back as ``(ids, X)``, in input order (per-token rows:
  :func:`read_per_token`); :func:`open_embeddings` -- every stored array and attribute;
* :func:`merge_parts` -- combine per-rank parts into one output;
* :func:`embed_records` -- the same computation kept in memory (what :func:`rnalm.embed` runs).
"""

from rnalm.embedding.memory import EmbeddedRecords, embed_records
from rnalm.embedding.merge import merge_parts
from rnalm.embedding.reader import Embeddings, open_embeddings, read_matrix, read_per_token
from rnalm.embedding.runner import EmbedOptions, EmbedSummary, embed_file
from rnalm.embedding.setup import default_model

__all__ = [
    "EmbedOptions",
    "EmbedSummary",
    "EmbeddedRecords",
    "Embeddings",
    "default_model",
    "embed_file",
    "embed_records",
    "merge_parts",
    "open_embeddings",
    "read_matrix",
    "read_per_token",
]
