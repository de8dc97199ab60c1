"""Prediction heads: what sits on top of the sequence representation.

Every head reads a *feature batch* -- a dict that may hold ``cls`` / ``mean`` ``(B, D)`` sequence
vectors, ``tokens`` ``(B, L, D)`` per-nucleotide embeddings, ``onehot`` ``(B, L, 4)`` and the
``mask`` ``(B, L)`` of real (non-padding) positions -- and declares in ``needs`` which of them it
uses, so the backbone computes (or the cache stores) only those. Heads:

* ``mlp``: MLP on ``<cls>`` or on the mean over letters (UTR-LM: one hidden layer of 40 + dropout).
* ``lamar``: LAMAR's classification head on ``<cls>``: dropout, dense + tanh, dropout, projection.
* ``resnet1d``: RNA-FM's UTR tutorial: per-token embeddings reduced to 32 channels (640 -> 32),
  concatenated with the one-hot sequence, a conv stem, six pre-activation residual blocks (strides
  2,1,2,1,2,1) and global average pooling.
* ``pairwise``: the 2-D residual network of ``task: structure`` (:mod:`rnalm.runs.pairwise_task_head`).
* ``cnn``: Optimus 5-Prime: three convolutions (120 filters of width 8), flatten (or global
  pooling), dense 40, dropout; on one-hot input, optionally concatenated with reduced embeddings.

Convolutional heads zero padded positions after every layer and pool over real positions only,
so a sequence's prediction does not depend on what it was batched with.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from rnalm.runs.config import HeadConfig, StructureConfig
from rnalm.runs.errors import ConfigError, DataError
from rnalm.runs.head_base import Head
from rnalm.runs.pairwise_task_head import PairwiseTaskHead


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``x`` (B, C, L), ``mask`` (B, L) -> (B, C) mean over True positions."""
    m = mask.unsqueeze(1).to(x.dtype)
    return (x * m).sum(-1) / m.sum(-1).clamp_min(1.0)


class MLPHead(Head):
    def __init__(self, in_dim: int, out_dim: int, hidden: list[int], dropout: float, pooling: str) -> None:
        super().__init__()
        self.pooling = pooling
        self.needs = frozenset({pooling})
        layers: list[nn.Module] = []
        d = in_dim
        for h in hidden:
            layers += [nn.Linear(d, h), nn.ReLU(), nn.Dropout(dropout)]
            d = h
        layers.append(nn.Linear(d, out_dim))
        self.mlp = nn.Sequential(*layers)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.mlp(batch[self.pooling])


class LamarHead(Head):
    needs = frozenset({"cls"})

    def __init__(self, in_dim: int, out_dim: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(in_dim, in_dim)
        self.out_proj = nn.Linear(in_dim, out_dim)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x = self.dropout(batch["cls"])
        x = self.dropout(torch.tanh(self.dense(x)))
        return self.out_proj(x)


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm over real positions only: padding would otherwise drag the batch statistics."""

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if mask is None or not self.training:
            return super().forward(x)
        m = mask.unsqueeze(1).to(x.dtype)  # B, 1, L
        n = m.sum().clamp_min(2.0)
        mean = (x * m).sum((0, 2)) / n
        var = (((x - mean[None, :, None]) * m) ** 2).sum((0, 2)) / n
        assert self.running_mean is not None and self.running_var is not None and self.num_batches_tracked is not None
        with torch.no_grad():
            mom = self.momentum if self.momentum is not None else 0.1
            self.running_mean.mul_(1 - mom).add_(mom * mean)
            self.running_var.mul_(1 - mom).add_(mom * var * n / (n - 1))
            self.num_batches_tracked.add_(1)
        y = (x - mean[None, :, None]) / torch.sqrt(var[None, :, None] + self.eps)
        return y * self.weight[None, :, None] + self.bias[None, :, None]


class ResBlock1d(nn.Module):
    """Pre-activation residual block (BN, ReLU, conv) x 2 with a strided 1x1 shortcut when needed."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.bn1 = MaskedBatchNorm1d(cin)
        self.conv1 = nn.Conv1d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn2 = MaskedBatchNorm1d(cout)
        self.conv2 = nn.Conv1d(cout, cout, 3, padding=1, bias=False)
        self.down_conv = nn.Conv1d(cin, cout, 1, stride=stride, bias=False) if stride > 1 or cin != cout else None
        self.down_bn = MaskedBatchNorm1d(cout) if self.down_conv is not None else None

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out_mask = mask[:, :: self.stride] if self.stride > 1 else mask
        m_in, m_out = mask.unsqueeze(1).to(x.dtype), out_mask.unsqueeze(1).to(x.dtype)
        h = self.conv1(F.relu(self.bn1(x, mask)) * m_in)
        h = self.conv2(F.relu(self.bn2(h, out_mask)) * m_out)
        identity = x if self.down_conv is None or self.down_bn is None else self.down_bn(self.down_conv(x), out_mask)
        return (h + identity) * m_out, out_mask


class _TokenInput(nn.Module):
    """Per-nucleotide input channels: reduced LM embeddings and/or the one-hot sequence."""

    def __init__(self, in_dim: Optional[int], reduction_dim: int, onehot: bool) -> None:
        super().__init__()
        if in_dim is None and not onehot:
            raise ConfigError("a convolutional head needs per-token embeddings or head.onehot=true")
        self.reduction = nn.Linear(in_dim, reduction_dim) if in_dim is not None else None
        self.onehot = onehot
        self.channels = (reduction_dim if in_dim is not None else 0) + (4 if onehot else 0)
        self.needs = frozenset(({"tokens"} if in_dim is not None else set()) | ({"onehot"} if onehot else set()))

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        parts = []
        if self.onehot:
            parts.append(batch["onehot"])
        if self.reduction is not None:
            parts.append(self.reduction(batch["tokens"]))
        mask = batch["mask"]
        x = torch.cat(parts, -1) * mask.unsqueeze(-1).to(parts[0].dtype)
        return x.transpose(1, 2), mask  # B, C, L


class ResNet1DHead(Head):
    def __init__(
        self,
        in_dim: Optional[int],
        out_dim: int,
        reduction_dim: int,
        onehot: bool,
        channels: int,
        blocks: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.input = _TokenInput(in_dim, reduction_dim, onehot)
        self.needs = self.input.needs
        self.stem = nn.Conv1d(self.input.channels, channels, 3, padding=1)
        self.blocks = nn.ModuleList(ResBlock1d(channels, channels, 2 if i % 2 == 0 else 1) for i in range(blocks))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, out_dim)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x, mask = self.input(batch)
        x = self.stem(x) * mask.unsqueeze(1).to(x.dtype)
        for block in self.blocks:
            x, mask = block(x, mask)
        return self.fc(self.dropout(_masked_mean(x, mask)))


def repack(x: torch.Tensor, mask: torch.Tensor, width: int, side: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ``x`` (B, L, C) to exactly ``width`` positions, padded on ``side``."""
    b, length, c = x.shape
    lengths = mask.sum(1)
    if int(lengths.max()) > width:
        raise DataError(
            f"a sequence of {int(lengths.max())} nt exceeds the head's fixed input length {width} "
            f"(head.max_len); truncate the input (data.truncate) or retrain with a larger head.max_len"
        )
    out = x.new_zeros(b, width, c)
    new_mask = torch.zeros(b, width, dtype=torch.bool, device=x.device)
    for i in range(b):
        n = int(lengths[i])
        start = 0 if side == "right" else width - n
        out[i, start : start + n] = x[i, :n]
        new_mask[i, start : start + n] = True
    return out, new_mask


class CNNHead(Head):
    def __init__(
        self,
        in_dim: Optional[int],
        out_dim: int,
        reduction_dim: int,
        onehot: bool,
        filters: int,
        kernel_size: int,
        conv_layers: int,
        dense: int,
        dropout: float,
        pool: str,
        max_len: Optional[int],
        pad_side: str,
    ) -> None:
        super().__init__()
        self.input = _TokenInput(in_dim, reduction_dim, onehot)
        self.needs = self.input.needs
        self.pool, self.max_len, self.pad_side = pool, max_len, pad_side
        if pool == "flatten" and not max_len:
            raise ConfigError("head.pool=flatten needs a fixed input length (head.max_len)")
        cin = self.input.channels
        self.convs = nn.ModuleList()
        for _ in range(conv_layers):
            self.convs.append(nn.Conv1d(cin, filters, kernel_size))
            cin = filters
        feat = filters * max_len if pool == "flatten" and max_len else filters
        self.fc = nn.Linear(feat, dense)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(dense, out_dim)
        # Keras' "same" padding for even kernels: one more zero on the right than on the left.
        self.same = ((kernel_size - 1) // 2, kernel_size // 2)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x, mask = self.input(batch)
        if self.pool == "flatten":
            assert self.max_len is not None  # checked in __init__
            xt, mask = repack(x.transpose(1, 2), mask, self.max_len, self.pad_side)
            x = xt.transpose(1, 2)
        m = mask.unsqueeze(1).to(x.dtype)
        for conv in self.convs:
            x = F.relu(conv(F.pad(x, self.same))) * m
        if self.pool == "flatten":
            x = x.flatten(1)
        elif self.pool == "mean":
            x = _masked_mean(x, mask)
        else:
            x = x.masked_fill(~mask.unsqueeze(1), float("-inf")).amax(-1)
        return self.out(self.dropout(F.relu(self.fc(x))))


def _needs_lm(name: str, in_dim: Optional[int]) -> int:
    if in_dim is None:
        raise ConfigError(
            f"head.type={name} reads language-model embeddings; with backbone.name=none "
            f"use head.type=cnn or resnet1d (one-hot input)"
        )
    return in_dim


HeadBuilder = Callable[[HeadConfig, StructureConfig, Optional[int], int], Head]

#: name -> builder(head config, structure settings, embedding dim or None without a language model, output dim)
HEADS: dict[str, HeadBuilder] = {
    "mlp": lambda c, s, d, o: MLPHead(_needs_lm("mlp", d), o, list(c.hidden), c.dropout, c.pooling),
    "lamar": lambda c, s, d, o: LamarHead(_needs_lm("lamar", d), o, c.dropout),
    "resnet1d": lambda c, s, d, o: ResNet1DHead(d, o, c.reduction_dim, c.onehot, c.channels, c.blocks, c.dropout),
    "cnn": lambda c, s, d, o: CNNHead(
        d,
        o,
        c.reduction_dim,
        c.onehot,
        c.filters,
        c.kernel_size,
        c.conv_layers,
        c.dense,
        c.dropout,
        c.pool,
        c.max_len,
        c.pad_side,
    ),
    "pairwise": lambda c, s, d, o: PairwiseTaskHead(c, s, d),  # task=structure
}


def build_head(
    cfg: HeadConfig, in_dim: Optional[int], out_dim: int, structure: Optional[StructureConfig] = None
) -> Head:
    """The head of ``cfg`` (``structure``: the settings of a structure run's pairwise head)."""
    try:
        builder = HEADS[cfg.type]
    except KeyError:
        raise ConfigError(f"head.type={cfg.type!r} is not one of {sorted(HEADS)}") from None
    return builder(cfg, structure or StructureConfig(), in_dim, out_dim)


__all__ = ["CNNHead", "HEADS", "Head", "LamarHead", "MLPHead", "ResNet1DHead", "build_head"]
