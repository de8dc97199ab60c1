"""Converter for RNA-FM and mRNA-FM ``.pth`` checkpoints as rna-fm publishes and loads them.

A published file is a ``torch.save``'d dict ``{"args": argparse.Namespace, "model": state}`` from
fairseq: ``args.arch == "roberta_large"``, architecture sizes under fairseq names
(``encoder_layers`` ...) or already upgraded ones (``layers`` ...), and tensors under
``encoder.sentence_encoder.*`` (embeddings, layers, final LayerNorm) and ``encoder.*`` (LM head,
optionally the contact head). rna-fm's ``fm.pretrained._load_model_and_alphabet_core_v1`` rewrites
both with string surgery; :func:`upgrade_arg_name` and :func:`upgrade_key` reproduce that surgery
exactly, so rnalm accepts the same files (and rejects the same malformed ones).

Two behaviours of the original loader matter for fidelity and are reproduced on purpose:

* It zeroes the ``<mask>`` row of ``embed_tokens.weight`` *in place* before loading, then loads
  ``lm_head.weight`` into the same (tied) parameter afterwards. Whether the zeroing survives thus
  depends on whether the file stores the two tensors in one shared storage: when it does the
  ``<mask>`` embedding is zero, when it does not (a file saved from GPU tensors one by one) the
  LM head's copy wins and the row keeps its trained values. :func:`tied_embedding` computes
  that same effective matrix.
* It tolerates missing ``contact_head.regression.*`` tensors (RNA-FM never shipped them) and
  then leaves the regression randomly initialised. rnalm instead builds such models without a
  contact head, so ``return_contacts=True`` raises instead of returning noise; attention maps
  remain available.

The vocabulary (RNA-FM's 25 tokens or mRNA-FM's 73 codon tokens) is chosen from the number of
embedding rows, since the original takes it from which function the caller used.
"""

from __future__ import annotations

import argparse
from typing import Any

import torch

from rnalm.alphabet import Alphabet
from rnalm.errors import CheckpointError
from rnalm.io.formats import CheckpointFormat, Converted, Probe, check_state_matches
from rnalm.model.config import EncoderConfig
from rnalm.models.rnafm.alphabet import MRNA_FM_ALPHABET, RNA_FM_ALPHABET

FORMAT_NAME = "rna-fm"
FORMAT_DESCRIPTION = (
    "RNA-FM / mRNA-FM .pth (torch.save'd dict with a fairseq 'args' Namespace, arch 'roberta_large', "
    "and a 'model' state dict)"
)
ARCH = "roberta_large"
#: Embedding rows -> alphabet; the only two vocabularies rna-fm's roberta_large models use.
ALPHABETS_BY_ROWS: dict[int, Alphabet] = {
    len(RNA_FM_ALPHABET): RNA_FM_ALPHABET,
    len(MRNA_FM_ALPHABET): MRNA_FM_ALPHABET,
}
#: Upgraded argument names the architecture is read from.
ARCH_ARGS = ("layers", "embed_dim", "ffn_embed_dim", "attention_heads", "max_positions")
REGRESSION_KEYS = ("contact_head.regression.weight", "contact_head.regression.bias")


def upgrade_arg_name(name: str) -> str:
    """rna-fm's argument rename: keep what follows ``encoder_`` (``encoder_layers`` -> ``layers``).

    Same semantics as the original lambda, including its oddities: a name that contains
    ``encoder`` but not ``encoder_`` becomes the empty string.
    """
    return "".join(name.split("encoder_")[1:]) if "encoder" in name else name


def upgrade_key(key: str) -> str:
    """rna-fm's state-dict rename: drop everything up to ``sentence_encoder.`` and then ``encoder.``."""
    if "sentence_encoder" in key:
        key = "".join(key.split("sentence_encoder.")[1:])
    if "encoder" in key:
        key = "".join(key.split("encoder.")[1:])
    return key


def upgrade_args(args: argparse.Namespace) -> dict[str, Any]:
    """Arguments under their upgraded names; later duplicates win, as in the original dict build."""
    return {upgrade_arg_name(k): v for k, v in vars(args).items()}


def _sniff(probe: Probe) -> bool:
    if probe.is_dir or not probe.is_torch_file:
        return False
    obj = probe.torch_obj  # raises CheckpointError for truncated / refused files: nothing else could read them
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("args"), argparse.Namespace)
        and getattr(obj["args"], "arch", None) == ARCH
        and isinstance(obj.get("model"), dict)
    )


def choose_alphabet(embed_rows: int) -> Alphabet:
    try:
        return ALPHABETS_BY_ROWS[embed_rows]
    except KeyError:
        known = ", ".join(f"{n} rows = {a.name}" for n, a in ALPHABETS_BY_ROWS.items())
        raise CheckpointError(
            f"token embedding has {embed_rows} rows; an RNA-FM-family checkpoint has {known}. "
            f"(A roberta_large file with another vocabulary, e.g. a 33-token ESM-1b protein model, is not "
            f"an RNA model.)"
        ) from None


def tied_embedding(state: dict[str, torch.Tensor], mask_idx: int) -> torch.Tensor:
    """The matrix the original ends up with in its tied ``embed_tokens``/``lm_head`` parameter.

    rna-fm zeroes the ``<mask>`` row of ``embed_tokens.weight`` in place and then loads
    ``embed_tokens.weight`` followed by ``lm_head.weight`` into the same parameter, so the LM
    head's tensor wins; it carries the zeroed row only when it shares storage with the embedding.
    """
    emb = state["embed_tokens.weight"]
    head = state["lm_head.weight"]
    shared = head.data_ptr() == emb.data_ptr() and head.shape == emb.shape and head.stride() == emb.stride()
    if shared:
        out = emb.clone()
        out[mask_idx] = 0
        return out
    return head.clone()


def config_from_args(
    args: dict[str, Any], state: dict[str, torch.Tensor], alphabet: Alphabet, contact_head: bool
) -> EncoderConfig:
    missing = [a for a in ARCH_ARGS if a not in args]
    if missing:
        raise CheckpointError(f"'args' lacks {missing} (after rna-fm's 'encoder_' prefix removal)")
    return EncoderConfig.for_alphabet(
        alphabet,
        num_layers=int(args["layers"]),
        embed_dim=int(args["embed_dim"]),
        ffn_embed_dim=int(args["ffn_embed_dim"]),
        attention_heads=int(args["attention_heads"]),
        position_embedding="learned",
        max_positions=int(args["max_positions"]),
        # rna-fm overrides any stored flag with the presence of the weights
        emb_layer_norm_before=any(k.startswith("emb_layer_norm_before") for k in state),
        token_dropout=bool(args.get("token_dropout", False)),
        embed_scale=1.0,
        tie_lm_head=True,
        lm_head=True,
        contact_head=contact_head,
    )


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)) and all(v is None or isinstance(v, (bool, int, float, str)) for v in value):
        return list(value)
    return repr(value)


def convert_rnafm(probe: Probe) -> Converted:
    obj = probe.torch_obj
    raw_args: argparse.Namespace = obj["args"]
    args = upgrade_args(raw_args)
    state: dict[str, torch.Tensor] = {}
    for key, value in obj["model"].items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"'model' entry {key!r} is a {type(value).__name__}, expected a tensor")
        state[upgrade_key(key)] = value  # later duplicates win, as in the original
    if "embed_tokens.weight" not in state:
        raise CheckpointError("'model' has no token embedding (encoder.sentence_encoder.embed_tokens.weight)")
    if "lm_head.weight" not in state:
        raise CheckpointError("'model' has no LM head projection (encoder.lm_head.weight)")

    alphabet = choose_alphabet(state["embed_tokens.weight"].shape[0])
    present = [k for k in REGRESSION_KEYS if k in state]
    if len(present) == 1:
        raise CheckpointError(f"'model' holds {present[0]} without its pair; the contact regression is incomplete")
    contact_head = len(present) == 2

    embedding = tied_embedding(state, alphabet.mask_idx)
    state["embed_tokens.weight"] = embedding
    state["lm_head.weight"] = embedding
    config = config_from_args(args, state, alphabet, contact_head)
    check_state_matches(config, state, "weights do not fit the architecture its 'args' describe")

    provenance = {
        "format": FORMAT_NAME,
        "model_family": "mRNA-FM" if alphabet is MRNA_FM_ALPHABET else "RNA-FM",
        "original_args": {
            k: _json_safe(v)
            for k, v in vars(raw_args).items()
            if upgrade_arg_name(k) in ARCH_ARGS + ("arch", "token_dropout", "emb_layer_norm_before")
        },
        "mask_embedding_zeroed": bool(embedding[alphabet.mask_idx].eq(0).all()),
        "contact_regression": contact_head,
    }
    return Converted(config, alphabet, state, provenance)


#: RNA-FM / mRNA-FM checkpoints (listed in :data:`rnalm.models.FORMATS`).
RNAFM_FORMAT = CheckpointFormat(FORMAT_NAME, FORMAT_DESCRIPTION, _sniff, convert_rnafm)
__all__ = [
    "RNAFM_FORMAT",
    "FORMAT_NAME",
    "convert_rnafm",
    "upgrade_key",
    "upgrade_arg_name",
    "upgrade_args",
    "choose_alphabet",
    "tied_embedding",
    "config_from_args",
]
