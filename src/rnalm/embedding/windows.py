"""Sequences longer than the model's maximum: overlapping windows, stitched back per token.

Why sliding windows with averaging (``--long window``, the default): truncation silently
drops the 3' end, and non-overlapping chunks give the tokens next to each cut almost no
context. Windows of the model's full length, starting every ``window - overlap`` tokens
(the last one aligned to the 3' end so every window is full), give every token at least
``overlap / 2`` tokens of context on each side except at the true ends of the sequence.

Stitching rules (documented in ``rnalm embed --help`` too):

* per-token: each token's vector is the plain mean of its vectors in the windows covering it,
  so tokens covered by one window equal a direct forward of that window;
* mean: the mean over tokens of the stitched per-token vectors (the same definition as for
  a sequence that fits, where it is the mean over its nucleotide tokens);
* cls: the mean of the windows' ``<cls>`` vectors (each window has its own ``<cls>``/``<eos>``);
* contacts: the ``(L, L)`` map averages the windows' maps where they overlap; pairs no single
  window covers (further apart than one window) are NaN;
* attention maps are not defined across windows and are refused for such records.
"""

from __future__ import annotations

from typing import Optional

import numpy as np


def default_overlap(window: int) -> int:
    """A quarter of the window (256 tokens for RNA-FM's 1,022)."""
    return window // 4


def window_starts(n: int, window: int, overlap: int) -> list[int]:
    """Start offsets (in tokens) of the windows covering ``n`` tokens.

    One window when ``n <= window``; otherwise windows every ``window - overlap`` tokens with
    the last one ending exactly at ``n``, so consecutive windows overlap by at least ``overlap``.
    """
    if window < 1:
        raise ValueError(f"window must be positive, got {window}")
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must be in [0, {window}), got {overlap}")
    if n <= window:
        return [0]
    stride = window - overlap
    starts = list(range(0, n - window, stride))
    starts.append(n - window)
    return starts


class Stitcher:
    """Accumulates the window outputs of one long record and averages them on the overlaps."""

    def __init__(self, n: int, n_windows: int, layers: list[int], dim: int, contacts: bool) -> None:
        self.n = n
        self.remaining = n_windows
        self.n_windows = n_windows
        self.tokens = {layer: np.zeros((n, dim), dtype=np.float64) for layer in layers}
        self.cls = {layer: np.zeros(dim, dtype=np.float64) for layer in layers}
        self.count = np.zeros(n, dtype=np.int64)
        self.contacts = np.zeros((n, n), dtype=np.float64) if contacts else None
        self.contact_count = np.zeros((n, n), dtype=np.int64) if contacts else None

    def add(
        self,
        start: int,
        tokens: dict[int, np.ndarray],
        cls: Optional[dict[int, np.ndarray]],
        contacts: Optional[np.ndarray],
    ) -> None:
        w = next(iter(tokens.values())).shape[0] if tokens else 0
        for layer, rows in tokens.items():
            self.tokens[layer][start : start + w] += rows
            if cls is not None:
                self.cls[layer] += cls[layer]
        self.count[start : start + w] += 1
        if self.contacts is not None and contacts is not None:
            w = contacts.shape[0]
            self.contacts[start : start + w, start : start + w] += contacts
            self.contact_count[start : start + w, start : start + w] += 1  # type: ignore[index]
        self.remaining -= 1

    @property
    def complete(self) -> bool:
        return self.remaining == 0

    def per_token(self, layer: int) -> np.ndarray:
        return (self.tokens[layer] / self.count[:, None]).astype(np.float32)

    def cls_mean(self, layer: int) -> np.ndarray:
        return (self.cls[layer] / self.n_windows).astype(np.float32)

    def contact_map(self) -> Optional[np.ndarray]:
        if self.contacts is None or self.contact_count is None:
            return None
        with np.errstate(invalid="ignore", divide="ignore"):
            out = self.contacts / self.contact_count
        return out.astype(np.float32)
