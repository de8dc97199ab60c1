"""The pairwise head: per-nucleotide features -> ``L x L`` base-pair logits.

Pipeline: project each token's features to ``proj_dim``; build pair features for every ``(i, j)``
(outer concatenation ``[x_i, x_j]``, outer product ``x_i * x_j`` or both, plus a one-hot of the
binned distance ``|i - j|`` so the convolutions know how far apart two bases are, plus optional
attention maps of the backbone, plus optionally a base-pair probability map from a thermodynamic
model such as ViennaRNA, as two channels: ``p`` and ``1 + log10(max(p, 1e-4)) / 4``, which spreads
the many small probabilities over ``[0, 1]``, and with ``bpp_prior`` the map's logit
``log(p / (1 - p))``, clipped to ``|.| <= 9.2``, times a learned scale that starts at 1 is added
to the output logits, so an untrained head already predicts the pairs the thermodynamic model
gives probability > 0.5 and training refines that; with ``bpp_maps`` > 1, maps of the same
sequences under several energy models, two channels each, the prior from the first);
a 1x1 convolution to ``channels``; a stack of pre-activation 2-D
residual blocks with dilated 3x3 convolutions; then ``h <- (h + h^T) / 2`` and a final 1x1
convolution. That step is pointwise, so the logits are symmetric by construction; as optimised
kernels may round cell ``(i, j)`` and ``(j, i)`` differently in the last bit, the logits are
averaged with their transpose once more, which makes them **exactly** (bitwise) symmetric.

Padding never changes a real cell's output: pair features are zeroed outside the ``L_i x L_i``
block of each sequence, the input of every convolution is re-zeroed there (so a padded batch
computes what zero-padded single sequences compute), and normalisation is a per-cell LayerNorm
over channels (batch or instance statistics would mix in padding). Padded cells get the logit
:data:`PAD_LOGIT` (probability 0).

The baseline without a language model is the same head on one-hot nucleotides
(:func:`one_hot_inputs`, ``in_dim=4``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint as _checkpoint

#: Logit written to padded cells (sigmoid -> 0; finite so masked losses stay finite).
PAD_LOGIT = -1e4
#: Right edges of the distance bins for ``|i - j|`` (16 bins: 0..7 exactly, then log-spaced).
DISTANCE_EDGES = (1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32, 48, 64, 128)
PAIR_FEATURES = ("concat", "product", "both")
#: Channels made of a base-pair probability map ``p``: ``p`` and its log-scaled copy.
BPP_CHANNELS = 2
#: Floor of the log-scaled channel: ``1 + log10(max(p, BPP_FLOOR)) / 4`` is 0 below it, 1 at ``p = 1``.
BPP_FLOOR = 1e-4


@dataclass
class PairwiseHeadConfig:
    """Hyper-parameters of :class:`PairwiseHead` (JSON-serialisable, stored with trained heads).

    Attributes:
        in_dim: per-token feature size (LM embedding width, or 4 for one-hot).
        attn_channels: number of attention maps given per sequence (layers x heads), 0 = none.
        proj_dim: size tokens are reduced to before pairing.
        pair_features: ``"concat"`` (``2 * proj_dim`` channels), ``"product"`` or ``"both"`` (the
            default: with the product, complementarity is one multiplication away; on the
            planted-hairpin test ``concat`` alone needed several times more steps).
        distance_features: add the one-hot binned ``|i - j|`` (16 channels).
        channels, blocks, kernel_size: the 2-D ResNet.
        dilations: per-block dilation of the first convolution, cycled over the blocks.
        dropout: 2-D dropout inside the blocks.
        gradient_checkpointing: recompute block activations in backward (memory ~ 1 block).
        bpp: the head reads a ``(B, L, L)`` base-pair probability map (:data:`BPP_CHANNELS` channels).
        bpp_prior: with ``bpp``, also add the map's (clipped) logit, times a learned scalar that
            starts at 1, to the output logits (a residual around the thermodynamic prediction).
        bpp_maps: with ``bpp``, how many maps per sequence (one per ViennaRNA energy parameter
            set, ``structure.vienna_params``): more than one are given as ``(B, K, L, L)`` and each
            is read as :data:`BPP_CHANNELS` channels; the prior uses the first.
    """

    in_dim: int
    attn_channels: int = 0
    proj_dim: int = 32
    pair_features: str = "both"
    distance_features: bool = True
    channels: int = 64
    blocks: int = 8
    kernel_size: int = 3
    dilations: tuple[int, ...] = (1, 2, 4, 8)
    dropout: float = 0.1
    gradient_checkpointing: bool = False
    bpp: bool = False
    bpp_prior: bool = False
    bpp_maps: int = 1

    def __post_init__(self) -> None:
        self.dilations = tuple(int(d) for d in self.dilations)
        if self.pair_features not in PAIR_FEATURES:
            raise ValueError(f"pair_features must be one of {PAIR_FEATURES}, got {self.pair_features!r}")
        if self.kernel_size % 2 == 0:
            raise ValueError("kernel_size must be odd so that padding keeps the map size")
        if self.in_dim <= 0 or self.proj_dim <= 0 or self.channels <= 0 or self.blocks < 0:
            raise ValueError("in_dim, proj_dim, channels must be positive and blocks non-negative")
        if not self.dilations or min(self.dilations) < 1:
            raise ValueError("dilations must be a non-empty list of positive integers")
        if self.bpp_prior and not self.bpp:
            raise ValueError("bpp_prior needs bpp=True")
        if isinstance(self.bpp_maps, bool) or not isinstance(self.bpp_maps, int) or self.bpp_maps < 1:
            raise ValueError(f"bpp_maps must be a positive integer, got {self.bpp_maps!r}")
        if self.bpp_maps > 1 and not self.bpp:
            raise ValueError(f"bpp_maps={self.bpp_maps} needs bpp=True")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["dilations"] = list(self.dilations)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "PairwiseHeadConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown pairwise-head config keys {sorted(unknown)}")
        return cls(**d)


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channel axis of ``(B, C, H, W)``: statistics per cell, never across cells."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    def gelu_cells_last(self, x: torch.Tensor) -> torch.Tensor:
        """``gelu(norm(x))`` of ``(B, H, W, C)`` cells-last features: no permute, one new tensor."""
        n = self.norm
        return torch.ops.aten.gelu_(F.layer_norm(x, n.normalized_shape, n.weight, n.bias, n.eps))


class ResBlock2d(nn.Module):
    """Pre-activation residual block; every convolution input is re-masked (see module docstring)."""

    def __init__(self, channels: int, kernel_size: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = ChannelLayerNorm(channels)
        self.conv1 = nn.Conv2d(
            channels, channels, kernel_size, padding=dilation * (kernel_size // 2), dilation=dilation
        )
        self.norm2 = ChannelLayerNorm(channels)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2)
        self.dropout = nn.Dropout2d(dropout) if dropout else nn.Identity()

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.gelu(self.norm1(x)) * mask)
        h = self.dropout(h)
        h = self.conv2(F.gelu(self.norm2(h)) * mask)
        return (x + h) * mask

    def infer(self, x: torch.Tensor, zero_padding) -> torch.Tensor:
        """:meth:`forward` on ``(B, H, W, C)`` cells-last features (inference only: ``x`` is updated
        in place). ``zero_padding(h)`` zeroes ``h``'s padded cells in place; the residual sum is
        not re-masked: its padded cells are never read by a real one before the next masking."""
        h = _conv_cells_last(self.conv1, zero_padding(self.norm1.gelu_cells_last(x)))
        h = _conv_cells_last(self.conv2, zero_padding(self.norm2.gelu_cells_last(h)))
        return x.add_(h)


def _conv_cells_last(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """``conv`` of ``(B, H, W, C)`` features, read and returned cells-last (channels_last memory)."""
    return conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


def distance_bins(length: int, device: torch.device) -> torch.Tensor:
    """``(len(DISTANCE_EDGES) + 1, L, L)`` one-hot of the binned ``|i - j|``."""
    return F.one_hot(distance_index(length, device), len(DISTANCE_EDGES) + 1).permute(2, 0, 1)


class PairwiseHead(nn.Module):
    """``(B, L, C)`` token features (+ ``(B, A, L, L)`` attention maps) -> ``(B, L, L)`` logits."""

    def __init__(self, config: PairwiseHeadConfig) -> None:
        super().__init__()
        c = config
        self.config = c
        self.proj = nn.Sequential(nn.Linear(c.in_dim, c.proj_dim), nn.LayerNorm(c.proj_dim))
        n_pair = {"concat": 2 * c.proj_dim, "product": c.proj_dim, "both": 3 * c.proj_dim}[c.pair_features]
        n_in = (
            n_pair
            + (len(DISTANCE_EDGES) + 1 if c.distance_features else 0)
            + c.attn_channels
            + (BPP_CHANNELS * c.bpp_maps if c.bpp else 0)
        )
        self.stem = nn.Conv2d(n_in, c.channels, 1)
        self.blocks = nn.ModuleList(
            ResBlock2d(c.channels, c.kernel_size, c.dilations[k % len(c.dilations)], c.dropout) for k in range(c.blocks)
        )
        self.out_norm = ChannelLayerNorm(c.channels)
        self.out = nn.Conv2d(c.channels, 1, 1)
        if c.bpp_prior:
            self.bpp_scale = nn.Parameter(torch.ones(()))

    def check_inputs(self, x: torch.Tensor, attentions: Optional[torch.Tensor], bpp: Optional[torch.Tensor]) -> None:
        """A clear error for inputs this head was not built for."""
        c = self.config
        if x.ndim != 3 or x.shape[-1] != c.in_dim:
            raise ValueError(f"expected (batch, length, {c.in_dim}) features, got {tuple(x.shape)}")
        b, length, _ = x.shape
        if c.attn_channels:
            if attentions is None:
                raise ValueError(f"this head was built for {c.attn_channels} attention maps; none given")
            if attentions.shape != (b, c.attn_channels, length, length):
                raise ValueError(
                    f"attention maps must be {(b, c.attn_channels, length, length)}, got {tuple(attentions.shape)}"
                )
        elif attentions is not None:
            raise ValueError("this head was built without attention maps (attn_channels=0)")
        if c.bpp:
            if bpp is None:
                raise ValueError("this head was built for a base-pair probability map (bpp=True); none given")
            shape = (b, length, length) if c.bpp_maps == 1 else (b, c.bpp_maps, length, length)
            if bpp.shape != shape:
                raise ValueError(
                    f"this head was built for {c.bpp_maps} base-pair probability map(s) per sequence "
                    f"(bpp_maps={c.bpp_maps}): they must be {shape}, got {tuple(bpp.shape)}"
                )
        elif bpp is not None:
            raise ValueError("this head was built without a base-pair probability map (bpp=False)")

    def pair_features(
        self, x: torch.Tensor, attentions: Optional[torch.Tensor], bpp: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        c = self.config
        self.check_inputs(x, attentions, bpp)
        b, length, _ = x.shape
        z = self.proj(x).transpose(1, 2)  # B, D, L
        zi = z[:, :, :, None].expand(-1, -1, -1, length)
        zj = z[:, :, None, :].expand(-1, -1, length, -1)
        feats = []
        if c.pair_features in ("concat", "both"):
            feats += [zi, zj]
        if c.pair_features in ("product", "both"):
            feats.append(zi * zj)
        if c.distance_features:
            feats.append(distance_bins(length, x.device).to(z.dtype)[None].expand(b, -1, -1, -1))
        if attentions is not None:
            feats.append(attentions.to(z.dtype))
        if bpp is not None:
            for one in bpp_maps(bpp):
                p, logp = bpp_channels(one.to(z.dtype))
                feats += [p[:, None], logp[:, None]]
        return torch.cat(feats, dim=1)

    def forward(
        self,
        x: torch.Tensor,
        mask: Optional[torch.Tensor] = None,
        attentions: Optional[torch.Tensor] = None,
        bpp: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """``mask``: ``(B, L)`` bool, True on real nucleotides (default: all real); ``bpp``:
        ``(B, L, L)`` base-pair probabilities (heads built with ``bpp=True``; ``(B, K, L, L)``
        with ``bpp_maps=K`` > 1), zero-padded.

        Under :func:`torch.inference_mode` (and not training) the same function is computed in
        :meth:`infer`'s layout, which allocates far fewer ``B x C x L x L`` tensors; training and
        ``torch.no_grad`` evaluation keep this path, so their results never change."""
        if torch.is_inference_mode_enabled() and not self.training:
            return self.infer(x, mask, attentions, bpp)
        self.check_inputs(x, attentions, bpp)
        b, length, _ = x.shape
        if mask is None:
            mask = torch.ones(b, length, dtype=torch.bool, device=x.device)
        pm = (mask[:, :, None] & mask[:, None, :])[:, None]  # B, 1, L, L
        pmf = pm.to(x.dtype)
        h = self.stem(self.pair_features(x, attentions, bpp) * pmf) * pmf
        for block in self.blocks:
            if self.config.gradient_checkpointing and self.training and torch.is_grad_enabled():
                h = _checkpoint(block, h, pmf, use_reentrant=False)
            else:
                h = block(h, pmf)
        h = (h + h.transpose(-1, -2)) / 2
        return self._finish(self.out(F.gelu(self.out_norm(h))).squeeze(1), bpp, pm[:, 0])

    def _finish(self, logits: torch.Tensor, bpp: Optional[torch.Tensor], pm: torch.Tensor) -> torch.Tensor:
        """The prior, exact symmetry and the padding logit on ``(B, L, L)`` logits."""
        if self.config.bpp_prior:
            assert bpp is not None, "a head built with bpp_prior reads the bpp feature"
            # in float32 whatever the autocast type: in bf16, 1 - 1e-4 rounds to 1 and the logit is infinite
            p = bpp_maps(bpp)[0].float().clamp(BPP_FLOOR, 1.0 - BPP_FLOOR)
            logits = logits.float() + self.bpp_scale * torch.log(p / (1.0 - p))
        logits = (logits + logits.transpose(-1, -2)) / 2  # removes kernel rounding asymmetries: exact
        return logits.masked_fill(~pm, PAD_LOGIT)

    def infer(
        self,
        x: torch.Tensor,
        mask: Optional[torch.Tensor] = None,
        attentions: Optional[torch.Tensor] = None,
        bpp: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """:meth:`forward`'s function for inference, on ``(B, L, L, C)`` cells-last features.

        The same algebra in another order: the stem's 1x1 convolution of the concatenated pair
        features is a sum of per-token projections (``W [x_i; x_j] = W_a x_i + W_b x_j``; the
        product term one batched matrix product; the distance one-hot a table lookup), so no
        ``B x n_in x L x L`` input is built; LayerNorm runs over the last axis without permutes,
        GELU and masking in place, and masking zeroes only the padded rows and columns of each
        sequence (masking by a product where the mask is not a prefix). Equal to :meth:`forward`
        up to float rounding (tested to 1e-5); no autograd graph may pass through it."""
        self.check_inputs(x, attentions, bpp)
        b, length, _ = x.shape
        if mask is None:
            mask = torch.ones(b, length, dtype=torch.bool, device=x.device)
        pm = mask[:, :, None] & mask[:, None, :]  # B, L, L
        zero_padding = _padding_zeroer(mask, pm)
        h = self._stem_cells_last(x, attentions, bpp)
        for block in self.blocks:
            assert isinstance(block, ResBlock2d)
            h = block.infer(h, zero_padding)
        h = h + h.transpose(1, 2)
        h = self.out_norm.gelu_cells_last(h.div_(2))
        logits = F.linear(h, self.out.weight[:, :, 0, 0], self.out.bias)[..., 0]
        return self._finish(logits, bpp, pm)

    def _stem_cells_last(
        self, x: torch.Tensor, attentions: Optional[torch.Tensor], bpp: Optional[torch.Tensor]
    ) -> torch.Tensor:
        """The stem's output ``(B, L, L, channels)`` in float32, from per-token projections (padded
        cells are not zeroed: every block zeroes its convolutions' inputs)."""
        c = self.config
        b, length, _ = x.shape
        z = self.proj(x)  # B, L, D
        w = self.stem.weight[:, :, 0, 0]  # channels, n_in
        d, k = c.proj_dim, 0
        rows = cols = None
        if c.pair_features in ("concat", "both"):
            rows, cols, k = F.linear(z, w[:, :d]), F.linear(z, w[:, d : 2 * d]), 2 * d
        if c.pair_features in ("product", "both"):
            # sum_d W[c, d] z_i[d] z_j[d] for every (i, j): z (L x D) @ [z_j[d] W[c, d]] (D x L*C)
            m = z.transpose(1, 2)[:, :, :, None] * w[:, k : k + d].t()[None, :, None, :]  # B, D, L, C
            h = torch.bmm(z, m.reshape(b, d, length * c.channels)).view(b, length, length, c.channels).float()
            k += d
        else:
            h = torch.zeros(b, length, length, c.channels, device=x.device)
        if rows is not None and cols is not None:
            h += rows[:, :, None, :]
            h += cols[:, None, :, :]
        assert self.stem.bias is not None
        table = self.stem.bias[None]  # the bias, plus the distance one-hot's columns
        if c.distance_features:
            nd = len(DISTANCE_EDGES) + 1
            table = w[:, k : k + nd].t() + table
            k += nd
            h += table[distance_index(length, x.device)][None]
        else:
            h += table[0]
        if attentions is not None:
            h += attentions.to(z.dtype).permute(0, 2, 3, 1) @ w[:, k : k + c.attn_channels].t()
            k += c.attn_channels
        if bpp is not None:
            for one in bpp_maps(bpp):
                p, logp = bpp_channels(one.to(z.dtype))
                h.addcmul_(p[..., None], w[:, k])
                h.addcmul_(logp[..., None], w[:, k + 1])
                k += BPP_CHANNELS
        return h


def bpp_maps(bpp: torch.Tensor) -> list[torch.Tensor]:
    """The ``(B, L, L)`` maps of a ``bpp`` input: itself, or each of ``(B, K, L, L)`` in order."""
    return [bpp] if bpp.ndim == 3 else list(bpp.unbind(1))


def bpp_channels(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The two channels read from a base-pair probability map: ``p`` and its log-scaled copy."""
    p = p.clamp(0.0, 1.0)
    return p, 1.0 + torch.log10(p.clamp(min=BPP_FLOOR)) / 4.0


def _padding_zeroer(mask: torch.Tensor, pm: torch.Tensor):
    """``zero(h)``: ``h`` (``(B, L, L, C)``) with the cells outside ``pm`` zeroed in place. For
    prefix masks (padding on the right, as batches are built) only the padded rows and columns are
    written, so a batch of equal lengths costs nothing."""
    lengths = mask.sum(1)
    prefix = torch.equal(mask, torch.arange(mask.shape[1], device=mask.device)[None] < lengths[:, None])
    if not prefix:
        keep = pm[..., None]
        return lambda h: h.mul_(keep)
    cuts = [(r, n) for r, n in enumerate(lengths.tolist()) if n < mask.shape[1]]

    def zero(h: torch.Tensor) -> torch.Tensor:
        for r, n in cuts:
            h[r, n:].zero_()
            h[r, :n, n:].zero_()
        return h

    return zero


def distance_index(length: int, device: torch.device) -> torch.Tensor:
    """``(L, L)`` bin of ``|i - j|`` (:data:`DISTANCE_EDGES`)."""
    pos = torch.arange(length, device=device)
    return torch.bucketize((pos[:, None] - pos[None, :]).abs(), torch.tensor(DISTANCE_EDGES, device=device), right=True)


# ------------------------------------------------------------------------- one-hot baseline
ONE_HOT_LETTERS = "ACGU"


def one_hot_inputs(
    sequences: Sequence[str], device: Optional[torch.device] = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, L, 4)`` one-hot of A, C, G, U (T read as U, any case) and the ``(B, L)`` mask.

    Other letters (N, IUPAC codes) are all-zero rows: present, but with no identity.
    """
    if not sequences:
        raise ValueError("no sequences")
    length = max(len(s) for s in sequences)
    table = torch.full((256,), -1, dtype=torch.long)
    for k, ch in enumerate(ONE_HOT_LETTERS):
        table[ord(ch)] = table[ord(ch.lower())] = k
    table[ord("T")] = table[ord("t")] = ONE_HOT_LETTERS.index("U")
    idx = torch.full((len(sequences), length), -1, dtype=torch.long)
    mask = torch.zeros(len(sequences), length, dtype=torch.bool)
    for r, s in enumerate(sequences):
        codes = torch.frombuffer(bytearray(s.encode("latin-1", errors="replace")), dtype=torch.uint8).long()
        idx[r, : len(s)] = table[codes]
        mask[r, : len(s)] = True
    x = F.one_hot(idx.clamp(min=0), 4).float() * (idx >= 0)[..., None]
    return x.to(device), mask.to(device)


def one_hot_head(**overrides) -> PairwiseHead:
    """The no-language-model baseline: a :class:`PairwiseHead` on one-hot nucleotides."""
    return PairwiseHead(PairwiseHeadConfig(in_dim=len(ONE_HOT_LETTERS), **overrides))


__all__ = [
    "PairwiseHead",
    "PairwiseHeadConfig",
    "ResBlock2d",
    "ChannelLayerNorm",
    "one_hot_inputs",
    "one_hot_head",
    "distance_bins",
    "PAD_LOGIT",
    "DISTANCE_EDGES",
    "BPP_CHANNELS",
    "BPP_FLOOR",
    "bpp_maps",
]
