"""Reading ``RNA-FM-ResNet_PDB-All.pth``, RNA-FM's secondary-structure model, into :class:`SSResNet`.

The file is the plain ``state_dict()`` of rna-fm's ``fm.downstream.Baseline``: the encoder under
``backbone.`` (rna-fm's ``BioBertModel`` names, which are rnalm's encoder names) and the pair head
under ``downstream_modules.pc-resnet_1_sym_first:r-ss.`` (``pre_reduction``, ``proj.first.0``,
``proj.resnet.<n>`` and ``proj.final``). It stores no arguments: sizes are read from the tensor
shapes; the two encoder settings that leave no trace in tensors (attention heads, token dropout)
default to RNA-FM's 20 heads and token dropout on (the ESM-1b setting, which reimplementations
that reproduce rna-fm's outputs use; not checked here against the published file's args). Both can
be given, or read from ``RNA-FM_pretrained.pth`` with :func:`backbone_settings`.

Loading is safe (:func:`rnalm.io.safe_torch.safe_torch_load`) and strict: every tensor of the
file is used and every parameter and buffer is filled, or a :class:`CheckpointError` names the
offending keys as the file spells them.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any, Optional, Union

import torch

from rnalm.errors import CheckpointError
from rnalm.io.formats import CheckpointFormat, Converted, Probe
from rnalm.io.safe_torch import safe_torch_load
from rnalm.model.config import EncoderConfig
from rnalm.model.encoder import RNAEncoder
from rnalm.models.rnafm.alphabet import RNA_FM_ALPHABET
from rnalm.models.rnafm.convert import upgrade_args
from rnalm.models.rnafm.ss_resnet import HEAD_LAYER, PairResNet, SSResNet

FORMAT_NAME = "rna-fm-ss-resnet"
FORMAT_DESCRIPTION = (
    "RNA-FM SS-ResNet .pth (state dict of rna-fm's Baseline: backbone.* + "
    "downstream_modules.pc-resnet_1_sym_first:r-ss.*); a structure model, loaded by rnalm.models.rnafm.load_ss_resnet"
)
BACKBONE = "backbone."
HEAD_PREFIX = "downstream_modules."
#: The one predictor this model has: pairwise concat + ResNet, 1 class, symmetric, for target r-ss.
PREDICTOR = re.compile(r"pc-resnet_1_sym_\w+:r-ss")
#: RNA-FM's encoder settings that the tensors do not show (from RNA-FM_pretrained.pth's args).
RNAFM_HEADS = 20
RNAFM_TOKEN_DROPOUT = True
#: Head tensor names: rna-fm's (after the predictor prefix) -> rnalm's :class:`PairResNet`.
HEAD_RENAMES = (
    ("pre_reduction.", "reduce."),
    ("proj.first.0.", "pair_in."),
    ("proj.resnet.", "blocks."),
    ("proj.final.", "pair_out."),
)


def _sniff(probe: Probe) -> bool:
    if probe.is_dir or not probe.is_torch_file:
        return False
    obj = probe.torch_obj
    return (
        isinstance(obj, dict)
        and "backbone.embed_tokens.weight" in obj
        and any(isinstance(k, str) and k.startswith(HEAD_PREFIX) for k in obj)
    )


def _refuse_encoder_load(probe: Probe) -> Converted:
    raise CheckpointError(
        f"{probe.path} is RNA-FM's secondary-structure model (SS-ResNet: encoder + pair head), not an "
        f"encoder checkpoint; rnalm.load does not take it. Fold with it (`rnalm fold --model {probe.path}`) "
        f"or load it with rnalm.models.rnafm.load_ss_resnet(path). For the bare RNA-FM encoder use "
        f"RNA-FM_pretrained.pth (`rnalm.load('rna-fm')`)."
    )


#: Recognises the file so that rnalm.load refuses it with a pointer to the structure loader.
SS_RESNET_FORMAT = CheckpointFormat(FORMAT_NAME, FORMAT_DESCRIPTION, _sniff, _refuse_encoder_load)


def split_state(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], str]:
    """``(encoder tensors, head tensors in rnalm's names, predictor name)``; anything else is an error."""
    predictors = sorted({k[len(HEAD_PREFIX) :].split(".", 1)[0] for k in state if k.startswith(HEAD_PREFIX)})
    if len(predictors) != 1 or not PREDICTOR.fullmatch(predictors[0]):
        raise CheckpointError(
            f"expected one pair predictor 'pc-resnet_1_sym_<reduction>:r-ss' under {HEAD_PREFIX!r}, found {predictors}"
        )
    head_prefix = f"{HEAD_PREFIX}{predictors[0]}."
    encoder: dict[str, torch.Tensor] = {}
    head: dict[str, torch.Tensor] = {}
    unexpected = []
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"entry {key!r} is a {type(value).__name__}, expected a tensor")
        if key.startswith(BACKBONE):
            encoder[key[len(BACKBONE) :]] = value
            continue
        rest = key[len(head_prefix) :] if key.startswith(head_prefix) else None
        renamed = next((new + rest[len(old) :] for old, new in HEAD_RENAMES if rest and rest.startswith(old)), None)
        if renamed is None:
            unexpected.append(key)
        else:
            head[renamed] = value
    if unexpected:
        raise CheckpointError(f"unexpected tensors {unexpected[:8]}{' ...' if len(unexpected) > 8 else ''}")
    return encoder, head, head_prefix


def file_key(key: str, head_prefix: str) -> str:
    """rnalm's name of a parameter -> the name the file uses for it (for error messages)."""
    if key.startswith("encoder."):
        return BACKBONE + key[len("encoder.") :]
    inner = key[len("head.") :]
    for old, new in HEAD_RENAMES:
        if inner.startswith(new):
            return head_prefix + old + inner[len(new) :]
    return key


def _shape(state: dict[str, torch.Tensor], key: str, prefix: str) -> tuple[int, ...]:
    if key not in state:
        raise CheckpointError(f"missing tensor {prefix}{key}")
    return tuple(state[key].shape)


def _count(state: dict[str, torch.Tensor], pattern: str) -> int:
    found = {int(m.group(1)) for k in state if (m := re.match(pattern, k))}
    return max(found) + 1 if found else 0


def encoder_config(state: dict[str, torch.Tensor], attention_heads: int, token_dropout: bool) -> EncoderConfig:
    """The encoder's architecture, from its tensor shapes (the file has no arguments)."""
    rows, embed_dim = _shape(state, "embed_tokens.weight", BACKBONE)
    if rows != len(RNA_FM_ALPHABET):
        raise CheckpointError(
            f"{BACKBONE}embed_tokens.weight has {rows} rows; RNA-FM's vocabulary has {len(RNA_FM_ALPHABET)}"
        )
    positions = _shape(state, "embed_positions.weight", BACKBONE)[0]
    ffn = _shape(state, "layers.0.fc1.weight", BACKBONE)[0]
    try:
        return EncoderConfig.for_alphabet(
            RNA_FM_ALPHABET,
            num_layers=_count(state, r"layers\.(\d+)\."),
            embed_dim=embed_dim,
            ffn_embed_dim=ffn,
            attention_heads=attention_heads,
            position_embedding="learned",
            max_positions=positions - RNA_FM_ALPHABET.padding_idx - 1,
            emb_layer_norm_before=any(k.startswith("emb_layer_norm_before.") for k in state),
            token_dropout=token_dropout,
            tie_lm_head=True,
            lm_head=True,
            contact_head=any(k.startswith("contact_head.regression.") for k in state),
        )
    except ValueError as exc:
        raise CheckpointError(f"the encoder tensors describe no valid RNA-FM encoder: {exc}") from None


def head_sizes(state: dict[str, torch.Tensor], head_prefix: str) -> dict[str, int]:
    reduced, embed_dim = _shape(state, "reduce.weight", head_prefix + "pre_reduction.")
    channels = _shape(state, "pair_in.weight", head_prefix + "proj.first.0.")[0]
    return {
        "embed_dim": embed_dim,
        "reduced": reduced,
        "channels": channels,
        "blocks": _count(state, r"blocks\.(\d+)\."),
    }


def build_ss_resnet(
    state: dict[str, Any], attention_heads: int = RNAFM_HEADS, token_dropout: bool = RNAFM_TOKEN_DROPOUT
) -> SSResNet:
    """An :class:`SSResNet` holding exactly the tensors of ``state`` (a ``Baseline`` state dict)."""
    enc_state, head_state, head_prefix = split_state(state)
    config = encoder_config(enc_state, attention_heads, token_dropout)
    if config.num_layers < HEAD_LAYER:
        raise CheckpointError(
            f"the pair head reads encoder layer {HEAD_LAYER}; the file has {config.num_layers} layers"
        )
    # rna-fm ties the LM projection to the token embedding; loading the file into its Baseline copies
    # embed_tokens.weight first and lm_head.weight last into that one parameter, so the latter wins.
    if "lm_head.weight" in enc_state:
        enc_state["embed_tokens.weight"] = enc_state["lm_head.weight"]
    model = SSResNet(RNAEncoder(config), PairResNet(**head_sizes(head_state, head_prefix)))
    full = {f"encoder.{k}": v for k, v in enc_state.items()} | {f"head.{k}": v for k, v in head_state.items()}
    expected = model.state_dict()
    missing = sorted(file_key(k, head_prefix) for k in set(expected) - set(full))
    unexpected = sorted(file_key(k, head_prefix) for k in set(full) - set(expected))
    wrong = sorted(
        f"{file_key(k, head_prefix)}: {tuple(full[k].shape)} != {tuple(expected[k].shape)}"
        for k in set(full) & set(expected)
        if full[k].shape != expected[k].shape
    )
    problems = [
        f"{what} {items[:8]}{' ...' if len(items) > 8 else ''}"
        for what, items in (
            ("missing tensors", missing),
            ("unexpected tensors", unexpected),
            ("shapes (file != model)", wrong),
        )
        if items
    ]
    if problems:
        raise CheckpointError("not a complete RNA-FM SS-ResNet state dict: " + "; ".join(problems))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in full.items()})
    return model.eval()


def backbone_settings(rnafm_path: Union[str, Path]) -> dict[str, Any]:
    """``attention_heads`` and ``token_dropout`` as an RNA-FM encoder file (``RNA-FM_pretrained.pth``)
    states them, for :func:`load_ss_resnet`: the SS-ResNet file's encoder was built from that file's args."""
    obj = safe_torch_load(rnafm_path)
    if not (isinstance(obj, dict) and isinstance(obj.get("args"), argparse.Namespace)):
        raise CheckpointError(f"{rnafm_path}: not an RNA-FM encoder file (no fairseq 'args')")
    args = upgrade_args(obj["args"])
    if "attention_heads" not in args:
        raise CheckpointError(f"{rnafm_path}: 'args' states no attention heads")
    return {"attention_heads": int(args["attention_heads"]), "token_dropout": bool(args.get("token_dropout", False))}


def load_ss_resnet(
    path: Union[str, Path],
    device: Optional[Union[str, torch.device]] = None,
    attention_heads: int = RNAFM_HEADS,
    token_dropout: bool = RNAFM_TOKEN_DROPOUT,
) -> SSResNet:
    """RNA-FM's SS-ResNet from ``path`` (``RNA-FM-ResNet_PDB-All.pth`` or a file in its layout), in eval mode."""
    path = Path(path)
    obj = safe_torch_load(path)
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: holds a {type(obj).__name__}, expected rna-fm Baseline's state dict")
    try:
        model = build_ss_resnet(obj, attention_heads, token_dropout)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    model.provenance = {"format": FORMAT_NAME, "source_path": str(path)}  # type: ignore[assignment]
    return model if device is None else model.to(device)


__all__ = [
    "FORMAT_NAME",
    "SS_RESNET_FORMAT",
    "backbone_settings",
    "build_ss_resnet",
    "encoder_config",
    "file_key",
    "load_ss_resnet",
    "split_state",
]
