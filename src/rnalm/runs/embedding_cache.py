"""On-disk cache of frozen-backbone embeddings, keyed by model weights and sequence.

Frozen fine-tuning computes each sequence's embedding once; the cache makes that once per
*machine*: a second run, another fold, another head or a different seed reuses it. The key is the
sha256 of (weights sha256, layer, normalised sequence), so a different checkpoint, layer or input
can never be served a stale entry. Entries are ``.npy`` files written atomically: ``pooled``
holds the ``<cls>`` and mean vectors (2, D) float32, ``tokens`` the per-letter embeddings (L, D)
float16 (half the disk; the heads are trained in float32).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Optional

import numpy as np

from rnalm.io.npycache import load_cached_npy, save_cached_npy
from rnalm.precision import Precision


def default_cache_dir() -> Path:
    base = os.environ.get("RNALM_CACHE_DIR")
    return (Path(base) if base else Path.home() / ".cache" / "rnalm") / "embeddings"


class EmbeddingCache:
    def __init__(self, root: str | Path, model_sha256: str, layer: int) -> None:
        self.model_sha256 = model_sha256
        self.layer = layer
        self.dir = Path(root) / model_sha256[:16] / f"layer{layer}"

    def key(self, seq: str) -> str:
        return hashlib.sha256(f"{self.model_sha256}|{self.layer}|{seq}".encode()).hexdigest()

    def _path(self, seq: str, kind: str) -> Path:
        k = self.key(seq)
        return self.dir / k[:2] / f"{k}.{kind}.npy"

    def get(self, seq: str, kind: str) -> Optional[np.ndarray]:
        return load_cached_npy(self._path(seq, kind))

    def put(self, seq: str, kind: str, value: np.ndarray) -> None:
        save_cached_npy(self._path(seq, kind), value)


def embedding_cache_id(sha256: str, precision: Precision) -> str:
    """The cache's model key: the weights' sha256, marked for bfloat16, whose embeddings differ from
    float32's in the last bits (float32 keeps the plain key, so existing caches stay valid). Training and
    prediction use the same key, so each reads only embeddings computed in its own type."""
    return sha256 if not precision.is_bf16 else f"{sha256}+{precision.name}"


__all__ = ["EmbeddingCache", "default_cache_dir", "embedding_cache_id"]
