"""Per-nucleotide language-model features for the pairwise head.

The encoder works on tokens with ``<cls>``/``<eos>`` around each sequence and ``<pad>`` after it;
the head works on nucleotides. :func:`lm_pair_inputs` runs the encoder once and returns the chosen
layer's embeddings and (optionally) all attention maps cut to the nucleotide positions, with the
``(B, L)`` mask the head and the loss expect. Codon models (mRNA-FM) have one token per three
nucleotides, so they cannot give a per-base map and are refused.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch

from rnalm.alphabet import Alphabet
from rnalm.errors import RnalmError
from rnalm.model.encoder import RNAEncoder


def nucleotide_slice(tokens: torch.Tensor, alphabet: Alphabet) -> tuple[int, torch.Tensor]:
    """Offset of the first nucleotide token and the ``(B, L)`` mask of nucleotide positions."""
    if alphabet.k_mer != 1:
        raise RnalmError(
            f"alphabet {alphabet.name!r} reads {alphabet.k_mer}-mers; base-pair maps need one token per nucleotide"
        )
    bos, eos = int(alphabet.prepend_bos), int(alphabet.append_eos)
    n = tokens.ne(alphabet.padding_idx).sum(1) - bos - eos
    length = int(n.max()) if n.numel() else 0
    mask = torch.arange(length, device=tokens.device)[None, :] < n[:, None]
    return bos, mask


def lm_pair_inputs(
    model: RNAEncoder, alphabet: Alphabet, tokens: torch.Tensor, layer: int = -1, attentions: bool = False
) -> tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
    """``(emb (B, L, C), mask (B, L), attn (B, layers * heads, L, L) or None)`` for a token batch.

    ``layer`` indexes the encoder's representations (0 = embeddings, -1 = last layer after the
    final LayerNorm). Gradients flow if the caller has them enabled (fine-tuning the backbone).
    """
    num_layers = model.config.num_layers
    layer = num_layers + 1 + layer if layer < 0 else layer
    if not 0 <= layer <= num_layers:
        raise ValueError(f"layer out of range for a {num_layers}-layer model")
    out = model(tokens, repr_layers=[layer], need_head_weights=attentions, return_logits=False)
    bos, mask = nucleotide_slice(tokens, alphabet)
    length = mask.shape[1]
    emb = out["representations"][layer][:, bos : bos + length]
    emb = emb * mask[..., None].to(emb.dtype)
    attn = None
    if attentions:
        a = out["attentions"]  # B, layers, heads, T, T
        b = a.shape[0]
        attn = a.reshape(b, -1, a.shape[-2], a.shape[-1])[:, :, bos : bos + length, bos : bos + length]
        pm = (mask[:, :, None] & mask[:, None, :])[:, None].to(attn.dtype)
        attn = attn * pm
    return emb, mask, attn


def encode_sequences(alphabet: Alphabet, sequences: Sequence[str], ids: Optional[Sequence[str]] = None) -> torch.Tensor:
    """Token batch for ``sequences`` with the alphabet's validation (letters, length)."""
    ids = list(ids) if ids is not None else [f"seq{k}" for k in range(len(sequences))]
    _, _, tokens = alphabet.get_batch_converter()(list(zip(ids, sequences)))
    return tokens


__all__ = ["lm_pair_inputs", "nucleotide_slice", "encode_sequences"]
