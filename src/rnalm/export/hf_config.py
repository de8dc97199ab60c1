"""Which rnalm encoders transformers' ``EsmForMaskedLM`` computes exactly, and the config it needs.

``EsmForMaskedLM`` is the ESM-1b / ESM-2 architecture rnalm's encoder generalises: learned
(padding-offset) or rotary positions, an optional embedding LayerNorm, token dropout, a final
LayerNorm and a RoBERTa LM head. A few things rnalm's :class:`~rnalm.model.EncoderConfig` can vary
are hard-coded there; :data:`HF_REQUIREMENTS` lists them, and a config that breaks one is refused
with the field that decides it. Everything else maps field by field (:func:`esm_config_fields`);
parts ``EsmForMaskedLM`` has no place for, or that it computes differently, are listed as notes
(:func:`hf_notes`) and written into the exported directory's README.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from rnalm.alphabet import Alphabet
from rnalm.errors import option
from rnalm.export.errors import ExportError
from rnalm.model.config import EncoderConfig

#: transformers' token dropout uses this masking ratio, whatever the config says.
HF_MASK_RATIO = 0.15 * 0.8
#: transformers' ESM contact head hard-codes the id of ``<eos>``.
HF_CONTACT_EOS_IDX = 2
#: transformers' rotary embedding base (``rope_theta``) equal to rnalm's.
ROPE_THETA = 10000.0
#: the published families whose configs meet :data:`HF_REQUIREMENTS`.
HF_FAMILIES = "ESM-2, UTR-LM, utrlm-mini, LAMAR, ProtRNA, RNA-FM and mRNA-FM"
#: how each of rnalm's position kinds is called in an ``EsmConfig``.
POSITION_TYPES = {"learned": "absolute", "rotary": "rotary"}


@dataclass(frozen=True)
class Requirement:
    """One thing ``EsmForMaskedLM`` hard-codes: the config field, whether a config meets it, and why."""

    field: str
    holds: Callable[[EncoderConfig], bool]
    why: str


HF_REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement("prepend_bos", lambda c: c.prepend_bos, "EsmTokenizer always puts <cls> first"),
    Requirement("append_eos", lambda c: c.append_eos, "EsmTokenizer always puts <eos> last"),
    Requirement("embed_scale", lambda c: c.embed_scale == 1.0, "transformers' ESM embeddings are not scaled"),
    Requirement(
        "mask_ratio_train",
        lambda c: not c.token_dropout or c.mask_ratio_train == HF_MASK_RATIO,
        f"transformers' token dropout rescales with a fixed masking ratio of {HF_MASK_RATIO:g}",
    ),
    Requirement("lm_head", lambda c: c.lm_head, "EsmForMaskedLM needs the masked-LM head"),
)


def check_hf_exportable(config: EncoderConfig, source: str) -> None:
    """Raise :class:`ExportError` naming the first field ``EsmForMaskedLM`` cannot reproduce."""
    for req in HF_REQUIREMENTS:
        if not req.holds(config):
            raise ExportError(
                f"{source}: cannot be written as transformers' EsmForMaskedLM: its {req.field}="
                f"{getattr(config, req.field)!r}, but {req.why}. Models that export to Hugging Face: "
                f"{HF_FAMILIES}; {option('to', 'onnx')} exports any rnalm model"
            )


def esm_config_fields(config: EncoderConfig, alphabet: Alphabet) -> dict[str, Any]:
    """``EsmConfig`` keyword arguments describing ``config`` (call :func:`check_hf_exportable` first)."""
    learned = config.position_embedding == "learned"
    return dict(
        architectures=["EsmForMaskedLM"],
        vocab_size=config.vocab_size,
        pad_token_id=config.padding_idx,
        mask_token_id=config.mask_idx,
        bos_token_id=config.cls_idx,
        eos_token_id=config.eos_idx,
        hidden_size=config.embed_dim,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.attention_heads,
        intermediate_size=config.ffn_embed_dim,
        hidden_dropout_prob=config.dropout,
        attention_probs_dropout_prob=config.attention_dropout,
        # a learned table has max_positions rows after the padding offset; rotary: the longest input
        max_position_embeddings=config.max_positions + config.padding_idx + 1 if learned else config.max_positions,
        position_embedding_type=POSITION_TYPES[config.position_embedding],
        rope_theta=ROPE_THETA,
        layer_norm_eps=config.layer_norm_eps,
        emb_layer_norm_before=config.emb_layer_norm_before,
        token_dropout=config.token_dropout,
        tie_word_embeddings=config.tie_lm_head,
        is_folding_model=False,
    )


#: parts of an rnalm encoder that ``EsmForMaskedLM`` has no place for: (config flag, what is lost).
DROPPED_HEADS: tuple[tuple[str, str], ...] = (
    ("mfe_head", "the MFE regression head (mfe_head.*) is not part of EsmForMaskedLM and is not exported"),
    ("structure_head", "the structure head (structure_head.*) is not part of EsmForMaskedLM and is not exported"),
)


def hf_notes(config: EncoderConfig) -> list[str]:
    """What differs between the exported ``EsmForMaskedLM`` and rnalm's model, in words."""
    notes = [why for flag, why in DROPPED_HEADS if getattr(config, flag)]
    if not config.contact_head:
        notes.append(
            "the source model has no contact head: EsmForMaskedLM's contact_head.regression is written as "
            "zeros, so predict_contacts returns 0.5 everywhere"
        )
    elif config.eos_idx != HF_CONTACT_EOS_IDX:
        notes.append(
            f"transformers' contact head treats token {HF_CONTACT_EOS_IDX} as <eos>, this vocabulary has "
            f"<eos> at {config.eos_idx}: predict_contacts differs from rnalm's contacts"
        )
    return notes


__all__ = [
    "DROPPED_HEADS",
    "HF_FAMILIES",
    "HF_REQUIREMENTS",
    "Requirement",
    "check_hf_exportable",
    "esm_config_fields",
    "hf_notes",
]
