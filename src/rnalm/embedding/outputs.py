"""From a batch forward pass to one output per record, aligned to the nucleotides.

Row ``i`` of a per-token output is the model's vector for letter token ``i`` of the input
(nucleotide ``i``, or codon ``i`` for mRNA-FM): ``<cls>``, ``<eos>`` and padding are removed
by position, never by token type, so ``<unk>``/``<mask>`` standing in for a nucleotide keep
their row. Mean pooling averages exactly those rows; ``cls`` is the ``<cls>`` vector.
Everything leaves the model in its own dtype and is stored as float32.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch

from rnalm.embedding.batching import Item, RecordMeta
from rnalm.embedding.windows import Stitcher

POOLS = ("per_token", "mean", "cls")


def key(layer: int, pool: str) -> str:
    """Dataset name of one output: ``layer_12/mean``."""
    return f"layer_{layer}/{pool}"


@dataclass
class ItemOutput:
    """The model's outputs for one item (record or window), on the CPU as float32."""

    item: Item
    tokens: dict[int, np.ndarray] = field(default_factory=dict)  # layer -> (n, D)
    mean: dict[int, np.ndarray] = field(default_factory=dict)
    cls: dict[int, np.ndarray] = field(default_factory=dict)
    contacts: Optional[np.ndarray] = None
    attentions: Optional[np.ndarray] = None


@dataclass
class RecordOutput:
    meta: RecordMeta
    arrays: dict[str, np.ndarray]


def extract(
    out: dict, items: list[Item], layers: list[int], pools: set[str], bos: int, windowed: set[int]
) -> list[ItemOutput]:
    """Split a batch's outputs into per-item arrays.

    ``windowed`` holds the record indices embedded in windows; they always get per-token rows
    (their mean is computed after stitching) and ``<cls>`` vectors.
    """
    lengths = [len(it.ids) for it in items]
    results = [ItemOutput(it) for it in items]
    need_tokens = "per_token" in pools or bool(windowed)
    for layer in layers:
        rep = out["representations"][layer]
        b, t, d = rep.shape
        if "mean" in pools:
            pos = torch.arange(t, device=rep.device)
            n = torch.tensor(lengths, device=rep.device)
            mask = (pos[None, :] >= bos) & (pos[None, :] < bos + n[:, None])
            means = (rep.float() * mask[..., None]).sum(1) / n[:, None].to(torch.float32)
            means_np = means.cpu().numpy()
        if "cls" in pools or windowed:
            cls_np = rep[:, 0].float().cpu().numpy()
        if need_tokens:
            rep_np = rep.float().cpu().numpy()
        for i, (res, n_i) in enumerate(zip(results, lengths)):
            is_win = res.item.record in windowed
            if "per_token" in pools or is_win:
                res.tokens[layer] = rep_np[i, bos : bos + n_i].copy()
            if "mean" in pools and not is_win:
                res.mean[layer] = means_np[i].copy()
            if "cls" in pools or is_win:
                res.cls[layer] = cls_np[i].copy()
    if "contacts" in out:
        c = out["contacts"].float().cpu().numpy()
        for i, (res, n_i) in enumerate(zip(results, lengths)):
            res.contacts = c[i, :n_i, :n_i].copy()
    if "attentions" in out:
        a = out["attentions"]
        for i, (res, n_i) in enumerate(zip(results, lengths)):
            res.attentions = a[i, :, :, bos : bos + n_i, bos : bos + n_i].float().cpu().numpy()
    return results


class Assembler:
    """Collects item outputs and releases each record once all its windows are in."""

    def __init__(self, layers: list[int], pools: set[str], contacts: bool, attentions: bool) -> None:
        self.layers = layers
        self.pools = pools
        self.contacts = contacts
        self.attentions = attentions
        self._pending: dict[int, tuple[RecordMeta, Stitcher]] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, meta: RecordMeta, res: ItemOutput) -> Optional[RecordOutput]:
        if meta.windows == 1:
            arrays: dict[str, np.ndarray] = {}
            for layer in self.layers:
                if "per_token" in self.pools:
                    arrays[key(layer, "per_token")] = res.tokens[layer]
                if "mean" in self.pools:
                    arrays[key(layer, "mean")] = res.mean[layer]
                if "cls" in self.pools:
                    arrays[key(layer, "cls")] = res.cls[layer]
            if self.contacts:
                arrays["contacts"] = res.contacts  # type: ignore[assignment]
            if self.attentions:
                arrays["attentions"] = res.attentions  # type: ignore[assignment]
            return RecordOutput(meta, arrays)
        if meta.index not in self._pending:
            dim = next(iter(res.tokens.values())).shape[1]
            self._pending[meta.index] = (meta, Stitcher(meta.n_rows, meta.windows, self.layers, dim, self.contacts))
        _, st = self._pending[meta.index]
        st.add(res.item.start, res.tokens, res.cls, res.contacts)
        if not st.complete:
            return None
        del self._pending[meta.index]
        arrays = {}
        for layer in self.layers:
            rows = st.per_token(layer)
            if "per_token" in self.pools:
                arrays[key(layer, "per_token")] = rows
            if "mean" in self.pools:
                arrays[key(layer, "mean")] = (st.tokens[layer] / st.count[:, None]).mean(0).astype(np.float32)
            if "cls" in self.pools:
                arrays[key(layer, "cls")] = st.cls_mean(layer)
        if self.contacts:
            arrays["contacts"] = st.contact_map()  # type: ignore[assignment]
        return RecordOutput(meta, arrays)
