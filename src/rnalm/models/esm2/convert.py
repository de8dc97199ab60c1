"""fair-esm ESM-2 ``.pt`` checkpoints -> rnalm.

Layout (what fair-esm's ``_load_model_and_alphabet_core_v2`` reads): a dict with

* ``cfg["model"]``: the fairseq model arguments; fair-esm reads ``encoder_layers``,
  ``encoder_embed_dim``, ``encoder_attention_heads`` and ``token_dropout`` from it by attribute, so in
  the published files it is an ``argparse.Namespace`` (allow-listed by rnalm's safe loader). A plain
  dict is accepted too. Anything else (e.g. an omegaconf object) is refused by the safe loader
  before it gets here: rnalm never unpickles classes outside its allow-list.
* ``model``: the state dict, keys prefixed ``encoder.sentence_encoder.`` (transformer) or
  ``encoder.`` (LM head), which fair-esm strips.

The contact regression is published as a separate file, ``<stem>-contact-regression.pt``; as in
fair-esm it is picked up when it sits next to the model file. Without it the model is built
*without* a contact head (fair-esm instead leaves random regression weights and warns).

The helpers at the top are shared with UTR-LM, whose checkpoints are bare fair-esm ``ESM2``
state dicts.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

import torch

from rnalm.errors import CheckpointError
from rnalm.io.formats import (
    CheckpointFormat,
    Converted,
    Probe,
    check_rotary_inv_freq,
    check_state_matches,
    strip_prefix,
)
from rnalm.io.safe_torch import safe_torch_load
from rnalm.model.config import EncoderConfig
from rnalm.models.esm2.alphabet import ESM2_ALPHABET

#: fairseq prefixes fair-esm removes, longest first (``encoder.`` alone would leave ``sentence_encoder.``).
ESM2_PREFIXES = ("encoder.sentence_encoder.", "encoder.")
ROTARY_SUFFIX = "self_attn.rot_emb.inv_freq"
REGRESSION_KEYS = ("contact_head.regression.weight", "contact_head.regression.bias")
#: ESM-2 was trained on crops of at most 1024 tokens (<cls> + 1022 residues + <eos>); fair-esm's
#: own ``extract.py`` truncates to 1022 residues for the same reason. Rotary positions would run
#: past that, but on positions the model never saw, so rnalm refuses instead of extrapolating.
ESM2_MAX_POSITIONS = 1024

_LAYER_KEY = re.compile(r"^layers\.(\d+)\.")


# ----------------------------------------------------------------------------- shared helpers
def count_layers(state: Mapping[str, Any]) -> int:
    """Number of transformer layers in an ESM-2 state dict (indices must run 0..n-1)."""
    idx = {int(m.group(1)) for k in state if (m := _LAYER_KEY.match(k))}
    if not idx:
        raise CheckpointError("state dict has no 'layers.N.' tensors; not an ESM-2 encoder")
    n = max(idx) + 1
    if idx != set(range(n)):
        raise CheckpointError(f"state dict layers are not contiguous: missing {sorted(set(range(n)) - idx)}")
    return n


def heads_from_rotary(state: Mapping[str, torch.Tensor], embed_dim: int) -> Optional[int]:
    """Attention heads implied by the stored rotary ``inv_freq`` buffers (length = head_dim / 2).

    fair-esm registers ``inv_freq`` as a persistent buffer, so every ``state_dict()`` it saves
    carries it; it is the only place the head count is written down in a bare state dict.
    """
    lengths = {v.numel() for k, v in state.items() if k.endswith(ROTARY_SUFFIX)}
    if not lengths:
        return None
    if len(lengths) != 1:
        raise CheckpointError(f"rotary inv_freq buffers disagree in length across layers: {sorted(lengths)}")
    head_dim = 2 * lengths.pop()
    if head_dim == 0 or embed_dim % head_dim:
        raise CheckpointError(f"rotary inv_freq implies head size {head_dim}, which does not divide width {embed_dim}")
    return embed_dim // head_dim


def check_esm2_tensors(state: Mapping[str, torch.Tensor], vocab_size: int, embed_dim: int, num_layers: int) -> None:
    """Shape checks fair-esm's ``ESM2`` implies (FFN is hard-wired to 4x the width)."""
    emb = state.get("embed_tokens.weight")
    if emb is None:
        raise CheckpointError("state dict has no embed_tokens.weight")
    if tuple(emb.shape) != (vocab_size, embed_dim):
        raise CheckpointError(f"embed_tokens.weight has shape {tuple(emb.shape)}, expected ({vocab_size}, {embed_dim})")
    for i in range(num_layers):
        fc1 = state.get(f"layers.{i}.fc1.weight")
        if fc1 is None or tuple(fc1.shape) != (4 * embed_dim, embed_dim):
            got = None if fc1 is None else tuple(fc1.shape)
            raise CheckpointError(
                f"layers.{i}.fc1.weight has shape {got}, expected ({4 * embed_dim}, {embed_dim}) "
                f"(ESM-2's feed-forward is 4x the width)"
            )


def tie_lm_head(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """ESM-2's LM head projects with the token-embedding matrix; check the stored copy is that matrix."""
    emb = state["embed_tokens.weight"]
    head = state.get("lm_head.weight")
    if head is None:
        state["lm_head.weight"] = emb
    elif head.shape != emb.shape or not torch.equal(head, emb):
        raise CheckpointError("lm_head.weight differs from embed_tokens.weight, but ESM-2 ties them")
    return state


def drop_rotary_buffers(state: dict[str, torch.Tensor], head_dim: int) -> dict[str, torch.Tensor]:
    """Check the stored rotary frequencies are the standard ones, then drop them (rnalm recomputes them)."""
    return check_rotary_inv_freq(state, ROTARY_SUFFIX, head_dim)


# ----------------------------------------------------------------------------- ESM-2 .pt
def _as_dict(obj: Any, what: str) -> dict[str, Any]:
    if isinstance(obj, argparse.Namespace):
        return vars(obj)
    if isinstance(obj, Mapping):
        return dict(obj)
    raise CheckpointError(f"{what} is a {type(obj).__name__}; expected an argparse.Namespace or a dict")


def model_args(obj: Mapping[str, Any]) -> dict[str, Any]:
    """``cfg["model"]`` as a dict, whether it was saved as a Namespace or a dict."""
    cfg = _as_dict(obj["cfg"], "cfg")
    if "model" not in cfg:
        raise CheckpointError("cfg has no 'model' section (expected fairseq model arguments)")
    return _as_dict(cfg["model"], "cfg['model']")


def regression_path(path: Path) -> Path:
    """Where fair-esm looks for the contact regression: same path without suffix + ``-contact-regression.pt``."""
    return Path(str(path.with_suffix("")) + "-contact-regression.pt")


def load_regression(path: Path, in_features: int) -> dict[str, torch.Tensor]:
    obj = safe_torch_load(path)
    state = obj.get("model", obj) if isinstance(obj, Mapping) else None
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{path}: expected a dict with a 'model' state dict of the contact regression")
    state = strip_prefix(dict(state), ESM2_PREFIXES)
    missing = [k for k in REGRESSION_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path}: contact regression file lacks {missing}")
    w, b = state[REGRESSION_KEYS[0]], state[REGRESSION_KEYS[1]]
    if tuple(w.shape) != (1, in_features) or tuple(b.shape) != (1,):
        raise CheckpointError(
            f"{path}: contact regression has shape {tuple(w.shape)}, expected (1, {in_features}) "
            f"(layers x heads of the model next to it)"
        )
    return {REGRESSION_KEYS[0]: w, REGRESSION_KEYS[1]: b}


def _sniff(probe: Probe) -> bool:
    if probe.is_dir or not probe.is_torch_file:
        return False
    obj = probe.torch_obj
    if not (isinstance(obj, Mapping) and "cfg" in obj and isinstance(obj.get("model"), Mapping)):
        return False
    return any(str(k).endswith("embed_tokens.weight") for k in obj["model"])


def convert_esm2(probe: Probe) -> Converted:
    obj = probe.torch_obj
    args = model_args(obj)
    needed = ("encoder_layers", "encoder_embed_dim", "encoder_attention_heads", "token_dropout")
    missing = [k for k in needed if k not in args]
    if missing:
        raise CheckpointError(f"{probe.path}: cfg['model'] lacks {missing}, which fair-esm's ESM-2 loader reads")
    num_layers = int(args["encoder_layers"])
    embed_dim = int(args["encoder_embed_dim"])
    heads = int(args["encoder_attention_heads"])

    state = strip_prefix(dict(obj["model"]), ESM2_PREFIXES)
    found_layers = count_layers(state)
    if found_layers != num_layers:
        raise CheckpointError(f"{probe.path}: cfg says {num_layers} layers but the state dict has {found_layers}")
    check_esm2_tensors(state, len(ESM2_ALPHABET), embed_dim, num_layers)
    stored_heads = heads_from_rotary(state, embed_dim)
    if stored_heads is not None and stored_heads != heads:
        raise CheckpointError(
            f"{probe.path}: cfg says {heads} attention heads but the rotary buffers imply {stored_heads}"
        )
    if embed_dim % heads:
        raise CheckpointError(f"{probe.path}: width {embed_dim} is not divisible by {heads} heads")
    state = drop_rotary_buffers(state, embed_dim // heads)
    state = tie_lm_head(state)

    reg_file = regression_path(probe.path)
    provenance: dict[str, Any] = {"converter": "rnalm.models.esm2", "contact_regression": None}
    if reg_file.is_file():
        state.update(load_regression(reg_file, num_layers * heads))
        provenance["contact_regression"] = str(reg_file)
    has_contacts = all(k in state for k in REGRESSION_KEYS)

    a = ESM2_ALPHABET
    config = EncoderConfig.for_alphabet(
        a,
        num_layers=num_layers,
        embed_dim=embed_dim,
        ffn_embed_dim=4 * embed_dim,
        attention_heads=heads,
        position_embedding="rotary",
        max_positions=ESM2_MAX_POSITIONS,
        emb_layer_norm_before=False,
        token_dropout=bool(args["token_dropout"]),
        tie_lm_head=True,
        lm_head=True,
        contact_head=has_contacts,
    )
    check_state_matches(config, state, "tensors do not match the ESM-2 architecture")
    return Converted(config, a, state, provenance)


#: fair-esm ESM-2 checkpoints (listed in :data:`rnalm.models.FORMATS`).
ESM2_FORMAT = CheckpointFormat(
    "esm2",
    "fair-esm ESM-2 .pt (dict with 'cfg' holding the model arguments and 'model' state dict)",
    _sniff,
    convert_esm2,
)
__all__ = [
    "ESM2_FORMAT",
    "ESM2_PREFIXES",
    "ESM2_MAX_POSITIONS",
    "count_layers",
    "heads_from_rotary",
    "check_esm2_tensors",
    "tie_lm_head",
    "drop_rotary_buffers",
    "model_args",
    "regression_path",
    "load_regression",
    "convert_esm2",
]
