"""RNA-FM's secondary-structure model: the RNA-FM encoder plus a pairwise ResNet head.

This is the network that rna-fm builds as ``Baseline("rna-fm",
pairwise_predictor_name="pc-resnet_1_sym_first:r-ss")`` and publishes as
``RNA-FM-ResNet_PDB-All.pth``. For one record (``<cls> x_1 .. x_L <eos>``) it computes:

1. the encoder's layer-12 representation (after the final LayerNorm in the 12-layer RNA-FM),
   with ``<cls>`` and ``<eos>`` dropped: ``(L, E)``;
2. a linear reduction ``E -> R`` (128), then the pair tensor ``[h_i, h_j]`` (``2R`` channels at
   ``(i, j)``: row token first);
3. a 1x1 convolution to ``C`` (64) channels, ``N`` (32) pre-activation residual blocks
   ``x + conv_d(relu(conv(relu(bn(x)))))`` -- 3x3 convolutions without bias, the second dilated by
   ``d = 2 ** (n % 3)`` -- and a 3x3 convolution to one channel;
4. symmetrisation by copying the upper triangle (diagonal included) onto the lower one.

The result is a logit map ``(L, L)``; its sigmoid is the base-pair probability. Dropout in the
blocks and batch-norm batch statistics only matter in training: this module is for inference and
always uses the batch-norm running statistics.
"""

from __future__ import annotations

import torch
from torch import nn

from rnalm.model.encoder import RNAEncoder

#: The encoder layer the pair head reads (rna-fm's ``need_embedding=[12]``, fixed for every backbone).
HEAD_LAYER = 12


def dilation_of(block: int) -> int:
    """Dilation of block ``block``'s second convolution: 1, 2, 4, 1, 2, 4, ..."""
    return 2 ** (block % 3)


class ResBlock(nn.Module):
    """Pre-activation residual block: batch norm, ReLU, 3x3 conv, ReLU, dilated 3x3 conv, plus input."""

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(torch.relu(self.bn1(x)))
        return x + self.conv2(torch.relu(out))


class PairResNet(nn.Module):
    """Per-token features ``(B, L, E)`` -> symmetric pair logits ``(B, L, L)``."""

    def __init__(self, embed_dim: int, reduced: int = 128, channels: int = 64, blocks: int = 32) -> None:
        super().__init__()
        self.reduce = nn.Linear(embed_dim, reduced)
        self.pair_in = nn.Conv2d(2 * reduced, channels, 1)
        self.blocks = nn.Sequential(*(ResBlock(channels, dilation_of(n)) for n in range(blocks)))
        self.pair_out = nn.Conv2d(channels, 1, 3, padding=1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = self.reduce(h)
        length = h.size(1)
        rows = h.unsqueeze(2).expand(-1, -1, length, -1)  # (B, L, L, R): h_i at (i, j)
        pairs = torch.cat([rows, rows.transpose(1, 2)], dim=-1).permute(0, 3, 1, 2)
        logits = self.pair_out(self.blocks(self.pair_in(pairs))).squeeze(1)
        upper = torch.triu(logits)
        return upper + torch.triu(logits, diagonal=1).transpose(1, 2)


class SSResNet(nn.Module):
    """RNA-FM encoder + :class:`PairResNet`: tokens of one record -> its ``(1, L, L)`` pair logits.

    Records go one per forward, as rna-fm's prediction script runs them: rna-fm zeroes padded
    positions rather than removing them, so a padded batch would give other maps.
    """

    def __init__(self, encoder: RNAEncoder, head: PairResNet) -> None:
        super().__init__()
        if encoder.num_layers < HEAD_LAYER:
            raise ValueError(f"the pair head reads encoder layer {HEAD_LAYER}; this encoder has {encoder.num_layers}")
        self.encoder = encoder
        self.head = head

    @property
    def max_length(self) -> int:
        """Longest record in nucleotides (the encoder's positions less ``<cls>`` and ``<eos>``)."""
        return self.encoder.config.max_positions - 2

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.eq(self.encoder.padding_idx).any():
            raise ValueError("SSResNet takes unpadded records (one record per forward)")
        out = self.encoder(tokens, repr_layers=[HEAD_LAYER], return_logits=False)
        return self.head(out["representations"][HEAD_LAYER][:, 1:-1])


__all__ = ["HEAD_LAYER", "PairResNet", "ResBlock", "SSResNet", "dilation_of"]
