"""``rnalm.embed(...)``: embeddings of sequences as a numpy array, in input order.

The same computation as ``rnalm embed`` (:func:`rnalm.embedding.embed_records`: the command's
batches, windows for sequences longer than the model reads, pooling), kept in memory instead of
written to a file, so the rows equal the vectors the command stores for the same inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import torch

from rnalm.embedding import EmbedOptions, default_model, embed_records
from rnalm.errors import python_spelling, spelled
from rnalm.notebook.inputs import Sequences, as_records

#: option names of the embedding package -> the keyword of :func:`embed` that sets them
KEYWORDS = {"layers": "layer", "tokens_per_batch": "batch_tokens"}


def keyword_spelling(name: str, value: Optional[str] = None) -> str:
    """Options named in errors as :func:`embed`'s keywords (``layer=``, ``batch_tokens=``)."""
    return python_spelling(KEYWORDS.get(name, name), value)


def embed(
    data: Sequences,
    model: Union[str, Path, tuple[Any, Any], None] = None,
    *,
    layer: Union[int, str] = -1,
    pool: str = "mean",
    unknown: Optional[str] = None,
    device: Optional[str] = None,
    dtype: str = "auto",
    batch_tokens: Optional[int] = None,
    progress: Optional[bool] = None,
    seq_column: Optional[str] = None,
    id_column: Optional[str] = None,
    input_format: Optional[str] = None,
) -> Union[np.ndarray, list[np.ndarray]]:
    """Embed ``data`` with ``model``; one row (or one array) per sequence, in input order.

    ``data``: sequences, ``(id, sequence)`` pairs, a dict, a pandas Series or DataFrame
    (``seq_column``/``id_column`` pick its columns), or a FASTA/CSV/TSV path, read as the command
    reads it (``input_format`` as ``--input-format``; a table without an id column gets the row
    ids ``<file stem>_<row>``). ``model``: a model name or path for :func:`rnalm.load`, or the
    ``(model, alphabet)`` it returns; default the backbone shipped with rnalm (``utrlm-mini``, no
    download).
    ``layer``: 0 = the token embeddings, negatives count from the end (-1: the last layer).
    ``pool``: ``mean`` (over the nucleotides' rows) or ``cls`` give an ``N x D`` float32 array;
    ``per-token`` a list of ``L_i x D`` arrays, one row per nucleotide (``<cls>``/``<eos>`` removed).
    Sequences longer than the model reads are embedded in overlapping windows and stitched, as
    ``rnalm embed --long window`` does. ``unknown`` replaces letters the model cannot read
    (a letter, ``mask`` or ``unk``); ``batch_tokens`` bounds the padded tokens per batch;
    ``dtype``: ``auto`` (bfloat16 autocast where the device computes bf16 natively, else float32),
    ``float32``, ``bfloat16``, or ``float16`` on a GPU, as ``rnalm embed --dtype``.
    ``progress``: ``None`` shows a bar in a notebook or on a terminal, ``True``/``False`` force it.

    Example::

        >>> import rnalm
        >>> X = rnalm.embed(["GGGACAUUUGCUUCUGACACAACUGUGUUCACUAGC", "AUGGCUACGUAGC"], progress=False)
        >>> X.shape
        (2, 128)
    """
    inputs = as_records(data, seq_column, id_column, input_format)
    alphabet = None
    network: Union[str, Path, torch.nn.Module]
    if isinstance(model, tuple):
        network, alphabet = model
    else:
        network = default_model()[0] if model is None else model
    opts = EmbedOptions(
        layers=[layer],
        pools=[pool],
        unknown=unknown,
        device=device,
        dtype=dtype,
        tokens_per_batch=batch_tokens,
        progress=progress,
    )
    with spelled(keyword_spelling):
        done = embed_records(network, inputs.records, opts, alphabet=alphabet)
        arrays = done.arrays(layer, pool)
    if done.pools == ["per_token"]:
        return arrays
    return np.stack(arrays)


__all__ = ["embed"]
