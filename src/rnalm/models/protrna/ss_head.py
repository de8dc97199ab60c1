"""ProtRNA's RotaFormer secondary-structure head (``ssHead_RF_bprna.h5``), in PyTorch.

ProtRNA (TensorFlow) defines the head in ``downstream_ss/model.py`` (``SSPredictionModel``) with the
blocks of ``downstream_ss/network/pre_trained_embedding/model/`` (``EmbeddingModel.py``,
``EvoFormer.py``, ``AttentionModule.py``, ``LinearModule.py``) and the sizes of its ``Settings.py``.
It reads the backbone's last-layer representation of one sequence, ``<cls>``/``<eos>`` removed,
``x`` of shape ``(L, 1280)``, and computes:

* embedding: a one-row "MSA" ``m = x W_1d + b`` (``1 x L x 256``) and a pair map
  ``z_ij = left(x_i) + right(x_j) + W_rel onehot(clip(i - j, -32, 32) + 32)`` (``L x L x 128``);
* twelve Evoformer-style iterations (saved as three Keras layers of four), each
  ``m += row attention of LN(m) biased by LN(z)``, ``m += transition(m)``,
  ``z += outer product mean(m)``, ``z +=`` triangle multiplication (outgoing, then incoming),
  ``z +=`` triangle attention (starting node, then ending node), ``z += transition(z)``;
  there is no MSA column attention;
* a 5x5 convolution of ``z`` to one channel (zero padding, "same" size), symmetrised:
  ``out = (c + c^T) / 2``, the ``L x L`` logits.

Differences from AlphaFold's Evoformer that ProtRNA's code has and we keep: no masks, no dropout at
inference, the pair bias of the attentions is not scaled, and the outer product mean divides its
output *including the bias* by ``N_seq + 1e-3`` (``N_seq = 1`` here). All layer norms use
``eps = 1e-5`` over the last axis with a biased variance. Parameters are named after ProtRNA's
TensorFlow variables (``query_w`` ``[in, heads, c]``, ``output_w`` ``[heads, c, out]``...), so the
converter (:mod:`.ss_convert`) maps names one to one; its Dense layers are torch ``nn.Linear``.

:data:`DEFAULT_THRESHOLD`: ProtRNA's decision rule, ``sigmoid(logits) > 0.25`` with no further
post-processing (``test_downstream_ss.py``: "selected on VL0 during training").
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

#: ProtRNA's threshold on ``sigmoid(logits)`` for bpRNA TS0 (strictly greater pairs are predicted).
DEFAULT_THRESHOLD = 0.25
#: ``LayerNorm`` in ``AttentionModule.py``: ``eps = 1e-5``.
LAYER_NORM_EPS = 1e-5
#: ``OuterProductMean`` divides by ``N_seq + OUTER_EPS``.
OUTER_EPS = 1e-3


@dataclass(frozen=True)
class HeadConfig:
    """Sizes of the head; the defaults are ProtRNA's (``downstream_ss/model.py``, ``Settings.py``)."""

    input_dim: int = 1280
    msa_dim: int = 256
    pair_dim: int = 128
    max_relative_distance: int = 32
    msa_heads: int = 8
    msa_head_dim: int = 32
    pair_heads: int = 4
    pair_head_dim: int = 32
    outer_dim: int = 32
    transition_factor: int = 4
    num_ensembles: int = 3
    iterations_per_ensemble: int = 4
    kernel_size: int = 5

    @property
    def num_iterations(self) -> int:
        return self.num_ensembles * self.iterations_per_ensemble

    def to_dict(self) -> dict:
        return asdict(self)


def layer_norm(dim: int) -> nn.LayerNorm:
    return nn.LayerNorm(dim, eps=LAYER_NORM_EPS)


class Attention(nn.Module):
    """Gated multi-head attention with an additive bias (``AttentionModule.Attention``).

    ``x``: ``(B, Q, in)``, attending within each of the ``B`` rows; ``bias``: ``(heads, Q, Q)``.
    ``chunk`` bounds memory by running that many rows at a time (rows are independent).
    """

    def __init__(self, in_dim: int, heads: int, head_dim: int, out_dim: int) -> None:
        super().__init__()
        self.query_w = nn.Parameter(torch.zeros(in_dim, heads, head_dim))
        self.key_w = nn.Parameter(torch.zeros(in_dim, heads, head_dim))
        self.value_w = nn.Parameter(torch.zeros(in_dim, heads, head_dim))
        self.gating_w = nn.Parameter(torch.zeros(in_dim, heads, head_dim))
        self.gating_b = nn.Parameter(torch.ones(heads, head_dim))
        self.output_w = nn.Parameter(torch.zeros(heads, head_dim, out_dim))
        self.output_b = nn.Parameter(torch.zeros(out_dim))

    def forward(self, x: torch.Tensor, bias: torch.Tensor, chunk: int = 64) -> torch.Tensor:
        return torch.cat([self._rows(x[i : i + chunk], bias) for i in range(0, x.shape[0], chunk)])

    def _rows(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        q = torch.einsum("bqa,ahc->bqhc", x, self.query_w) / math.sqrt(self.query_w.shape[-1])
        k = torch.einsum("bka,ahc->bkhc", x, self.key_w)
        v = torch.einsum("bka,ahc->bkhc", x, self.value_w)
        weights = torch.softmax(torch.einsum("bqhc,bkhc->bhqk", q, k) + bias, dim=-1)
        avg = torch.einsum("bhqk,bkhc->bqhc", weights, v)
        gate = torch.sigmoid(torch.einsum("bqa,ahc->bqhc", x, self.gating_w) + self.gating_b)
        return torch.einsum("bqhc,hco->bqo", avg * gate, self.output_w) + self.output_b


class RowAttentionWithPairBias(nn.Module):
    """``m``: ``(S, L, Cm)`` attends along ``L``, biased by ``LN(z) W`` (``MSARowAttentionWithPairBias``)."""

    def __init__(self, c: HeadConfig) -> None:
        super().__init__()
        self.query_norm = layer_norm(c.msa_dim)
        self.feat_2d_norm = layer_norm(c.pair_dim)
        self.feat_2d_weights = nn.Parameter(torch.zeros(c.pair_dim, c.msa_heads))
        self.attention = Attention(c.msa_dim, c.msa_heads, c.msa_head_dim, c.msa_dim)

    def forward(self, m: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        bias = torch.einsum("qkc,ch->hqk", self.feat_2d_norm(z), self.feat_2d_weights)
        return self.attention(self.query_norm(m), bias)


class TriangleAttention(nn.Module):
    """Attention along rows of ``z`` (starting node) or, transposed, along columns (ending node)."""

    def __init__(self, c: HeadConfig, per_column: bool) -> None:
        super().__init__()
        self.per_column = per_column
        self.query_norm = layer_norm(c.pair_dim)
        self.feat_2d_weights = nn.Parameter(torch.zeros(c.pair_dim, c.pair_heads))
        self.attention = Attention(c.pair_dim, c.pair_heads, c.pair_head_dim, c.pair_dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.per_column:
            z = z.transpose(0, 1)
        z = self.query_norm(z)
        out = self.attention(z, torch.einsum("qkc,ch->hqk", z, self.feat_2d_weights))
        return out.transpose(0, 1) if self.per_column else out


class TriangleMultiplication(nn.Module):
    """Gated products over the third node: outgoing ``sum_k a_ik b_jk``, incoming ``sum_k a_kj b_ki``.

    ProtRNA sizes the intermediate channels by ``num_intermediate_channel`` but applies its
    ``gating_linear`` (``num_intermediate x out``) to the block's input, so the code only runs when
    intermediate, input and output widths are all the pair width; so is it here.
    """

    def __init__(self, c: HeadConfig, outgoing: bool) -> None:
        super().__init__()
        self.equation = "ikc,jkc->ijc" if outgoing else "kjc,kic->ijc"
        self.layer_norm_input = layer_norm(c.pair_dim)
        self.left_projection = nn.Linear(c.pair_dim, c.pair_dim)
        self.right_projection = nn.Linear(c.pair_dim, c.pair_dim)
        self.left_gate = nn.Linear(c.pair_dim, c.pair_dim)
        self.right_gate = nn.Linear(c.pair_dim, c.pair_dim)
        self.center_layer_norm = layer_norm(c.pair_dim)
        self.output_projection = nn.Linear(c.pair_dim, c.pair_dim)
        self.gating_linear = nn.Linear(c.pair_dim, c.pair_dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = self.layer_norm_input(z)
        a = self.left_projection(z) * torch.sigmoid(self.left_gate(z))
        b = self.right_projection(z) * torch.sigmoid(self.right_gate(z))
        out = self.output_projection(self.center_layer_norm(torch.einsum(self.equation, a, b)))
        return out * torch.sigmoid(self.gating_linear(z))


class OuterProductMean(nn.Module):
    """``(sum_s a_si (x) b_sj) W + bias``, all divided by ``S + 1e-3`` (``S`` MSA rows)."""

    def __init__(self, c: HeadConfig) -> None:
        super().__init__()
        self.layer_norm_input = layer_norm(c.msa_dim)
        self.left_projection = nn.Linear(c.msa_dim, c.outer_dim)
        self.right_projection = nn.Linear(c.msa_dim, c.outer_dim)
        self.output_w = nn.Parameter(torch.zeros(c.outer_dim, c.outer_dim, c.pair_dim))
        self.output_b = nn.Parameter(torch.zeros(c.pair_dim))

    def forward(self, m: torch.Tensor) -> torch.Tensor:
        m = self.layer_norm_input(m)
        outer = torch.einsum("sic,sje->ijce", self.left_projection(m), self.right_projection(m))
        out = torch.einsum("ijce,cef->ijf", outer, self.output_w) + self.output_b
        return out / (m.shape[0] + OUTER_EPS)


class Transition(nn.Module):
    """``relu(LN(x) W1 + b1) W2 + b2``, widening by ``transition_factor``."""

    def __init__(self, dim: int, factor: int) -> None:
        super().__init__()
        self.input_layer_norm = layer_norm(dim)
        self.transition1 = nn.Linear(dim, factor * dim)
        self.transition2 = nn.Linear(factor * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.transition2(torch.relu(self.transition1(self.input_layer_norm(x))))


class EvoformerIteration(nn.Module):
    """One iteration: MSA updates first, then pair updates, each a residual."""

    def __init__(self, c: HeadConfig) -> None:
        super().__init__()
        self.msa_row_attention_with_pair_bias = RowAttentionWithPairBias(c)
        self.msa_transition = Transition(c.msa_dim, c.transition_factor)
        self.outer_product_mean = OuterProductMean(c)
        self.triangle_multiplication_outgoing = TriangleMultiplication(c, outgoing=True)
        self.triangle_multiplication_incoming = TriangleMultiplication(c, outgoing=False)
        self.triangle_attention_starting_node = TriangleAttention(c, per_column=False)
        self.triangle_attention_ending_node = TriangleAttention(c, per_column=True)
        self.pair_transition = Transition(c.pair_dim, c.transition_factor)

    def forward(self, m: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = m + self.msa_row_attention_with_pair_bias(m, z)
        m = m + self.msa_transition(m)
        z = z + self.outer_product_mean(m)
        for block in (
            self.triangle_multiplication_outgoing,
            self.triangle_multiplication_incoming,
            self.triangle_attention_starting_node,
            self.triangle_attention_ending_node,
            self.pair_transition,
        ):
            z = z + block(z)
        return m, z


class Embedding(nn.Module):
    """1-D features to the one-row MSA and the pair map (``EmbeddingModel.Embedding``)."""

    def __init__(self, c: HeadConfig) -> None:
        super().__init__()
        self.max_relative_distance = c.max_relative_distance
        self.preprocess_1d = nn.Linear(c.input_dim, c.msa_dim)
        self.left_single = nn.Linear(c.input_dim, c.pair_dim)
        self.right_single = nn.Linear(c.input_dim, c.pair_dim)
        self.relative_position = nn.Linear(2 * c.max_relative_distance + 1, c.pair_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pos = torch.arange(x.shape[0], device=x.device)
        r = self.max_relative_distance
        offset = (pos[:, None] - pos[None, :]).clamp(-r, r) + r
        # a one-hot times a matrix is a row lookup
        rel = self.relative_position.weight.T[offset] + self.relative_position.bias
        z = self.left_single(x)[:, None] + self.right_single(x)[None] + rel
        return self.preprocess_1d(x)[None], z


class RotaFormerHead(nn.Module):
    """``(L, input_dim)`` representations to ``(L, L)`` symmetric base-pair logits."""

    def __init__(self, config: HeadConfig = HeadConfig()) -> None:
        super().__init__()
        self.config = config
        self.embedding = Embedding(config)
        self.iterations = nn.ModuleList(EvoformerIteration(config) for _ in range(config.num_iterations))
        self.conv = nn.Conv2d(config.pair_dim, 1, config.kernel_size, padding=config.kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.config.input_dim:
            raise ValueError(f"expected representations of shape (L, {self.config.input_dim}), got {tuple(x.shape)}")
        m, z = self.embedding(x)
        for iteration in self.iterations:
            m, z = iteration(m, z)
        logits = self.conv(z.permute(2, 0, 1)[None])[0, 0]
        return 0.5 * (logits + logits.T)


__all__ = [
    "DEFAULT_THRESHOLD",
    "LAYER_NORM_EPS",
    "OUTER_EPS",
    "HeadConfig",
    "Attention",
    "RowAttentionWithPairBias",
    "TriangleAttention",
    "TriangleMultiplication",
    "OuterProductMean",
    "Transition",
    "EvoformerIteration",
    "Embedding",
    "RotaFormerHead",
]
