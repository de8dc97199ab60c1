"""Converter for ProtRNA's Keras ``.h5`` weights (``ProtRNA_pretrained.h5``).

ProtRNA is ESM-2 650M re-trained on RNA in TensorFlow; its ``protrna/pretrained.py`` restores the
weights with ``model.load_weights(...)`` from a file written by tf.keras 2.x ``Model.save_weights``
in HDF5 format. That layout (keras ``saving/legacy/hdf5_format.py``) is:

* root attribute ``layer_names``: the model's top-level layers, here ``embedding``,
  ``layer_._0`` ... ``layer_._32``, ``emb_layer_norm_after``, ``lm_head``;
* one group per layer, with attribute ``weight_names`` and one dataset per weight, stored at the
  variable's full TensorFlow name (``ProtRNA/layer_._0/multihead_attention/dense/kernel:0``), so
  every ``/`` in the name is a nested HDF5 group;
* an empty ``top_level_model_weights`` group.

Keras itself loads such a file *by position*; rnalm reads it by name instead, which is robust to
the two things that vary between saving sessions: the global counters of auto-named layers
(``dense_17``, ``layer_normalization_4``...) and the order of weights inside a group (trainable
weights first). Auto-named siblings are told apart by their counter, i.e. creation order:
q, k, v, out projections; self-attention LayerNorm before the final LayerNorm; fc1 before fc2.
Dense kernels are ``(in, out)`` and are transposed into torch's ``(out, in)``.

Every dataset is either mapped or ignored for a stated reason (:data:`IGNORED`), after checking
it carries nothing rnalm would lose. The full layout table and the sources it was read from are
in ``card.md`` next to this file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import torch

from rnalm.errors import CheckpointError, RnalmError
from rnalm.io.formats import CheckpointFormat, Converted, Probe, check_rotary_inv_freq, check_state_matches
from rnalm.io.sizecap import check_declared_size
from rnalm.model.config import EncoderConfig
from rnalm.models.protrna.alphabet import PROTRNA_ALPHABET

FORMAT_NAME = "protrna-h5"
EMBEDDING, FINAL_NORM, LM_HEAD, TOP_LEVEL = "embedding", "emb_layer_norm_after", "lm_head", "top_level_model_weights"
EXPECTED_LAYERS = f"{EMBEDDING}, layer_._0 ... layer_._N, {FINAL_NORM}, {LM_HEAD}"
FORMAT_DESCRIPTION = (
    f"ProtRNA Keras .h5 weights (tf.keras Model.save_weights HDF5 whose root attribute layer_names lists "
    f"{EXPECTED_LAYERS})"
)
#: ProtRNA's published head count (``protrna/pretrained.py``, also the ``ProtRNA`` constructor
#: default). Used only when the file holds no rotary ``inv_freq`` to read the head size from.
DEFAULT_ATTENTION_HEADS = 20
#: ProtRNA's batch converter cuts every input to ``allowed_len=512`` tokens (``protrna/data.py``);
#: rnalm refuses longer input instead of truncating it silently.
DEFAULT_MAX_POSITIONS = 512
#: ``layers.LayerNormalization(epsilon=1e-5)`` everywhere in ``protrna/model.py`` and ``modules.py``.
LAYER_NORM_EPS = 1e-5
BLOCK_RE = re.compile(r"^layer_\._(\d+)$")
#: Datasets rnalm reads but does not keep, and why.
IGNORED = {
    "inv_freq": "rotary frequencies, a function of the head size; checked equal to the standard "
    "base-10000 values (rnalm recomputes them) and used to infer the head count",
    "tied_decoder": "the LM head's decoder is the embedding variable itself (RobertaLMHead(decoder="
    "embed_tokens.weights[0])), saved a second time in the lm_head group; checked equal",
}


def import_h5py() -> Any:
    """h5py is optional (only this format needs it): import it on first use."""
    try:
        import h5py
    except ImportError as exc:
        raise RnalmError(
            "reading ProtRNA .h5 weights needs h5py, a dependency of rnalm missing from this installation: "
            "reinstall rnalm (pip install --force-reinstall rnalm)"
        ) from exc
    return h5py


# ----------------------------------------------------------------------------- reading the file
def read_name_list(node: Any, name: str) -> Optional[list[str]]:
    """A Keras string-list attribute, also when split into ``name0``, ``name1``... chunks.

    Keras writes an empty list as an empty float array. Returns None when the attribute is absent.
    """
    attrs = node.attrs
    if name in attrs:
        chunks = [attrs[name]]
    elif f"{name}0" in attrs:
        chunks, i = [], 0
        while f"{name}{i}" in attrs:
            chunks.append(attrs[f"{name}{i}"])
            i += 1
    else:
        return None
    out = []
    for chunk in chunks:
        for item in np.atleast_1d(np.asarray(chunk)).ravel():
            if isinstance(item, bytes):
                out.append(item.decode("utf-8"))
            elif isinstance(item, str):
                out.append(item)
            else:
                raise CheckpointError(
                    f"attribute {name!r} of HDF5 object {node.name!r} holds {type(item).__name__} values, "
                    f"expected strings"
                )
    return out


@dataclass
class KerasWeights:
    """The content of a Keras ``save_weights`` HDF5 file, read once into memory."""

    layer_names: list[str]
    #: layer name -> ``[(weight name, value), ...]`` in the group's ``weight_names`` order.
    weights: dict[str, list[tuple[str, np.ndarray]]]
    attrs: dict[str, str] = field(default_factory=dict)


def read_keras_weights(path: Union[str, Path]) -> KerasWeights:
    """Read every weight listed by ``layer_names``/``weight_names``; refuse datasets listed nowhere."""
    h5py = import_h5py()
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            return _read_open_file(h5py, f, path)
    except CheckpointError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise CheckpointError(
            f"{path}: unreadable HDF5 file (truncated or corrupted?); expected {FORMAT_DESCRIPTION}. "
            f"Details: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from exc


def _read_open_file(h5py: Any, f: Any, path: Path) -> KerasWeights:
    sizes: list[int] = []
    f.visititems(
        lambda n, obj: sizes.append(int(obj.size) * obj.dtype.itemsize) if isinstance(obj, h5py.Dataset) else None
    )
    check_declared_size(path, sum(sizes), path.stat().st_size, "HDF5 datasets")
    layer_names = read_name_list(f, "layer_names")
    if layer_names is None:
        hint = (
            " It looks like a full-model Keras file (a 'model_weights' group); ProtRNA publishes weights only."
            if "model_weights" in f
            else ""
        )
        raise CheckpointError(
            f"{path}: HDF5 file without a root 'layer_names' attribute, so not a Keras save_weights file; "
            f"expected {FORMAT_DESCRIPTION}.{hint}"
        )
    weights: dict[str, list[tuple[str, np.ndarray]]] = {}
    listed: set[str] = set()
    groups = list(layer_names) + ([TOP_LEVEL] if TOP_LEVEL in f else [])
    for name in groups:
        group = f.get(name)
        if not isinstance(group, h5py.Group):
            raise CheckpointError(f"{path}: layer_names lists {name!r} but the file has no such group")
        weight_names = read_name_list(group, "weight_names")
        if weight_names is None:
            raise CheckpointError(f"{path}: group {name!r} has no 'weight_names' attribute")
        items = []
        for wname in weight_names:
            ds = group.get(wname)
            if not isinstance(ds, h5py.Dataset):
                raise CheckpointError(f"{path}: group {name!r} lists weight {wname!r} but holds no such dataset")
            items.append((wname, np.asarray(ds[()])))
            listed.add(ds.name)
        weights[name] = items
    present: list[str] = []
    f.visititems(lambda n, obj: present.append("/" + n) if isinstance(obj, h5py.Dataset) else None)
    unlisted = sorted(set(present) - listed)
    if unlisted:
        raise CheckpointError(
            f"{path}: datasets not listed in any layer's weight_names (Keras would not load them either): "
            f"{unlisted[:8]}{' ...' if len(unlisted) > 8 else ''}"
        )
    attrs = {}
    for key in ("keras_version", "backend"):
        if key in f.attrs:
            v = f.attrs[key]
            attrs[key] = v.decode("utf-8") if isinstance(v, bytes) else str(v)
    return KerasWeights(layer_names, weights, attrs)


# ----------------------------------------------------------------------------- name parsing
def keras_uid(name: str, base: str) -> Optional[int]:
    """Creation counter of an auto-named Keras layer: ``dense`` -> 0, ``dense_7`` -> 7, else None."""
    if name == base:
        return 0
    rest = name[len(base) + 1 :]
    if name.startswith(base + "_") and rest.isdigit():
        return int(rest)
    return None


def relative_name(weight_name: str, layer_name: str) -> tuple[str, ...]:
    """The part of a variable name below its layer: ``P/layer_._3/dense_20/kernel:0`` -> ``(dense_20, kernel)``.

    The leading scope (the model name ``ProtRNA`` when the variable was built inside the model's
    first call, nothing when built earlier) is dropped; names that do not mention the layer are
    returned whole (the embedding and the LM head bias are created in ``__init__``).
    """
    parts = weight_name.split("/")
    parts[-1] = re.sub(r":\d+$", "", parts[-1])
    hits = [i for i, p in enumerate(parts[:-1]) if p == layer_name]
    return tuple(parts[hits[-1] + 1 :] if hits else parts)


def _kernel(value: np.ndarray, what: str) -> torch.Tensor:
    if value.ndim != 2:
        raise CheckpointError(f"{what}: Dense kernel of shape {value.shape}, expected 2 dimensions")
    return torch.from_numpy(np.ascontiguousarray(value.T))  # Keras (in, out) -> torch (out, in)


def _vector(value: np.ndarray, what: str) -> torch.Tensor:
    if value.ndim != 1:
        raise CheckpointError(f"{what}: shape {value.shape}, expected a vector")
    return torch.from_numpy(np.ascontiguousarray(value))


def _pairs(
    found: dict[int, dict[str, tuple[str, np.ndarray]]], names: tuple[str, str], expected: int, what: str, layer: str
) -> list[dict[str, tuple[str, np.ndarray]]]:
    """Sibling sublayers ordered by creation counter, each required to hold exactly ``names``."""
    if len(found) != expected:
        raise CheckpointError(f"{layer}: expected {expected} {what}, found {len(found)}")
    out = []
    for uid in sorted(found):
        parts = found[uid]
        if set(parts) != set(names):
            raise CheckpointError(f"{layer}: a sublayer of the {what} holds {sorted(parts)}, expected {list(names)}")
        out.append(parts)
    return out


@dataclass
class _Mapped:
    state: dict[str, torch.Tensor] = field(default_factory=dict)
    inv_freq: dict[str, torch.Tensor] = field(default_factory=dict)
    ignored: dict[str, list[str]] = field(default_factory=dict)

    def ignore(self, reason: str, name: str) -> None:
        self.ignored.setdefault(reason, []).append(name)


def _map_block(i: int, items: list[tuple[str, np.ndarray]], out: _Mapped) -> None:
    """One ``TransformerLayer`` (``protrna/modules.py``) into ``layers.{i}.*``."""
    layer = f"layer_._{i}"
    attn: dict[int, dict[str, tuple[str, np.ndarray]]] = {}
    ffn: dict[int, dict[str, tuple[str, np.ndarray]]] = {}
    norms: dict[int, dict[str, tuple[str, np.ndarray]]] = {}
    mha_scopes = set()
    for wname, value in items:
        rel = relative_name(wname, layer)
        if len(rel) == 3 and keras_uid(rel[0], "multihead_attention") is not None:
            mha_scopes.add(rel[0])
            uid = keras_uid(rel[1], "dense")
            if uid is not None and rel[2] in ("kernel", "bias"):
                attn.setdefault(uid, {})[rel[2]] = (wname, value)
                continue
            if keras_uid(rel[1], "rotary_embedding") is not None and rel[2] == "inv_freq":
                out.inv_freq[f"{layer}/{wname}"] = torch.from_numpy(np.asarray(value, dtype=np.float32))
                out.ignore("inv_freq", f"{layer}/{wname}")
                continue
        elif len(rel) == 2:
            uid = keras_uid(rel[0], "dense")
            if uid is not None and rel[1] in ("kernel", "bias"):
                ffn.setdefault(uid, {})[rel[1]] = (wname, value)
                continue
            uid = keras_uid(rel[0], "layer_normalization")
            if uid is not None and rel[1] in ("gamma", "beta"):
                norms.setdefault(uid, {})[rel[1]] = (wname, value)
                continue
        raise CheckpointError(
            f"{layer}: unexpected weight {wname!r}; a ProtRNA TransformerLayer holds multihead_attention/"
            f"dense (x4) and rotary_embedding/inv_freq, layer_normalization (x2) and dense (x2)"
        )
    if len(mha_scopes) > 1:
        raise CheckpointError(f"{layer}: weights of several attention layers {sorted(mha_scopes)}")
    prefix = f"layers.{i}."
    for slot, parts in zip(
        ("q_proj", "k_proj", "v_proj", "out_proj"),
        _pairs(attn, ("kernel", "bias"), 4, "Dense layers in multihead_attention", layer),
    ):
        out.state[f"{prefix}self_attn.{slot}.weight"] = _kernel(parts["kernel"][1], parts["kernel"][0])
        out.state[f"{prefix}self_attn.{slot}.bias"] = _vector(parts["bias"][1], parts["bias"][0])
    for slot, parts in zip(("fc1", "fc2"), _pairs(ffn, ("kernel", "bias"), 2, "feed-forward Dense layers", layer)):
        out.state[f"{prefix}{slot}.weight"] = _kernel(parts["kernel"][1], parts["kernel"][0])
        out.state[f"{prefix}{slot}.bias"] = _vector(parts["bias"][1], parts["bias"][0])
    for slot, parts in zip(
        ("self_attn_layer_norm", "final_layer_norm"),
        _pairs(norms, ("gamma", "beta"), 2, "LayerNormalization layers", layer),
    ):
        out.state[f"{prefix}{slot}.weight"] = _vector(parts["gamma"][1], parts["gamma"][0])
        out.state[f"{prefix}{slot}.bias"] = _vector(parts["beta"][1], parts["beta"][0])


def _single_layer(
    name: str, items: list[tuple[str, np.ndarray]], table: dict[tuple[str, ...], str], out: _Mapped
) -> None:
    """A top-level layer whose weights are fixed by name (``table``: relative name -> rnalm key)."""
    seen = set()
    for wname, value in items:
        rel = relative_name(wname, name)
        key = table.get(rel)
        if key is None:
            raise CheckpointError(f"{name}: unexpected weight {wname!r}; expected {['/'.join(r) for r in table]}")
        if key in seen:
            raise CheckpointError(f"{name}: weight {wname!r} appears twice")
        seen.add(key)
        out.state[key] = torch.from_numpy(np.ascontiguousarray(value.T if key.endswith("dense.weight") else value))
    missing = sorted("/".join(r) for r, k in table.items() if k not in seen)
    if missing:
        raise CheckpointError(f"{name}: missing weights {missing}")


def map_weights(kw: KerasWeights) -> tuple[int, _Mapped]:
    """All datasets to rnalm parameter names; returns the number of transformer blocks too."""
    blocks: dict[int, str] = {}
    unknown = []
    for n in kw.layer_names:
        m = BLOCK_RE.match(n)
        if m:
            blocks[int(m.group(1))] = n
        elif n not in (EMBEDDING, FINAL_NORM, LM_HEAD):
            unknown.append(n)
    missing = [n for n in (EMBEDDING, FINAL_NORM, LM_HEAD) if n not in kw.layer_names]
    if unknown or missing or not blocks:
        found = kw.layer_names[:6] + (["..."] if len(kw.layer_names) > 6 else [])
        raise CheckpointError(
            f"Keras weights file, but not ProtRNA's layout: expected layers {EXPECTED_LAYERS}; found {found}"
            + (f"; missing {missing}" if missing else "")
            + (f"; unexpected {unknown[:6]}" if unknown else "")
            + ("; no transformer blocks" if not blocks else "")
        )
    num_layers = len(blocks)
    if sorted(blocks) != list(range(num_layers)):
        raise CheckpointError(f"transformer blocks are not numbered 0..{num_layers - 1}: {sorted(blocks)}")
    if kw.weights.get(TOP_LEVEL):
        raise CheckpointError(
            f"unexpected top-level model weights {[w for w, _ in kw.weights[TOP_LEVEL]]}; ProtRNA has none"
        )

    out = _Mapped()
    _single_layer(EMBEDDING, kw.weights[EMBEDDING], {("embeddings",): "embed_tokens.weight"}, out)
    for i in range(num_layers):
        _map_block(i, kw.weights[blocks[i]], out)
    _single_layer(
        FINAL_NORM,
        kw.weights[FINAL_NORM],
        {("gamma",): "emb_layer_norm_after.weight", ("beta",): "emb_layer_norm_after.bias"},
        out,
    )

    embedding = out.state["embed_tokens.weight"]
    head_items = []
    for wname, value in kw.weights[LM_HEAD]:
        if relative_name(wname, LM_HEAD)[-2:] == ("embedding", "embeddings"):
            if value.shape != tuple(embedding.shape) or not np.array_equal(value, embedding.numpy()):
                raise CheckpointError(
                    f"lm_head: its decoder copy {wname!r} differs from the embedding matrix; in ProtRNA the two "
                    f"are one variable, so this file was not saved from a ProtRNA model"
                )
            out.ignore("tied_decoder", f"{LM_HEAD}/{wname}")
        else:
            head_items.append((wname, value))
    _single_layer(
        LM_HEAD,
        head_items,
        {
            ("bias",): "lm_head.bias",
            ("dense", "kernel"): "lm_head.dense.weight",
            ("dense", "bias"): "lm_head.dense.bias",
            ("layer_norm", "gamma"): "lm_head.layer_norm.weight",
            ("layer_norm", "beta"): "lm_head.layer_norm.bias",
        },
        out,
    )
    out.state["lm_head.weight"] = embedding  # tied, as in ProtRNA
    return num_layers, out


# ----------------------------------------------------------------------------- config
def infer_attention_heads(
    embed_dim: int, inv_freq: dict[str, torch.Tensor], override: Optional[int]
) -> tuple[int, str]:
    """Head count from the rotary ``inv_freq`` length (head_dim / 2), else the override or ProtRNA's 20."""
    lengths = {v.numel() for v in inv_freq.values()}
    if len(lengths) > 1:
        raise CheckpointError(f"rotary inv_freq lengths differ between layers: {sorted(lengths)}")
    if lengths:
        head_dim = 2 * lengths.pop()
        if head_dim == 0 or embed_dim % head_dim:
            raise CheckpointError(
                f"rotary inv_freq implies head size {head_dim}, which does not divide width {embed_dim}"
            )
        heads = embed_dim // head_dim
        if override is not None and override != heads:
            raise CheckpointError(
                f"attention_heads={override} contradicts the file: its rotary inv_freq implies {heads} heads "
                f"of size {head_dim}"
            )
        return heads, "rotary inv_freq length"
    heads = override if override is not None else DEFAULT_ATTENTION_HEADS
    source = "caller" if override is not None else f"ProtRNA's published value ({DEFAULT_ATTENTION_HEADS})"
    if heads <= 0 or embed_dim % heads:
        raise CheckpointError(
            f"cannot split width {embed_dim} into {heads} attention heads ({source}); the file holds no rotary "
            f"inv_freq to read the head size from. Pass attention_heads= to "
            f"rnalm.models.protrna.load_protrna_h5"
        )
    return heads, source


def build_config(state: dict[str, torch.Tensor], num_layers: int, heads: int, max_positions: int) -> EncoderConfig:
    a = PROTRNA_ALPHABET
    vocab, embed_dim = state["embed_tokens.weight"].shape
    if vocab != len(a):
        hint = " (33 rows is a plain ESM-2 protein vocabulary)" if vocab == 33 else ""
        raise CheckpointError(
            f"token embedding has {vocab} rows; ProtRNA's vocabulary has {len(a)} (33 ESM-2 tokens + a u g c x){hint}"
        )
    return EncoderConfig(
        vocab_size=vocab,
        num_layers=num_layers,
        embed_dim=int(embed_dim),
        ffn_embed_dim=int(state["layers.0.fc1.weight"].shape[0]),
        attention_heads=heads,
        position_embedding="rotary",
        max_positions=max_positions,
        padding_idx=a.padding_idx,
        mask_idx=a.mask_idx,
        cls_idx=a.cls_idx,
        eos_idx=a.eos_idx,
        prepend_bos=True,
        append_eos=True,
        emb_layer_norm_before=False,
        token_dropout=False,  # protrna/pretrained.py builds the model with token_dropout=False
        layer_norm_eps=LAYER_NORM_EPS,
        embed_scale=1.0,
        tie_lm_head=True,
        lm_head=True,
        contact_head=False,  # ProtRNA has no contact regression
    )


# ----------------------------------------------------------------------------- entry points
def convert_protrna_h5(
    path: Union[str, Path], attention_heads: Optional[int] = None, max_positions: Optional[int] = None
) -> Converted:
    """Convert a ProtRNA ``.h5`` file; ``attention_heads``/``max_positions`` override the inferred values."""
    kw = read_keras_weights(path)
    try:
        num_layers, mapped = map_weights(kw)
        embed_dim = int(mapped.state["embed_tokens.weight"].shape[1])
        heads, heads_source = infer_attention_heads(embed_dim, mapped.inv_freq, attention_heads)
        check_rotary_inv_freq(mapped.inv_freq, "", embed_dim // heads)  # "": check every one
        config = build_config(mapped.state, num_layers, heads, max_positions or DEFAULT_MAX_POSITIONS)
        check_state_matches(config, mapped.state, "weights do not fit a ProtRNA")
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    provenance = {
        "format": FORMAT_NAME,
        "model_family": "ProtRNA",
        "keras_version": kw.attrs.get("keras_version"),
        "keras_backend": kw.attrs.get("backend"),
        "attention_heads_source": heads_source,
        "ignored_datasets": {f"{reason}: {IGNORED[reason]}": names for reason, names in mapped.ignored.items()},
    }
    return Converted(config, PROTRNA_ALPHABET, mapped.state, provenance)


def _sniff(probe: Probe) -> bool:
    """Every HDF5 file: ProtRNA's is rnalm's only HDF5-based format (and is tried last), so claiming
    them all lets :func:`convert_protrna_h5` say precisely what is wrong with a foreign or
    truncated one, or that h5py is missing, instead of a generic "unknown format". Narrow this
    (e.g. to files with a root ``layer_names`` attribute) if another HDF5 format is ever added.
    """
    return not probe.is_dir and probe.is_hdf5


def convert_protrna(probe: Probe) -> Converted:
    return convert_protrna_h5(probe.path)


#: ProtRNA Keras files (listed in :data:`rnalm.models.FORMATS`).
PROTRNA_FORMAT = CheckpointFormat(FORMAT_NAME, FORMAT_DESCRIPTION, _sniff, convert_protrna)
__all__ = [
    "PROTRNA_FORMAT",
    "FORMAT_NAME",
    "FORMAT_DESCRIPTION",
    "DEFAULT_ATTENTION_HEADS",
    "DEFAULT_MAX_POSITIONS",
    "IGNORED",
    "convert_protrna",
    "convert_protrna_h5",
    "read_keras_weights",
    "read_name_list",
    "relative_name",
    "keras_uid",
    "map_weights",
    "import_h5py",
]
