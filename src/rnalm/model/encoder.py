"""The one encoder class behind every rnalm model.

Its forward pass has fair-esm's shape: ``model(tokens, repr_layers=[...])`` returns a plain dict
with ``logits`` and ``representations`` (layer index -> ``(B, T, C)``, 0 = embeddings, the last
layer *after* the final LayerNorm), plus ``attentions`` / ``contacts`` when asked and the UTR-LM
supervised outputs (``mfe``, ``structure_logits``) when the model has those heads.
"""

from __future__ import annotations

import operator
from typing import Iterable, cast

import torch
from torch import nn

from rnalm.errors import CheckpointError, SequenceLengthError
from rnalm.model.config import EncoderConfig
from rnalm.model.modules import ContactHead, LMHead, TransformerLayer, init_weights


class Embedding(nn.Embedding):
    """``nn.Embedding`` that skips its random initialisation on the ``meta`` device.

    Shape-only builds (:mod:`rnalm.model.footprint`, run before every checkpoint load) have no
    values to initialise, and torch's meta ``normal_`` imports ``torch._dynamo`` (seconds) on first use.
    """

    def reset_parameters(self) -> None:
        if not self.weight.is_meta:
            super().reset_parameters()


class LearnedPositionalEmbedding(Embedding):
    """ESM-1b positions: non-pad tokens count from ``padding_idx + 1``; pads get ``padding_idx``."""

    def __init__(self, max_positions: int, embed_dim: int, padding_idx: int) -> None:
        super().__init__(max_positions + padding_idx + 1, embed_dim, padding_idx)
        self.max_positions = max_positions

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.size(1) > self.max_positions:
            raise SequenceLengthError(
                f"input of {tokens.size(1)} tokens exceeds the model's {self.max_positions} positions"
            )
        padding_idx = cast(int, self.padding_idx)  # always set: __init__ passes it to nn.Embedding
        mask = tokens.ne(padding_idx).int()
        positions = (torch.cumsum(mask, dim=1) * mask).long() + padding_idx
        return super().forward(positions)


class RNAEncoder(nn.Module):
    """Pre-LN transformer encoder covering ESM-1b-style and ESM-2-style RNA language models."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.padding_idx = c.padding_idx
        self.embed_tokens = Embedding(c.vocab_size, c.embed_dim, padding_idx=c.padding_idx)
        self.embed_positions = (
            LearnedPositionalEmbedding(c.max_positions, c.embed_dim, c.padding_idx)
            if c.position_embedding == "learned"
            else None
        )
        self.emb_layer_norm_before = (
            nn.LayerNorm(c.embed_dim, eps=c.layer_norm_eps) if c.emb_layer_norm_before else None
        )
        rotary = c.position_embedding == "rotary"
        self.layers = nn.ModuleList(
            TransformerLayer(
                c.embed_dim,
                c.ffn_embed_dim,
                c.attention_heads,
                rotary,
                c.layer_norm_eps,
                c.dropout,
                c.attention_dropout,
            )
            for _ in range(c.num_layers)
        )
        self.emb_layer_norm_after = nn.LayerNorm(c.embed_dim, eps=c.layer_norm_eps)
        tied = cast(nn.Parameter, self.embed_tokens.weight) if c.tie_lm_head else None
        self.lm_head = LMHead(c.embed_dim, c.vocab_size, tied, c.layer_norm_eps) if c.lm_head else None
        self.contact_head = (
            ContactHead(c.num_layers * c.attention_heads, c.prepend_bos, c.append_eos, c.eos_idx)
            if c.contact_head
            else None
        )
        self.mfe_head = nn.Linear(c.embed_dim, 1) if c.mfe_head else None
        self.structure_head = nn.Linear(c.embed_dim, 3) if c.structure_head else None

    # ------------------------------------------------------------------ construction helpers
    def tie_weights(self) -> "RNAEncoder":
        """Make the LM head's weight the token embedding again (``tie_lm_head``) after parameters were
        replaced rather than copied into (``load_state_dict(assign=True)``), which unties them."""
        if self.lm_head is not None and self.config.tie_lm_head:
            head, embed = self.lm_head.weight, self.embed_tokens.weight
            if head is not embed and not torch.equal(head, embed):
                raise CheckpointError(
                    "lm_head.weight differs from embed_tokens.weight, but the config ties them (tie_lm_head)"
                )
            self.lm_head.weight = cast(nn.Parameter, embed)
        return self

    def reset_parameters(self) -> "RNAEncoder":
        """Random initialisation for pretraining from scratch."""
        self.apply(init_weights)
        return self

    @property
    def num_layers(self) -> int:
        return self.config.num_layers

    @property
    def embed_dim(self) -> int:
        return self.config.embed_dim

    def layer_index(self, layer: int) -> int:
        """The layer number ``0..num_layers`` that ``layer`` names: 0 is the embeddings, ``num_layers``
        the last layer; a negative number counts from the end, as in a Python list (-1 = the last
        layer, ``-(num_layers + 1)`` = the embeddings), as ``rnalm embed --layers`` does."""
        n = self.num_layers
        try:
            number = operator.index(layer)
        except TypeError:
            raise TypeError(f"repr_layers: {layer!r} is not a layer number (an int)") from None
        index = number + n + 1 if number < 0 else number
        if not 0 <= index <= n:
            raise ValueError(f"repr_layers: {layer} is out of range for a {n}-layer model (0..{n}, or -1..-{n + 1})")
        return index

    # ------------------------------------------------------------------ forward
    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        c = self.config
        padding_mask = tokens.eq(self.padding_idx)
        x = self.embed_tokens(tokens)
        if c.embed_scale != 1.0:
            x = x * c.embed_scale
        if c.token_dropout:
            is_mask = tokens.eq(c.mask_idx)
            x = x.masked_fill(is_mask.unsqueeze(-1), 0.0)
            observed = is_mask.sum(-1).to(x.dtype) / (~padding_mask).sum(-1).to(x.dtype)
            x = x * ((1 - c.mask_ratio_train) / (1 - observed))[:, None, None]
        if self.embed_positions is not None:
            x = x + self.embed_positions(tokens)
        elif tokens.size(1) > c.max_positions:
            raise SequenceLengthError(
                f"input of {tokens.size(1)} tokens exceeds the model's {c.max_positions} positions"
            )
        if self.emb_layer_norm_before is not None:
            x = self.emb_layer_norm_before(x)
        return x * (~padding_mask).unsqueeze(-1).to(x.dtype)

    def forward(
        self,
        tokens: torch.Tensor,
        repr_layers: Iterable[int] = (),
        need_head_weights: bool = False,
        return_contacts: bool = False,
        return_logits: bool = True,
    ) -> dict:
        """Run the encoder on ``tokens`` (``(B, T)`` from the alphabet's batch converter).

        ``repr_layers`` names the layers whose hidden states to return: 0 = the embeddings,
        ``num_layers`` = the last layer (after the final LayerNorm); negative numbers count from the
        end (-1 = the last layer), as in ``rnalm embed --layers``. ``result["representations"]`` is
        keyed by the layer's number ``0..num_layers`` whichever way it was asked for, as fair-esm
        keys it: ``repr_layers=[-1]`` on a 6-layer model gives ``result["representations"][6]``.
        A layer outside ``-(num_layers + 1)..num_layers`` raises a ValueError naming the valid range.
        ``need_head_weights`` adds ``attentions`` ``(B, layers, heads, T, T)``; ``return_contacts``
        adds ``contacts`` ``(B, L, L)`` for models with a contact head.
        """
        if tokens.ndim != 2:
            raise ValueError(f"tokens must be (batch, length), got shape {tuple(tokens.shape)}")
        if return_contacts:
            if self.contact_head is None:
                raise ValueError(
                    "return_contacts=True: this model has no contact head "
                    "(need_head_weights=True still returns its attention maps)"
                )
            need_head_weights = True
        repr_layers = {self.layer_index(i) for i in repr_layers}

        padding_mask = tokens.eq(self.padding_idx)
        x = self.embed(tokens)
        reps: dict[int, torch.Tensor] = {}
        if 0 in repr_layers:
            reps[0] = x
        attn_mask = (~padding_mask)[:, None, None, :] if padding_mask.any() else None
        attn_weights = []
        for i, layer in enumerate(self.layers):
            x, w = layer(x, attn_mask, need_head_weights)
            if i + 1 in repr_layers:
                reps[i + 1] = x
            if need_head_weights:
                attn_weights.append(w)
        x = self.emb_layer_norm_after(x)
        if self.num_layers in repr_layers:
            reps[self.num_layers] = x

        result: dict = {"representations": reps}
        if return_logits and self.lm_head is not None:
            result["logits"] = self.lm_head(x)
        if self.mfe_head is not None:
            result["mfe"] = self.mfe_head(x[:, 0]).squeeze(-1)
        if self.structure_head is not None:
            result["structure_logits"] = self.structure_head(x)
        if need_head_weights:
            attentions = torch.stack(attn_weights, 1)  # B, layers, heads, T, T
            if attn_mask is not None:
                keep = (~padding_mask).to(attentions)
                attentions = attentions * (keep[:, :, None] * keep[:, None, :])[:, None, None]
            result["attentions"] = attentions
            if return_contacts and self.contact_head is not None:  # checked on entry
                result["contacts"] = self.contact_head(tokens, attentions)
        result["last_hidden"] = x
        return result

    def predict_contacts(self, tokens: torch.Tensor) -> torch.Tensor:
        return self(tokens, return_contacts=True, return_logits=False)["contacts"]


def build_encoder(config: EncoderConfig, random_init: bool = True) -> RNAEncoder:
    model = RNAEncoder(config)
    if random_init:
        model.reset_parameters()
    return model


__all__ = ["RNAEncoder", "LearnedPositionalEmbedding", "build_encoder"]
