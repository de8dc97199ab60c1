"""Architecture description shared by every rnalm encoder.

One dataclass covers both published families:

* ESM-1b style (RNA-FM, mRNA-FM): learned positional embeddings whose positions start after the
  padding index, optional embedding LayerNorm.
* ESM-2 style (UTR-LM, LAMAR, ProtRNA): rotary embeddings on queries and keys, token-dropout
  rescaling of the embeddings.

Both are pre-LayerNorm transformers with a final LayerNorm and a RoBERTa-style LM head, so a
checkpoint converter only has to fill in these fields and rename tensors.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Any, Optional

from pydantic import Field, with_config

from rnalm.schema import STRICT, validate_fields

Count = Annotated[int, Field(ge=1)]
Index = Annotated[int, Field(ge=0)]
Rate = Annotated[float, Field(ge=0, lt=1)]


@with_config(STRICT)
@dataclass
class EncoderConfig:
    """The architecture; the annotations are also the schema of ``config.json``'s ``encoder``."""

    vocab_size: Count
    num_layers: Count = 12
    embed_dim: Count = 640
    ffn_embed_dim: Count = 5120
    attention_heads: Count = 20
    #: "learned" (ESM-1b) or "rotary" (ESM-2).
    position_embedding: str = "learned"
    #: longest input in tokens *including* <cls>/<eos>; learned tables hold this many + padding offset.
    max_positions: Count = 1024
    padding_idx: Index = 1
    mask_idx: Index = 24
    cls_idx: Index = 0
    eos_idx: Index = 2
    prepend_bos: bool = True
    append_eos: bool = True
    emb_layer_norm_before: bool = False
    token_dropout: bool = False
    #: fraction of tokens replaced by <mask> in pretraining (15% x 80%), used by token dropout.
    mask_ratio_train: Rate = 0.15 * 0.8
    layer_norm_eps: Annotated[float, Field(gt=0)] = 1e-5
    embed_scale: Annotated[float, Field(gt=0)] = 1.0
    #: whether the LM head's output projection shares the token-embedding matrix.
    tie_lm_head: bool = True
    lm_head: bool = True
    contact_head: bool = True
    #: UTR-LM supervised heads: MFE regression on <cls>, per-token structure classes "(", ".", ")".
    mfe_head: bool = False
    structure_head: bool = False
    dropout: Rate = 0.0
    attention_dropout: Rate = 0.0

    def __post_init__(self) -> None:
        if self.position_embedding not in ("learned", "rotary"):
            raise ValueError(f"position_embedding must be 'learned' or 'rotary', got {self.position_embedding!r}")
        if self.embed_dim % self.attention_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not divisible by attention_heads {self.attention_heads}")
        if self.padding_idx >= self.vocab_size:
            raise ValueError(f"padding_idx {self.padding_idx} is not a token id (vocab_size {self.vocab_size})")

    @classmethod
    def for_alphabet(cls, alphabet: Any, **fields: Any) -> "EncoderConfig":
        """Config whose vocabulary size and special-token ids come from ``alphabet``."""
        return cls(
            vocab_size=len(alphabet),
            padding_idx=alphabet.padding_idx,
            mask_idx=alphabet.mask_idx,
            cls_idx=alphabet.cls_idx,
            eos_idx=alphabet.eos_idx,
            prepend_bos=alphabet.prepend_bos,
            append_eos=alphabet.append_eos,
            **fields,
        )

    @property
    def head_dim(self) -> int:
        return self.embed_dim // self.attention_heads

    @property
    def max_length(self) -> int:
        """Longest sequence in letter tokens (specials excluded)."""
        return self.max_positions - int(self.prepend_bos) - int(self.append_eos)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "encoder config") -> "EncoderConfig":
        """Strictly checked (types, ranges, unknown keys); errors start with ``source``."""
        return validate_fields(cls, d, source)


#: Named sizes, RiNALMo style: one place to read what each published architecture is.
NAMED_SIZES: dict[str, dict[str, Any]] = {
    # RNA-FM: 12 layers, 640 wide, 20 heads, FFN 5120, learned positions up to 1024 tokens.
    "rna-fm": dict(
        num_layers=12,
        embed_dim=640,
        ffn_embed_dim=5120,
        attention_heads=20,
        position_embedding="learned",
        max_positions=1024,
    ),
    # UTR-LM: ESM-2 with 6 layers, 128 wide, 16 heads (FFN 4x).
    "utr-lm": dict(
        num_layers=6,
        embed_dim=128,
        ffn_embed_dim=512,
        attention_heads=16,
        position_embedding="rotary",
        token_dropout=True,
        max_positions=1022,
    ),
    # A few-hundred-kB model for tests and CPU experiments.
    "tiny": dict(num_layers=2, embed_dim=32, ffn_embed_dim=64, attention_heads=4),
}


def named_config(size: str, vocab_size: Optional[int] = None, alphabet: Any = None, **overrides: Any) -> EncoderConfig:
    """Config for a named size and a vocabulary (``alphabet`` or a bare ``vocab_size``);
    ``overrides`` win over the named values."""
    try:
        base = dict(NAMED_SIZES[size])
    except KeyError as exc:
        raise ValueError(f"unknown model size {size!r}; known: {sorted(NAMED_SIZES)}") from exc
    base.update(overrides)
    if alphabet is not None:
        return EncoderConfig.for_alphabet(alphabet, **base)
    if vocab_size is None:
        raise ValueError("named_config needs an alphabet or a vocab_size")
    return EncoderConfig(vocab_size=vocab_size, **base)
