"""UTR-LM ``.pkl`` checkpoints -> rnalm.

UTR-LM's pretraining scripts save ``torch.save(model.eval().state_dict(), path)`` where ``model`` is
a fair-esm ``ESM2`` (UTR-LM's copy, unchanged in the encoder) wrapped in
``DistributedDataParallel`` -- so the keys usually start with ``module.``. Depending on the
script the model also carries

* ``supervised_linear`` -- ``Linear(d, 1)``, the MFE regression, applied to the ``<cls>`` state
  after the final LayerNorm (``v2``/``v3`` scripts: "SI", "SISS" in the file names);
* ``structure_linear`` -- ``Linear(d, 3)``, per-token ``(``/``.``/``)`` logits from the same
  final-LayerNorm states (``v3``/``v4``: "SISS", "SS").

They become rnalm's ``mfe_head`` and ``structure_head``. The state dict also holds
``contact_head.regression`` (fair-esm builds it; UTR-LM never trains it) and the rotary
``inv_freq`` buffers, whose length (head size / 2) gives the number of attention heads -- the one
size a state dict does not otherwise record. Without those buffers the published 16 heads are
assumed (override with ``convert_utrlm(probe, attention_heads=...)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

import torch

from rnalm.errors import CheckpointError
from rnalm.io.formats import CheckpointFormat, Converted, Probe, check_state_matches, strip_prefix
from rnalm.model.config import named_config
from rnalm.models.esm2.convert import (
    REGRESSION_KEYS,
    check_esm2_tensors,
    count_layers,
    drop_rotary_buffers,
    heads_from_rotary,
    tie_lm_head,
)
from rnalm.models.utrlm.alphabet import UTRLM_ALPHABET

#: UTR-LM's published size: 6 layers, 16 heads, 128 wide.
DEFAULT_HEADS = 16
#: UTR-LM's training scripts keep the last 1022 tokens of each batch (``toks[:, -1022:]``), so the
#: model never saw a position beyond 1021.
UTRLM_MAX_POSITIONS = 1022
HEAD_RENAMES = (("supervised_linear.", "mfe_head."), ("structure_linear.", "structure_head."))
_CORE_KEYS = ("embed_tokens.weight", "layers.0.self_attn.q_proj.weight", "emb_layer_norm_after.weight")


def flat_state(obj: Any) -> Optional[dict[str, torch.Tensor]]:
    """``obj`` as a state dict without DDP's ``module.`` prefix, or None if it is not a flat state dict."""
    if not isinstance(obj, Mapping) or not obj:
        return None
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        return None
    return strip_prefix(dict(obj), ("module.",))


def _sniff(probe: Probe) -> bool:
    if probe.is_dir or not probe.is_torch_file:
        return False
    state = flat_state(probe.torch_obj)
    if state is None or not all(k in state for k in _CORE_KEYS) or "embed_positions.weight" in state:
        return False
    has_heads = any(k.startswith(("supervised_linear.", "structure_linear.")) for k in state)
    return has_heads or state["embed_tokens.weight"].shape[0] == len(UTRLM_ALPHABET)


def convert_utrlm(probe: Probe, attention_heads: Optional[int] = None) -> Converted:
    state = flat_state(probe.torch_obj)
    if state is None:
        raise CheckpointError(f"{probe.path}: expected a flat state dict (str -> tensor)")
    a = UTRLM_ALPHABET
    emb = state["embed_tokens.weight"]
    if emb.ndim != 2 or emb.shape[0] != len(a):
        raise CheckpointError(
            f"{probe.path}: embedding has {emb.shape[0]} rows; UTR-LM's vocabulary has {len(a)} "
            f"tokens ({' '.join(a.tokens)})"
        )
    embed_dim = int(emb.shape[1])
    num_layers = count_layers(state)
    check_esm2_tensors(state, len(a), embed_dim, num_layers)

    stored = heads_from_rotary(state, embed_dim)
    if attention_heads is not None and stored is not None and stored != attention_heads:
        raise CheckpointError(
            f"{probe.path}: attention_heads={attention_heads} was requested but the rotary buffers imply {stored}"
        )
    heads = attention_heads or stored or DEFAULT_HEADS
    if embed_dim % heads:
        raise CheckpointError(
            f"{probe.path}: width {embed_dim} is not divisible by {heads} heads; this state dict "
            f"stores no rotary buffers to read the head count from, pass attention_heads="
        )
    state = drop_rotary_buffers(state, embed_dim // heads)
    state = tie_lm_head(state)
    for old, new in HEAD_RENAMES:
        state = {(new + k[len(old) :] if k.startswith(old) else k): v for k, v in state.items()}

    config = named_config(
        "utr-lm",
        alphabet=a,
        num_layers=num_layers,
        embed_dim=embed_dim,
        ffn_embed_dim=4 * embed_dim,
        attention_heads=heads,
        max_positions=UTRLM_MAX_POSITIONS,
        token_dropout=True,
        tie_lm_head=True,
        lm_head=True,
        contact_head=all(k in state for k in REGRESSION_KEYS),
        mfe_head="mfe_head.weight" in state,
        structure_head="structure_head.weight" in state,
    )
    check_state_matches(config, state, "tensors do not match the UTR-LM architecture")
    provenance = {
        "converter": "rnalm.models.utrlm",
        "heads_from": "argument" if attention_heads else ("rotary buffers" if stored else "UTR-LM default (16)"),
        "ddp_prefix": any(k.startswith("module.") for k in probe.torch_obj),
    }
    return Converted(config, a, state, provenance)


#: UTR-LM state dicts (listed in :data:`rnalm.models.FORMATS`).
UTRLM_FORMAT = CheckpointFormat(
    "utr-lm",
    "UTR-LM .pkl (fair-esm ESM2 state dict with a 10-token DNA vocabulary, optional "
    "'module.' prefix, supervised_linear / structure_linear heads)",
    _sniff,
    convert_utrlm,
)


__all__ = ["UTRLM_FORMAT", "convert_utrlm", "flat_state", "DEFAULT_HEADS", "UTRLM_MAX_POSITIONS"]
