"""Building blocks of the encoder.

Parameter names follow fair-esm's (``self_attn.q_proj``, ``fc1``, ``final_layer_norm`` ...) because
three of the five published formats already use them; converters for the others rename tensors
into this layout. Tensors are batch-first ``(B, T, C)`` throughout.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


def gelu(x: torch.Tensor) -> torch.Tensor:
    """Exact (erf) GELU, as in ESM and BERT; the tanh approximation would break fidelity."""
    return F.gelu(x)


class RotaryEmbedding(nn.Module):
    """Rotary position embedding (RoFormer) in the rotate-half layout that ESM-2 uses.

    ``inv_freq`` is a non-persistent buffer: it is a function of the head size, so checkpoints
    that store it (fair-esm, Hugging Face) are checked and dropped by their converters.
    """

    def __init__(self, dim: int, base: float = 10000.0) -> None:
        super().__init__()
        # computed on the CPU even in a shape-only ``meta`` build, where this pow would import torch._dynamo
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32, device="cpu") / dim))
        self.inv_freq: torch.Tensor
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self._cache: tuple[int, torch.device, torch.dtype, torch.Tensor, torch.Tensor] | None = None

    def cos_sin(self, seq_len: int, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        c = self._cache
        if c is None or c[0] < seq_len or c[1] != device or c[2] != dtype:
            t = torch.arange(seq_len, device=device, dtype=torch.float32)
            freqs = torch.outer(t, self.inv_freq.to(device))
            emb = torch.cat((freqs, freqs), dim=-1)
            c = (seq_len, device, dtype, emb.cos().to(dtype), emb.sin().to(dtype))
            self._cache = c
        return c[3][:seq_len], c[4][:seq_len]

    @staticmethod
    def _rotate_half(x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x.chunk(2, dim=-1)
        return torch.cat((-x2, x1), dim=-1)

    def forward(self, q: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cos, sin = self.cos_sin(q.shape[-2], q.device, q.dtype)
        return q * cos + self._rotate_half(q) * sin, k * cos + self._rotate_half(k) * sin


class SelfAttention(nn.Module):
    """Multi-head self-attention through ``scaled_dot_product_attention``.

    When attention weights are requested (attention maps, contacts) it takes an exact explicit
    path with a float32 softmax, as fair-esm does, and returns per-head weights.
    """

    def __init__(self, embed_dim: int, num_heads: int, rotary: bool, dropout: float = 0.0) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        self.rot_emb = RotaryEmbedding(self.head_dim) if rotary else None

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(
        self,
        x: torch.Tensor,
        attn_mask: Optional[torch.Tensor],
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``attn_mask``: bool ``(B, 1, 1, T)``, True where a key may be attended, or None."""
        b, t, c = x.shape
        q, k, v = self._split(self.q_proj(x)), self._split(self.k_proj(x)), self._split(self.v_proj(x))
        if self.rot_emb is not None:
            q, k = self.rot_emb(q, k)
        weights = None
        if need_weights:
            scores = torch.matmul(q * (self.head_dim**-0.5), k.transpose(-1, -2))
            if attn_mask is not None:
                scores = scores.masked_fill(~attn_mask, float("-inf"))
            weights = torch.softmax(scores.float(), dim=-1)
            probs = weights.to(q.dtype)
            if self.training and self.dropout:
                probs = F.dropout(probs, self.dropout)
            out = torch.matmul(probs, v)
        elif q.dtype == torch.bfloat16 and q.device.type == "cpu" and q.requires_grad:
            # training under CPU bf16 autocast: the CPU kernels' bf16 attention backward is slower than
            # float32's (4.4x at head size 8, 1.3x at 32: BENCHMARKS.md), so attention alone runs in float32
            with torch.autocast("cpu", enabled=False):
                out = F.scaled_dot_product_attention(
                    q.float(),
                    k.float(),
                    v.float(),
                    attn_mask=attn_mask,
                    dropout_p=self.dropout if self.training else 0.0,
                ).to(q.dtype)
        else:
            out = F.scaled_dot_product_attention(
                q, k, v, attn_mask=attn_mask, dropout_p=self.dropout if self.training else 0.0
            )
        out = out.transpose(1, 2).reshape(b, t, c)
        return self.out_proj(out), weights


class TransformerLayer(nn.Module):
    """Pre-LayerNorm block: ``x + attn(LN(x))`` then ``x + fc2(gelu(fc1(LN(x))))``."""

    def __init__(
        self,
        embed_dim: int,
        ffn_embed_dim: int,
        num_heads: int,
        rotary: bool,
        eps: float = 1e-5,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.self_attn = SelfAttention(embed_dim, num_heads, rotary, attention_dropout)
        self.self_attn_layer_norm = nn.LayerNorm(embed_dim, eps=eps)
        self.fc1 = nn.Linear(embed_dim, ffn_embed_dim)
        self.fc2 = nn.Linear(ffn_embed_dim, embed_dim)
        self.final_layer_norm = nn.LayerNorm(embed_dim, eps=eps)
        self.dropout = dropout

    def forward(
        self, x: torch.Tensor, attn_mask: Optional[torch.Tensor], need_weights: bool = False
    ) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        h, w = self.self_attn(self.self_attn_layer_norm(x), attn_mask, need_weights)
        if self.training and self.dropout:
            h = F.dropout(h, self.dropout)
        x = x + h
        h = self.fc2(gelu(self.fc1(self.final_layer_norm(x))))
        if self.training and self.dropout:
            h = F.dropout(h, self.dropout)
        return x + h, w


class LMHead(nn.Module):
    """RoBERTa LM head: dense, GELU, LayerNorm, projection onto the vocabulary plus a bias."""

    def __init__(self, embed_dim: int, vocab_size: int, weight: Optional[nn.Parameter], eps: float = 1e-5) -> None:
        super().__init__()
        self.dense = nn.Linear(embed_dim, embed_dim)
        self.layer_norm = nn.LayerNorm(embed_dim, eps=eps)
        if weight is None:
            self.weight = nn.Parameter(torch.empty(vocab_size, embed_dim))
            if not self.weight.is_meta:  # shape-only builds: see rnalm.model.encoder.Embedding
                nn.init.normal_(self.weight, std=0.02)
        else:
            self.weight = weight
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer_norm(gelu(self.dense(x)))
        return F.linear(x, self.weight) + self.bias


def symmetrize(x: torch.Tensor) -> torch.Tensor:
    return x + x.transpose(-1, -2)


def apc(x: torch.Tensor) -> torch.Tensor:
    """Average product correction, the standard denoising of coupling matrices."""
    a1 = x.sum(-1, keepdim=True)
    a2 = x.sum(-2, keepdim=True)
    a12 = x.sum((-1, -2), keepdim=True)
    return x - a1 * a2 / a12


class ContactHead(nn.Module):
    """Logistic regression over symmetrised, APC-corrected attention maps (ESM's contact head)."""

    def __init__(self, in_features: int, prepend_bos: bool, append_eos: bool, eos_idx: int) -> None:
        super().__init__()
        self.prepend_bos = prepend_bos
        self.append_eos = append_eos
        self.eos_idx = eos_idx
        self.regression = nn.Linear(in_features, 1)

    def forward(self, tokens: torch.Tensor, attentions: torch.Tensor) -> torch.Tensor:
        """``attentions``: ``(B, layers, heads, T, T)`` -> contact probabilities ``(B, L, L)``."""
        if self.append_eos:
            keep = tokens.ne(self.eos_idx).to(attentions)
            attentions = attentions * (keep[:, :, None] * keep[:, None, :])[:, None, None]
            attentions = attentions[..., :-1, :-1]
        if self.prepend_bos:
            attentions = attentions[..., 1:, 1:]
        b, layers, heads, t, _ = attentions.shape
        feats = apc(symmetrize(attentions.reshape(b, layers * heads, t, t)))
        feats = feats.to(self.regression.weight).permute(0, 2, 3, 1)
        return torch.sigmoid(self.regression(feats).squeeze(-1))


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """BERT-style initialisation for freshly built (not loaded) encoders."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, std=std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, std=std)
        if module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


__all__ = ["RotaryEmbedding", "SelfAttention", "TransformerLayer", "LMHead", "ContactHead", "init_weights"]
