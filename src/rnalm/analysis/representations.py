"""One vector per record: a language model's pooled embedding, or k-mer frequencies as the baseline.

A map or a classifier built on embeddings says little without the same figure for a representation
that knows nothing but composition; k-mer frequencies (counts over the record's k-mers, divided by
their number so that length does not dominate) are that baseline.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np

from rnalm.embedding import EmbedOptions, embed_records
from rnalm.io.seqio import Record

ALPHABET = "ACGU"


def kmer_vocabulary(k: int) -> list[str]:
    """All ``4**k`` k-mers over A, C, G, U in lexicographic order: the columns of :func:`kmer_counts`."""
    return ["".join(p) for p in itertools.product(ALPHABET, repeat=k)]


def kmer_counts(sequences: list[str], k: int = 3) -> np.ndarray:
    """``N x 4**k`` counts of overlapping k-mers (T read as U, case ignored; k-mers with other letters skipped)."""
    if k < 1:
        raise ValueError("k must be at least 1")
    column = {kmer: i for i, kmer in enumerate(kmer_vocabulary(k))}
    out = np.zeros((len(sequences), len(column)), dtype=np.float64)
    for row, seq in enumerate(sequences):
        s = seq.upper().replace("T", "U")
        for i in range(len(s) - k + 1):
            j = column.get(s[i : i + k])
            if j is not None:
                out[row, j] += 1
    return out


def kmer_frequencies(sequences: list[str], k: int = 3) -> np.ndarray:
    """:func:`kmer_counts` divided by each row's total (a row with no k-mer stays zero)."""
    counts = kmer_counts(sequences, k)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


@dataclass
class Representation:
    """A named ``N x D`` matrix, rows in record order."""

    name: str
    vectors: np.ndarray
    #: what it is, for scores.json and the report
    description: str


def kmer_representation(records: list[Record], k: int) -> Representation:
    return Representation(f"kmer{k}", kmer_frequencies([r.seq for r in records], k), f"{k}-mer frequencies")


def model_name(model: Union[str, Path]) -> str:
    """A short, file-name-safe name for a model reference (a registry name, or a path's last part)."""
    text = re.sub(r"^[a-z]+:(?!//)", "", str(model).rstrip("/"))  # "shipped:utrlm-mini" -> "utrlm-mini"
    base = Path(text).name if ("/" in text or Path(text).exists()) else text
    base = re.sub(r"\.(pt|pth|ckpt|safetensors)$", "", base)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", base) or "model"


def model_representation(
    model: Union[str, Path],
    records: list[Record],
    name: str,
    layer: Union[int, str] = -1,
    pool: str = "mean",
    device: Optional[str] = None,
    unknown: Optional[str] = None,
    progress: Optional[bool] = None,
    dtype: str = "auto",
) -> Representation:
    """``model``'s pooled embeddings of ``records`` (the vectors ``rnalm embed`` would store)."""
    opts = EmbedOptions(layers=[layer], pools=[pool], device=device, unknown=unknown, progress=progress, dtype=dtype)
    done = embed_records(model, records, opts)
    X = np.stack(done.arrays(layer, pool)).astype(np.float64)
    return Representation(name, X, f"{name} embeddings, layer {layer}, {pool} pooling")


__all__ = [
    "Representation",
    "kmer_counts",
    "kmer_frequencies",
    "kmer_representation",
    "kmer_vocabulary",
    "model_name",
    "model_representation",
]
