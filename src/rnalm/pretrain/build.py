"""The model a pretraining run starts from: a named size (with overrides) or a checkpoint to transfer."""

from __future__ import annotations

from rnalm.alphabet import Alphabet
from rnalm.errors import ConfigError
from rnalm.model import EncoderConfig, RNAEncoder, named_config
from rnalm.model.footprint import check_fits_in_memory
from rnalm.models import get_alphabet
from rnalm.pretrain.config import ModelSpec, ObjectiveConfig
from rnalm.pretrain.transfer import freeze, transfer_from
from rnalm.schema import validate_fields


def build_model(spec: ModelSpec, obj: ObjectiveConfig) -> tuple[RNAEncoder, Alphabet, dict]:
    # Only heads the objectives train: an untrained contact regression would be meaningless, and
    # DDP requires every parameter to receive a gradient.
    heads = dict(mfe_head=obj.mfe_weight > 0, structure_head=obj.structure_weight > 0, contact_head=False)
    alphabet = get_alphabet(spec.alphabet)
    if spec.init_from:
        model, info = transfer_from(spec.init_from, alphabet, heads)
    else:
        cfg = encoder_config(spec, alphabet, heads)
        model = RNAEncoder(cfg).reset_parameters()
        info = {"init": "random", "size": spec.size}
    if spec.train_last_layers is not None or not spec.train_embeddings:
        info["trainable"] = freeze(model, spec.train_last_layers, spec.train_embeddings)
    return model, alphabet.with_max_length(model.config.max_length), info


def encoder_config(spec: ModelSpec, alphabet: Alphabet, heads: dict[str, bool]) -> EncoderConfig:
    """The named size with ``model.overrides``, strictly checked and refused before allocation
    when training it (weights, gradients, two AdamW moments) would not fit in memory."""
    try:
        base = named_config(spec.size, alphabet=alphabet, **heads)
    except ValueError as exc:
        raise ConfigError(f"model.size: {exc}") from None
    cfg = validate_fields(
        EncoderConfig, {**base.to_dict(), **spec.overrides}, "pretrain config", prefix="model.overrides."
    )
    check_fits_in_memory(
        cfg, f"pretrain config model.size={spec.size} with model.overrides", copies=4, error=ConfigError
    )
    return cfg
