"""Hugging Face ESM directories (LAMAR's published layout) -> rnalm.

A directory holding ``config.json`` (``"model_type": "esm"``) and the weights as
``model.safetensors`` or ``pytorch_model.bin`` (or sharded, with the matching ``*.index.json``),
as written by ``EsmForMaskedLM.save_pretrained`` or by the ``Trainer`` that pretrained LAMAR,
optionally with the tokenizer's ``vocab.txt`` / ``tokenizer_config.json`` next to them.

What the two "originals" do, and so what this converter reproduces:

* transformers' ``EsmForMaskedLM`` / ``EsmModel`` (keys ``esm.*`` + ``lm_head.*``, or bare ``EsmModel``
  keys without ``esm.``), whose config fields default as ``EsmConfig`` does when ``config.json``
  omits them (notably ``layer_norm_eps=1e-12`` and ``position_embedding_type="absolute"``).
* LAMAR's ``LAMAR/modeling_nucESM2.py``, a copy of the same modules with per-layer persistent rotary
  ``inv_freq`` buffers, a persistent ``embeddings.position_ids`` buffer and a position-embedding
  table that exists (and is ignored) even for rotary models. Its ``EsmForMaskedLM`` is a plain
  ``nn.Module``, so its LM decoder is never tied to the token embeddings.

Tensor names follow transformers' ``EsmModel`` and are renamed to fair-esm's (rnalm's) names; the
buffers above are checked or dropped and listed under ``provenance["ignored_keys"]``. A config
rnalm cannot compute exactly (relative position embeddings, decoders, ESMFold, other RoPE bases)
is refused with a :class:`~rnalm.errors.CheckpointError`, as is any tensor that has no rnalm
counterpart (e.g. a fine-tuned ``classifier.*`` head).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from rnalm.alphabet import Alphabet
from rnalm.errors import CheckpointError
from rnalm.io.formats import CheckpointFormat, Converted, Probe, check_rotary_inv_freq
from rnalm.io.safe_torch import safe_torch_load
from rnalm.model.config import EncoderConfig
from rnalm.models.esm2.alphabet import ESM2_ALPHABET, ESM2_TOKENS
from rnalm.models.lamar.alphabet import LAMAR_ALPHABET, LAMAR_TOKENS

FORMAT_NAME = "hf-esm"
CONFIG_FILE = "config.json"
VOCAB_FILE = "vocab.txt"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
#: Single-file weights, in the order transformers prefers them.
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
INDEX_FILES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")

#: ``EsmConfig``'s defaults (the same in transformers 4.x and 5.x): what a field absent from
#: ``config.json`` means to the original code.
HF_DEFAULTS: dict[str, Any] = {
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "max_position_embeddings": 1026,
    "layer_norm_eps": 1e-12,
    "position_embedding_type": "absolute",
    "emb_layer_norm_before": None,
    "token_dropout": False,
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "tie_word_embeddings": True,
    "rope_theta": 10000.0,
}
#: transformers' ESM contact head hard-codes ``eos_idx=2``; both vocabularies below agree.
HF_CONTACT_EOS_IDX = 2
#: ``tokenizer_config.json`` writes a huge sentinel when no maximum length was set.
_SANE_MAX_LENGTH = 1_000_000

assert LAMAR_ALPHABET.eos_idx == ESM2_ALPHABET.eos_idx == HF_CONTACT_EOS_IDX

_ROTARY_KEY = re.compile(r"^(encoder\.layer\.(\d+|\*)\.attention\.self\.)?rotary_embeddings\.inv_freq$")
_LAYER_RULES: tuple[tuple[str, str], ...] = (
    ("attention.self.query.", "self_attn.q_proj."),
    ("attention.self.key.", "self_attn.k_proj."),
    ("attention.self.value.", "self_attn.v_proj."),
    ("attention.output.dense.", "self_attn.out_proj."),
    ("attention.LayerNorm.", "self_attn_layer_norm."),
    ("intermediate.dense.", "fc1."),
    ("output.dense.", "fc2."),
    ("LayerNorm.", "final_layer_norm."),
)
_TOP_RULES: tuple[tuple[str, str], ...] = (
    ("embeddings.word_embeddings.", "embed_tokens."),
    ("embeddings.layer_norm.", "emb_layer_norm_before."),
    ("embeddings.position_embeddings.", "embed_positions."),
    ("encoder.emb_layer_norm_after.", "emb_layer_norm_after."),
    ("contact_head.regression.", "contact_head.regression."),
    ("lm_head.dense.", "lm_head.dense."),
    ("lm_head.layer_norm.", "lm_head.layer_norm."),
    ("lm_head.decoder.weight", "lm_head.weight"),
    ("lm_head.bias", "lm_head.bias"),
)
_LAYER_KEY = re.compile(r"^encoder\.layer\.(\d+)\.(.+)$")


# ----------------------------------------------------------------------------- reading files
def _load_tensor_file(path: Path) -> dict[str, torch.Tensor]:
    if path.name.endswith(".safetensors"):
        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise CheckpointError(f"{path}: unreadable safetensors file (truncated or corrupted?): {exc}") from exc
    obj = safe_torch_load(path)
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path}: expected a state dict (names -> tensors), got {type(obj).__name__}")
    return dict(obj)


def load_weights(directory: Path) -> tuple[dict[str, torch.Tensor], list[str]]:
    """The directory's tensors and the files they came from (single file or index + shards)."""
    for name in WEIGHT_FILES:
        if (directory / name).is_file():
            return _load_tensor_file(directory / name), [name]
    for name in INDEX_FILES:
        index = directory / name
        if not index.is_file():
            continue
        try:
            weight_map = json.loads(index.read_text())["weight_map"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{index}: not a weight index (no 'weight_map'): {exc}") from exc
        state: dict[str, torch.Tensor] = {}
        shards = sorted(set(weight_map.values()))
        for shard in shards:
            if not (directory / shard).is_file():
                raise CheckpointError(f"{index} lists shard {shard!r}, which is missing from {directory}")
            state.update(_load_tensor_file(directory / shard))
        missing = sorted(set(weight_map) - set(state))
        if missing:
            raise CheckpointError(f"{index}: tensors {missing[:5]} are not in the shards it lists")
        return state, [name, *shards]
    raise CheckpointError(
        f"{directory}: config.json describes a Hugging Face ESM model but there are no weights: expected "
        f"{' or '.join(WEIGHT_FILES)} (or a sharded {' / '.join(INDEX_FILES)})"
    )


def read_vocab(path: Path) -> tuple[str, ...]:
    """Tokens exactly as ``EsmTokenizer`` reads them: one per line, stripped, in row order."""
    return tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines())


# ----------------------------------------------------------------------------- config checks
def _hf(cfg: dict[str, Any], key: str) -> Any:
    return cfg[key] if key in cfg else HF_DEFAULTS[key]


def check_representable(cfg: dict[str, Any]) -> str:
    """Refuse ESM variants rnalm's encoder cannot compute exactly; return the position type."""
    pos = _hf(cfg, "position_embedding_type")
    if pos not in ("absolute", "rotary"):
        raise CheckpointError(
            f"position_embedding_type {pos!r} is not supported: rnalm implements ESM's 'absolute' "
            f"(learned, padding-offset) and 'rotary' positions only"
        )
    for flag in ("is_decoder", "add_cross_attention", "is_folding_model"):
        if cfg.get(flag):
            raise CheckpointError(f"config.json sets {flag}=true; rnalm loads bidirectional ESM encoders only")
    if cfg.get("esmfold_config"):
        raise CheckpointError("config.json describes ESMFold (esmfold_config); rnalm loads the language model only")
    if cfg.get("pruned_heads"):
        raise CheckpointError("config.json lists pruned attention heads; rnalm needs every head present")
    if pos == "rotary":
        theta = float(_hf(cfg, "rope_theta"))
        rope = cfg.get("rope_parameters") or {}
        if isinstance(rope, dict):
            theta = float(rope.get("rope_theta", theta))
            if rope.get("rope_type", "default") != "default":
                raise CheckpointError(f"rope_type {rope.get('rope_type')!r} is not supported (only plain RoPE)")
        if cfg.get("rope_scaling"):
            raise CheckpointError(f"rope_scaling {cfg['rope_scaling']!r} is not supported (only plain RoPE)")
        if theta != 10000.0:
            raise CheckpointError(f"rope_theta {theta} is not supported: rnalm's rotary embedding uses base 10000")
    if _hf(cfg, "layer_norm_eps") is None:
        raise CheckpointError("config.json sets layer_norm_eps to null")
    return pos


def resolve_alphabet(directory: Path, cfg: dict[str, Any], vocab_size: int, notes: list[str]) -> Alphabet:
    """LAMAR's or ESM-2's alphabet, chosen by ``vocab.txt`` (or, without one, by LAMAR's ids).

    Only these two vocabularies are accepted: for any other ``vocab.txt`` rnalm would have to
    guess which tokens are sequence letters and how input is normalised.
    """
    vocab = directory / VOCAB_FILE
    if vocab.is_file():
        tokens = read_vocab(vocab)
        known = {LAMAR_TOKENS: LAMAR_ALPHABET, ESM2_TOKENS: ESM2_ALPHABET}
        if tokens not in known:
            raise CheckpointError(
                f"{vocab}: {len(tokens)} tokens {list(tokens[:12])}{'...' if len(tokens) > 12 else ''} are "
                f"neither LAMAR's ({' '.join(LAMAR_TOKENS)}) nor ESM-2's 33-token protein vocabulary; "
                f"rnalm cannot tell how to tokenise for this model"
            )
        alphabet = known[tokens]
    elif (
        vocab_size == len(LAMAR_TOKENS)
        and cfg.get("pad_token_id") == LAMAR_ALPHABET.padding_idx
        and cfg.get("mask_token_id") in (None, LAMAR_ALPHABET.mask_idx)
    ):
        alphabet = LAMAR_ALPHABET
        notes.append("no vocab.txt: 10-token vocabulary with <pad>=1 taken to be LAMAR's single-nucleotide vocab")
    else:
        raise CheckpointError(
            f"{directory}: no {VOCAB_FILE}, and the {vocab_size}-token vocabulary is not LAMAR's; "
            f"put the model's tokenizer vocab.txt next to config.json"
        )
    if len(alphabet) != vocab_size:
        raise CheckpointError(
            f"{directory}: the token embedding has {vocab_size} rows but the {alphabet.name} vocabulary has "
            f"{len(alphabet)} tokens"
        )
    for field, idx in (("pad_token_id", alphabet.padding_idx), ("mask_token_id", alphabet.mask_idx)):
        if cfg.get(field) is not None and cfg[field] != idx:
            raise CheckpointError(
                f"config.json {field}={cfg[field]} but {alphabet.name}'s vocabulary has that token at {idx}"
            )
    if cfg.get("pad_token_id") is None:
        raise CheckpointError("config.json has no pad_token_id; the original code cannot run without it")
    return alphabet


def _tokenizer_max_length(directory: Path) -> Optional[int]:
    path = directory / TOKENIZER_CONFIG_FILE
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text()).get("model_max_length")
    except ValueError:
        return None
    if isinstance(value, (int, float)) and 0 < value < _SANE_MAX_LENGTH:
        return int(value)
    return None


# ----------------------------------------------------------------------------- tensor renaming
def rename_key(key: str) -> Optional[str]:
    """transformers' ``EsmModel`` name (``esm.`` already stripped) -> rnalm's, or None if unknown."""
    m = _LAYER_KEY.match(key)
    if m:
        i, rest = m.groups()
        for src, dst in _LAYER_RULES:
            if rest.startswith(src):
                return f"layers.{i}.{dst}{rest[len(src) :]}"
        return None
    for src, dst in _TOP_RULES:
        if key == src or (src.endswith(".") and key.startswith(src)):
            return dst + key[len(src) :]
    return None


def normalize_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Strip ``esm.`` and undo the legacy ``LayerNorm.gamma/beta`` names transformers still reads."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.startswith("esm."):
            key = key[len("esm.") :]
        if key.endswith("LayerNorm.gamma"):
            key = key[: -len("gamma")] + "weight"
        elif key.endswith("LayerNorm.beta"):
            key = key[: -len("beta")] + "bias"
        if key in out:
            raise CheckpointError(f"tensor {key!r} appears twice (with and without the 'esm.' prefix)")
        out[key] = value
    return out


def _count_layers(state: dict[str, torch.Tensor]) -> int:
    idx = {int(m.group(1)) for k in state if (m := _LAYER_KEY.match(k))}
    n = max(idx) + 1 if idx else 0
    if idx != set(range(n)):
        raise CheckpointError(f"encoder layers are not contiguous: missing {sorted(set(range(n)) - idx)}")
    return n


def _expect(cond: bool, message: str) -> None:
    if not cond:
        raise CheckpointError(message)


@dataclass(frozen=True)
class _Dims:
    """The architecture read from the tensors (and checked against config.json)."""

    vocab_size: int
    width: int
    num_layers: int
    heads: int
    ffn: int


def _check_dims(cfg: dict[str, Any], state: dict[str, torch.Tensor]) -> tuple[torch.Tensor, _Dims]:
    """The token embedding and the architecture, each config.json field checked against the tensors."""
    emb = state.get("embeddings.word_embeddings.weight")
    _expect(emb is not None and emb.ndim == 2, "no embeddings.word_embeddings.weight: not an ESM model's weights")
    assert emb is not None
    vocab_size, width = emb.shape
    num_layers = _count_layers(state)
    heads = int(_hf(cfg, "num_attention_heads"))
    _expect(num_layers > 0, "no encoder.layer.N tensors: not an ESM model's weights")
    _expect(
        cfg.get("vocab_size") in (None, vocab_size),
        f"config.json vocab_size={cfg.get('vocab_size')} but the token embedding has {vocab_size} rows",
    )
    _expect(
        int(_hf(cfg, "hidden_size")) == width,
        f"config.json hidden_size={_hf(cfg, 'hidden_size')} but the weights are {width} wide",
    )
    _expect(
        int(_hf(cfg, "num_hidden_layers")) == num_layers,
        f"config.json num_hidden_layers={_hf(cfg, 'num_hidden_layers')} but the weights have {num_layers} layers",
    )
    _expect(heads > 0 and width % heads == 0, f"hidden size {width} is not divisible by {heads} attention heads")
    fc1 = state.get("encoder.layer.0.intermediate.dense.weight")
    _expect(fc1 is not None, "no encoder.layer.0.intermediate.dense.weight")
    assert fc1 is not None
    ffn = fc1.shape[0]
    _expect(
        int(_hf(cfg, "intermediate_size")) == ffn,
        f"config.json intermediate_size={_hf(cfg, 'intermediate_size')} but the weights have {ffn}",
    )
    return emb, _Dims(vocab_size, width, num_layers, heads, ffn)


def _drop_unused(state: dict[str, torch.Tensor], pos: str, head_dim: int) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Remove the buffers and tensors the original ignores (or recomputes), each checked or recorded."""
    ignored: list[str] = []
    rotary_keys = [k for k in state if _ROTARY_KEY.match(k)]
    if rotary_keys:
        _expect(pos == "rotary", f"rotary buffers {rotary_keys[:2]} in an absolute-position model")
        state = check_rotary_inv_freq(state, "rotary_embeddings.inv_freq", head_dim)
        ignored += sorted(rotary_keys)
    if "embeddings.position_ids" in state:  # persistent in older transformers and in LAMAR; never read
        ignored.append("embeddings.position_ids")
        del state["embeddings.position_ids"]
    if pos == "rotary" and "embeddings.position_embeddings.weight" in state:
        # LAMAR builds this table for rotary models too and never adds it; transformers ignores it on load.
        ignored.append("embeddings.position_embeddings.weight")
        del state["embeddings.position_embeddings.weight"]
    for key in [k for k in state if k.startswith("pooler.")]:
        # EsmModel's pooler only feeds pooler_output, which rnalm does not produce.
        ignored.append(key)
        del state[key]
    return state, ignored


def _max_positions(
    directory: Path, cfg: dict[str, Any], state: dict[str, torch.Tensor], pos: str, padding_idx: int
) -> int:
    """The longest input: from the position table (absolute) or the declared limits (rotary)."""
    if pos == "absolute":
        table = state.get("embeddings.position_embeddings.weight")
        _expect(table is not None, "absolute-position model without embeddings.position_embeddings.weight")
        assert table is not None
        rows = table.shape[0]
        _expect(
            rows == int(_hf(cfg, "max_position_embeddings")),
            f"position table has {rows} rows but config.json max_position_embeddings="
            f"{_hf(cfg, 'max_position_embeddings')}",
        )
        # transformers numbers non-pad tokens padding_idx+1, padding_idx+2, ... exactly as rnalm's
        # LearnedPositionalEmbedding does; rnalm's table holds max_positions + padding_idx + 1 rows.
        max_positions = rows - padding_idx - 1
        _expect(max_positions > 0, f"position table of {rows} rows leaves no room after pad index {padding_idx}")
        return max_positions
    # Rotary positions have no table; the declared limit (or the tokenizer's, if larger) is the
    # longest input the model was trained on.
    return max(int(_hf(cfg, "max_position_embeddings")), _tokenizer_max_length(directory) or 0)


def _lm_head(
    cfg: dict[str, Any], state: dict[str, torch.Tensor], emb: torch.Tensor, notes: list[str]
) -> tuple[bool, bool]:
    """``(has_lm, tie)``: the LM head is tied (decoder absent or equal to the embeddings) or untied.

    A tied decoder is removed from ``state``."""
    has_lm = any(k.startswith("lm_head.") for k in state)
    tie = True
    if has_lm:
        decoder = state.pop("lm_head.decoder.weight", None)
        if decoder is None:
            _expect(
                bool(_hf(cfg, "tie_word_embeddings")),
                "config.json sets tie_word_embeddings=false but lm_head.decoder.weight is missing",
            )
        elif torch.equal(decoder, emb):
            pass
        else:
            tie = False
            state["lm_head.decoder.weight"] = decoder
            if _hf(cfg, "tie_word_embeddings"):
                notes.append(
                    "lm_head.decoder.weight differs from the token embeddings although tie_word_embeddings "
                    "is true: LAMAR's own EsmForMaskedLM (a plain nn.Module) uses the stored decoder, "
                    "transformers' would overwrite it with the embeddings; rnalm uses the stored weights"
                )
    return has_lm, tie


def _renamed(directory: Path, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` in rnalm's parameter names; a tensor with no counterpart is a CheckpointError."""
    renamed: dict[str, torch.Tensor] = {}
    unknown = []
    for key, value in state.items():
        new = rename_key(key)
        if new is None:
            unknown.append(key)
        else:
            renamed[new] = value
    if unknown:
        raise CheckpointError(
            f"{directory}: tensors with no counterpart in an ESM masked-LM encoder: {sorted(unknown)[:8]}"
            f"{'...' if len(unknown) > 8 else ''} (task heads such as classifier.* are not loaded by rnalm)"
        )
    return renamed


def convert_hf_esm(directory: Path, cfg: dict[str, Any], state: dict[str, torch.Tensor]) -> Converted:
    """Check ``cfg`` against the tensors, rename them, and build rnalm's config and alphabet."""
    pos = check_representable(cfg)
    state = normalize_keys(state)
    notes: list[str] = []
    emb, dims = _check_dims(cfg, state)
    alphabet = resolve_alphabet(directory, cfg, dims.vocab_size, notes)
    padding_idx = alphabet.padding_idx
    state, ignored = _drop_unused(state, pos, dims.width // dims.heads)

    has_emb_ln = "embeddings.layer_norm.weight" in state
    _expect(
        has_emb_ln == bool(_hf(cfg, "emb_layer_norm_before")),
        f"config.json emb_layer_norm_before={_hf(cfg, 'emb_layer_norm_before')} but the embedding "
        f"LayerNorm is {'present' if has_emb_ln else 'absent'} in the weights",
    )
    max_positions = _max_positions(directory, cfg, state, pos, padding_idx)
    has_lm, tie = _lm_head(cfg, state, emb, notes)
    has_contact = "contact_head.regression.weight" in state
    renamed = _renamed(directory, state)
    if has_lm and tie:
        renamed["lm_head.weight"] = renamed["embed_tokens.weight"]

    config = EncoderConfig(
        vocab_size=dims.vocab_size,
        num_layers=dims.num_layers,
        embed_dim=dims.width,
        ffn_embed_dim=dims.ffn,
        attention_heads=dims.heads,
        position_embedding="learned" if pos == "absolute" else "rotary",
        max_positions=max_positions,
        padding_idx=padding_idx,
        mask_idx=alphabet.mask_idx,
        cls_idx=alphabet.cls_idx,
        eos_idx=HF_CONTACT_EOS_IDX,
        prepend_bos=True,
        append_eos=True,
        emb_layer_norm_before=has_emb_ln,
        token_dropout=bool(_hf(cfg, "token_dropout")),
        layer_norm_eps=float(_hf(cfg, "layer_norm_eps")),
        tie_lm_head=tie,
        lm_head=has_lm,
        contact_head=has_contact,
        dropout=float(_hf(cfg, "hidden_dropout_prob") or 0.0),
        attention_dropout=float(_hf(cfg, "attention_probs_dropout_prob") or 0.0),
    )
    if cfg.get("hidden_act") not in (None, "gelu"):
        notes.append(
            f"config.json hidden_act={cfg['hidden_act']!r} is ignored, as transformers' ESM code always uses erf-GELU"
        )
    provenance: dict[str, Any] = {
        "family": alphabet.name,
        "hf_architectures": cfg.get("architectures"),
        "transformers_version": cfg.get("transformers_version"),
        "ignored_keys": ignored,
    }
    if notes:
        provenance["notes"] = notes
    return Converted(config, alphabet, renamed, provenance)


# ----------------------------------------------------------------------------- registration
def _sniff(probe: Probe) -> bool:
    if not probe.is_dir:
        return False
    cfg = probe.json_file(CONFIG_FILE)
    return isinstance(cfg, dict) and cfg.get("model_type") == "esm" and cfg.get("format") != "rnalm"


def convert_hf_esm_dir(probe: Probe) -> Converted:
    cfg = probe.json_file(CONFIG_FILE)
    assert cfg is not None  # guaranteed by the sniffer
    state, files = load_weights(probe.path)
    conv = convert_hf_esm(probe.path, cfg, state)
    conv.provenance["weights_files"] = files
    return conv


#: Hugging Face ESM directories (listed in :data:`rnalm.models.FORMATS`).
HF_ESM_FORMAT = CheckpointFormat(
    FORMAT_NAME,
    "Hugging Face ESM directory such as LAMAR's (config.json with model_type 'esm' + model.safetensors "
    "or pytorch_model.bin)",
    _sniff,
    convert_hf_esm_dir,
)


__all__ = [
    "HF_ESM_FORMAT",
    "FORMAT_NAME",
    "convert_hf_esm",
    "convert_hf_esm_dir",
    "load_weights",
    "rename_key",
    "read_vocab",
]
