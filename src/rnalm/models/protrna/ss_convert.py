"""Strict loading of ProtRNA's structure head ``ssHead_RF_bprna.h5`` into :class:`.ss_head.RotaFormerHead`.

ProtRNA restores the head with ``SSPredictionModel().load_weights(file)`` (``pretrained.py``), a
tf.keras 2 ``save_weights`` HDF5 file read here with h5py datasets only
(:func:`.convert.read_keras_weights`: size caps, every dataset listed). Its top-level layers are
the Keras layers of ``SSPredictionModel``:

* ``conv2d`` (``pred_head``): ``.../conv2d/kernel:0`` ``(5, 5, 128, 1)`` and ``bias:0`` ``(1,)``;
* ``aa_embedding`` (``pre_msa_emb``): the four ``Linear`` tf.Modules of ``EmbeddingModel.py``,
  ``preprocess_1d``, ``left_single``, ``right_single``, ``pair_activiations`` (ProtRNA's spelling),
  each ``weights:0`` ``(in, out)`` and ``bias:0``;
* ``evoformer_ensemble_0`` .. ``_2``: four ``evoformer_iteration_{k}`` tf.Modules each
  (``k = 4 e .. 4 e + 3``), every variable named by its module path, e.g.
  ``evoformer_iteration_5/triangle_attention_ending_node/attention/query_w:0``.

Auto-named layers may carry Keras' session counter (``conv2d_3``, ``aa_embedding_1``) and a scope
may precede the names (the model's, for variables built inside its first call); both are accepted.
Inside an iteration the torch parameter is the variable path with ``/`` as ``.`` and the
Linear/LayerNorm leaves renamed (``weights`` -> ``weight``, transposed; ``scale`` -> ``weight``;
``offset`` -> ``bias``). Every dataset must fill a parameter of matching shape and every parameter
must be filled; errors name the Keras weight.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch
from torch import nn

from rnalm.errors import CheckpointError
from rnalm.models.protrna.convert import KerasWeights, keras_uid, read_keras_weights
from rnalm.models.protrna.ss_head import HeadConfig, RotaFormerHead

ENSEMBLE_RE = re.compile(r"^evoformer_ensemble_(\d+)$")
ITERATION_RE = re.compile(r"^evoformer_iteration_(\d+)$")
EXPECTED_LAYERS = "conv2d, aa_embedding, evoformer_ensemble_0 ... evoformer_ensemble_N"
#: Embedding and convolution variables (last two name parts) -> torch parameter names.
FIXED = {
    "embedding": {
        (f"{k}/{leaf}"): f"embedding.{t}.{'weight' if leaf == 'weights' else 'bias'}"
        for k, t in (
            ("preprocess_1d", "preprocess_1d"),
            ("left_single", "left_single"),
            ("right_single", "right_single"),
            ("pair_activiations", "relative_position"),
        )
        for leaf in ("weights", "bias")
    },
    "conv": {"kernel": "conv.weight", "bias": "conv.bias"},
}
#: Keras/TF leaf name -> torch leaf name, for Linear and LayerNorm tf.Modules.
LEAVES = {"weights": "weight", "scale": "weight", "offset": "bias"}


def _strip(name: str) -> list[str]:
    parts = name.split("/")
    parts[-1] = re.sub(r":\d+$", "", parts[-1])
    return parts


def _layer_roles(kw: KerasWeights) -> tuple[str, str, dict[int, str]]:
    conv, emb, ensembles, unknown = [], [], {}, []
    for n in kw.layer_names:
        m = ENSEMBLE_RE.match(n)
        if m:
            ensembles[int(m.group(1))] = n
        elif keras_uid(n, "conv2d") is not None:
            conv.append(n)
        elif keras_uid(n, "aa_embedding") is not None:
            emb.append(n)
        else:
            unknown.append(n)
    if unknown or len(conv) != 1 or len(emb) != 1 or not ensembles:
        raise CheckpointError(
            f"Keras weights file, but not ProtRNA's RotaFormer head: expected layers {EXPECTED_LAYERS}; "
            f"found {kw.layer_names[:8]}{' ...' if len(kw.layer_names) > 8 else ''}"
        )
    if sorted(ensembles) != list(range(len(ensembles))):
        raise CheckpointError(f"evoformer ensembles are not numbered 0..{len(ensembles) - 1}: {sorted(ensembles)}")
    if kw.weights.get("top_level_model_weights"):
        raise CheckpointError("unexpected top-level model weights; ProtRNA's head has none")
    return conv[0], emb[0], ensembles


def _keras_to_torch(layer: str, wname: str, role: str) -> str:
    """The torch parameter a Keras variable of ``layer`` fills (``role``: conv, embedding, ensemble)."""
    parts = _strip(wname)
    if role in FIXED:
        key = "/".join(parts[-2:]) if role == "embedding" else parts[-1]
        if key in FIXED[role]:
            return FIXED[role][key]
        raise CheckpointError(f"{layer}: unexpected weight {wname!r}; expected {sorted(FIXED[role])}")
    hits = [i for i, p in enumerate(parts) if ITERATION_RE.match(p)]
    if not hits or hits[-1] >= len(parts) - 2:
        raise CheckpointError(f"{layer}: unexpected weight {wname!r}; expected evoformer_iteration_K/<block>/...")
    k = int(ITERATION_RE.match(parts[hits[-1]]).group(1))  # type: ignore[union-attr]
    rest = parts[hits[-1] + 1 :]
    rest[-1] = LEAVES.get(rest[-1], rest[-1])
    return ".".join([f"iterations.{k}", *rest])


def _torch_to_keras(head: RotaFormerHead) -> dict[str, str]:
    """Inverse naming, for error messages about parameters the file does not fill."""
    out = {}
    inverse_fixed = {v: k for table in FIXED.values() for k, v in table.items()}
    modules = dict(head.named_modules())
    for name, _ in head.named_parameters():
        if name in inverse_fixed:
            out[name] = inverse_fixed[name]
            continue
        owner, leaf = name.rsplit(".", 1)
        if isinstance(modules[owner], nn.LayerNorm):
            leaf = {"weight": "scale", "bias": "offset"}[leaf]
        elif isinstance(modules[owner], nn.Linear) and leaf == "weight":
            leaf = "weights"
        _, k, *path = owner.split(".")
        out[name] = "/".join([f"evoformer_iteration_{k}", *path, leaf])
    return out


def _value(module: nn.Module, tname: str, value: np.ndarray) -> torch.Tensor:
    """Keras layout to torch layout: Dense kernels transposed, the conv kernel (H, W, in, out) permuted."""
    owner = module.get_submodule(tname.rsplit(".", 1)[0])
    if isinstance(owner, nn.Linear) and tname.endswith(".weight"):
        value = value.T
    elif isinstance(owner, nn.Conv2d) and tname.endswith(".weight"):
        value = value.transpose(3, 2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))


def infer_config(kw: KerasWeights) -> HeadConfig:
    """Sizes from a few weights' shapes; every other shape is checked when the weights are assigned."""
    conv_layer, emb_layer, ensembles = _layer_roles(kw)
    emb = {"/".join(_strip(w)[-2:]): v for w, v in kw.weights[emb_layer]}
    flat: dict[str, dict[str, np.ndarray]] = {}
    for e in ensembles.values():
        for w, v in kw.weights[e]:
            parts = _strip(w)
            hits = [i for i, p in enumerate(parts) if ITERATION_RE.match(p)]
            if hits:
                flat.setdefault(parts[hits[-1]], {})["/".join(parts[hits[-1] + 1 :])] = v
    missing = [k for k in ("preprocess_1d/weights", "left_single/weights", "pair_activiations/weights") if k not in emb]
    if missing:
        raise CheckpointError(f"{emb_layer}: missing weights {missing}")
    first = flat.get("evoformer_iteration_0", {})
    probes = (
        "msa_row_attention_with_pair_bias/attention/query_w",
        "triangle_attention_starting_node/attention/query_w",
        "outer_product_mean/left_projection/weights",
        "msa_transition/transition1/weights",
    )
    missing = [p for p in probes if p not in first]
    if missing:
        raise CheckpointError(f"evoformer_iteration_0: missing weights {missing}")
    in_dim, msa_dim = emb["preprocess_1d/weights"].shape
    rel = emb["pair_activiations/weights"].shape[0]
    if rel % 2 != 1:
        raise CheckpointError(f"{emb_layer}: pair_activiations has {rel} inputs, expected 2 * max_distance + 1")
    per_ensemble = {len(_iteration_names(kw, e)) for e in ensembles.values()}
    if len(per_ensemble) != 1:
        raise CheckpointError(f"evoformer ensembles hold different numbers of iterations: {sorted(per_ensemble)}")
    kernels = [v for w, v in kw.weights[conv_layer] if _strip(w)[-1] == "kernel"]
    if len(kernels) != 1 or kernels[0].ndim != 4:
        raise CheckpointError(f"{conv_layer}: expected one 4-D kernel")
    msa_q, pair_q = first[probes[0]].shape, first[probes[1]].shape
    return HeadConfig(
        input_dim=int(in_dim),
        msa_dim=int(msa_dim),
        pair_dim=int(emb["left_single/weights"].shape[1]),
        max_relative_distance=(rel - 1) // 2,
        msa_heads=int(msa_q[1]),
        msa_head_dim=int(msa_q[2]),
        pair_heads=int(pair_q[1]),
        pair_head_dim=int(pair_q[2]),
        outer_dim=int(first[probes[2]].shape[1]),
        transition_factor=int(first[probes[3]].shape[1]) // int(msa_dim),
        num_ensembles=len(ensembles),
        iterations_per_ensemble=per_ensemble.pop(),
        kernel_size=int(kernels[0].shape[0]),
    )


def _iteration_names(kw: KerasWeights, layer: str) -> set[str]:
    names: set[str] = set()
    for w, _ in kw.weights[layer]:
        names.update(p for p in _strip(w) if ITERATION_RE.match(p))
    return names


def head_state(kw: KerasWeights, head: RotaFormerHead) -> dict[str, torch.Tensor]:
    """Every Keras weight as a torch tensor under its parameter name, strictly."""
    conv, emb, ensembles = _layer_roles(kw)
    expected = dict(head.named_parameters())
    per = head.config.iterations_per_ensemble
    state: dict[str, torch.Tensor] = {}
    sources: dict[str, str] = {}
    jobs = [(conv, "conv"), (emb, "embedding")] + [(layer, "ensemble") for layer in ensembles.values()]
    for layer, role in jobs:
        for wname, value in kw.weights[layer]:
            tname = _keras_to_torch(layer, wname, role)
            if role == "ensemble":
                k = int(tname.split(".")[1])
                e = next(i for i, n in ensembles.items() if n == layer)
                if k // per != e:
                    raise CheckpointError(f"{layer}: holds {wname!r}, an iteration of ensemble {k // per}")
            if tname not in expected:
                raise CheckpointError(f"{layer}: unexpected weight {wname!r} (no parameter {tname} in the head)")
            if tname in state:
                raise CheckpointError(f"{layer}: {wname!r} fills {tname}, already filled by {sources[tname]!r}")
            tensor = _value(head, tname, value)
            if tuple(tensor.shape) != tuple(expected[tname].shape):
                raise CheckpointError(
                    f"{layer}: weight {wname!r} of shape {value.shape} does not fit {tname} "
                    f"{tuple(expected[tname].shape)} of a head with {head.config.to_dict()}"
                )
            state[tname], sources[tname] = tensor, f"{layer}/{wname}"
    missing = sorted(set(expected) - set(state))
    if missing:
        names = _torch_to_keras(head)
        shown = [names[m] for m in missing[:8]]
        raise CheckpointError(
            f"missing Keras weights {shown}{' ...' if len(missing) > 8 else ''} ({len(missing)} in all)"
        )
    return state


def convert_ss_head(kw: KerasWeights) -> RotaFormerHead:
    head = RotaFormerHead(infer_config(kw))
    head.load_state_dict(head_state(kw, head), strict=True)
    return head.eval()


def load_ss_head(path: Union[str, Path], device: Optional[Union[str, torch.device]] = None) -> RotaFormerHead:
    """ProtRNA's RotaFormer head from its Keras ``.h5`` (``ssHead_RF_bprna.h5``), strictly, in eval mode."""
    kw = read_keras_weights(path)
    try:
        head = convert_ss_head(kw)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    head.provenance = {  # type: ignore[assignment]
        "format": "protrna-ss-head-h5",
        "source_path": str(path),
        "keras_version": kw.attrs.get("keras_version"),
        "config": head.config.to_dict(),
    }
    return head if device is None else head.to(device)


__all__ = ["load_ss_head", "convert_ss_head", "head_state", "infer_config", "EXPECTED_LAYERS"]
