"""Embedding extraction at scale: ``rnalm embed`` as a library.

* :func:`embed_file` -- a FASTA/CSV file through a model into HDF5, ``.npy`` or ``.pt`` output,
  in token-budget batches, resumable, shardable across ``torchrun`` ranks;
* :func:`open_embeddings` -- read an output (or its per-rank parts) back, in input order;
* :func:`merge_parts` -- combine per-rank parts into one output.
"""

from rnalm.embedding.merge import merge_parts
from rnalm.embedding.reader import Embeddings, open_embeddings
from rnalm.embedding.runner import EmbedOptions, EmbedSummary, embed_file

__all__ = ["EmbedOptions", "EmbedSummary", "Embeddings", "embed_file", "merge_parts", "open_embeddings"]
