"""ProtRNA-style transfer: start from a checkpoint with another vocabulary, then freeze.

ProtRNA starts from ESM-2 (a protein LM), keeps the transformer, appends the RNA letters
``a u g c x`` to the protein vocabulary and trains only part of the network. Here that is general:
the source checkpoint is anything :func:`rnalm.load` reads; token embeddings (and the tied LM
head, its bias) are carried over row by row for tokens both vocabularies share and initialised
fresh for the others; the LM-head bias of new tokens starts at zero.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import torch

from rnalm.alphabet import Alphabet
from rnalm.api import load
from rnalm.model import EncoderConfig, RNAEncoder


def transfer_from(source: str, alphabet: Alphabet, heads: dict[str, bool]) -> tuple[RNAEncoder, dict]:
    src, src_alpha = load(source)
    a = alphabet
    vocab = EncoderConfig.for_alphabet(a)
    changes: dict[str, Any] = dict(
        vocab_size=vocab.vocab_size,
        padding_idx=vocab.padding_idx,
        mask_idx=vocab.mask_idx,
        cls_idx=vocab.cls_idx,
        eos_idx=vocab.eos_idx,
        prepend_bos=vocab.prepend_bos,
        append_eos=vocab.append_eos,
        lm_head=True,
        **heads,
    )
    cfg = dataclasses.replace(src.config, **changes)
    model = RNAEncoder(cfg).reset_parameters()
    head = model.lm_head
    assert head is not None  # lm_head=True above
    src_state = src.state_dict()
    own = model.state_dict()
    vocab_keys = {"embed_tokens.weight", "lm_head.weight", "lm_head.bias"}
    copied = {k: v for k, v in src_state.items() if k in own and k not in vocab_keys and own[k].shape == v.shape}
    model.load_state_dict(copied, strict=False)
    shared = [t for t in a.tokens if t in src_alpha.tok_to_idx]
    with torch.no_grad():
        for t in shared:
            i, j = a.tok_to_idx[t], src_alpha.tok_to_idx[t]
            model.embed_tokens.weight[i] = src.embed_tokens.weight[j]
            if src.lm_head is not None:
                head.bias[i] = src.lm_head.bias[j]
                if not cfg.tie_lm_head:
                    head.weight[i] = src.lm_head.weight[j]
        new_rows = [a.tok_to_idx[t] for t in a.tokens if t not in src_alpha.tok_to_idx]
        for i in new_rows:
            head.bias[i] = 0.0
    info = {
        "init": "transfer",
        "init_from": str(source),
        "source_alphabet": src_alpha.name,
        "tokens_copied": len(shared),
        "tokens_new": len(a) - len(shared),
        "tensors_copied": len(copied),
    }
    return model, info


def freeze(model: RNAEncoder, train_last_layers: Optional[int], train_embeddings: bool) -> dict:
    """Freeze all transformer layers but the last ``train_last_layers``; report the trainable share.

    The final LayerNorm, LM head and supervised heads stay trainable; the token embeddings (tied
    to the LM-head projection) are trainable when ``train_embeddings`` is set, which is what the
    new RNA tokens need.
    """
    n = model.config.num_layers
    k = n if train_last_layers is None else max(0, min(n, train_last_layers))
    for p in model.parameters():
        p.requires_grad = True
    for i, layer in enumerate(model.layers):
        if i < n - k:
            for p in layer.parameters():
                p.requires_grad = False
    if model.embed_positions is not None:
        model.embed_positions.weight.requires_grad = train_embeddings
    model.embed_tokens.weight.requires_grad = train_embeddings
    if model.emb_layer_norm_before is not None:
        for p in model.emb_layer_norm_before.parameters():
            p.requires_grad = train_embeddings
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {
        "trainable_parameters": trainable,
        "total_parameters": total,
        "trainable_fraction": trainable / total,
        "trained_layers": k,
    }
