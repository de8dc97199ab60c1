"""The one model builder: a run's config + its backbone -> the model and the source of its features.

Training (:mod:`rnalm.finetune.runner`), ``rnalm predict`` (:mod:`rnalm.runs.predict`) and
``rnalm fold --model`` (:mod:`rnalm.runs.structure_model`) all build through here, so a saved
run is always rebuilt exactly as it was trained.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Optional, Union

from rnalm.model.encoder import RNAEncoder
from rnalm.runs.backbones import FrozenFeatures, LMBackbone, apply_lora
from rnalm.runs.config import FinetuneConfig
from rnalm.runs.errors import ConfigError
from rnalm.runs.heads import build_head
from rnalm.runs.model import FeatureSource, SequenceModel

#: Frozen features, or a function making them from the head's needs on first use.
FrozenProvider = Union[FrozenFeatures, Callable[[frozenset], FrozenFeatures], None]


def head_needs(cfg: FinetuneConfig, encoder: Optional[RNAEncoder]) -> frozenset:
    """What the run's head reads from a batch (``cls``, ``tokens``, ``onehot``, ``bpp`` ...)."""
    if cfg.backbone.kind == "features":
        return frozenset()
    dim = encoder.config.embed_dim if encoder is not None else None
    return build_head(cfg.head, dim, 1, cfg.structure).needs


def build_model(
    cfg: FinetuneConfig,
    out_dim: int,
    encoder: Optional[RNAEncoder] = None,
    alphabet: Any = None,
    frozen: FrozenProvider = None,
    pair_probs: Optional[Any] = None,
) -> tuple[SequenceModel, FeatureSource]:
    """The head (and, for full / LoRA fine-tuning, a private copy of ``encoder``) of ``cfg``.

    ``encoder`` itself never trains: every fold starts from it. ``pair_probs`` is the ViennaRNA
    base-pair probability provider of heads that read ``bpp`` (folding under the config's
    ``structure.vienna_params``)."""
    if cfg.backbone.kind == "none":
        head = build_head(cfg.head, None, out_dim, cfg.structure)
        return SequenceModel(head), FeatureSource(head.needs, pair_probs=_if_needed(pair_probs, head.needs, cfg))
    assert encoder is not None, "a language-model backbone needs its encoder"
    head = build_head(cfg.head, encoder.config.embed_dim, out_dim, cfg.structure)
    pp = _if_needed(pair_probs, head.needs, cfg)
    if cfg.backbone.mode == "frozen":
        if "attentions" in head.needs:  # too large to cache: the frozen backbone runs with every batch
            backbone = LMBackbone(encoder, alphabet, cfg.backbone.layer, frozen=True)
            return SequenceModel(head, backbone), FeatureSource(head.needs, backbone=backbone, pair_probs=pp)
        features = frozen if frozen is None or isinstance(frozen, FrozenFeatures) else frozen(head.needs)
        return SequenceModel(head), FeatureSource(head.needs, frozen=features, pair_probs=pp)
    encoder = copy.deepcopy(encoder)
    if cfg.backbone.mode == "lora":
        encoder = apply_lora(encoder, cfg.backbone.lora)
    else:
        for p in encoder.parameters():
            p.requires_grad = True
    backbone = LMBackbone(encoder, alphabet, cfg.backbone.layer)
    return SequenceModel(head, backbone), FeatureSource(head.needs, backbone=backbone, pair_probs=pp)


def _if_needed(pair_probs: Optional[Any], needs: frozenset, cfg: FinetuneConfig) -> Optional[Any]:
    """``pair_probs`` when the head reads ``bpp``; a provider folding under other energy parameter
    sets than the head was built for is refused here rather than as a shape error in the head."""
    if "bpp" not in needs:
        return None
    params = getattr(pair_probs, "params", None)
    if params is not None and list(params) != list(cfg.structure.vienna_params):
        raise ConfigError(
            f"the base-pair probability provider folds under {list(params)}, but the head reads "
            f"structure.vienna_params={cfg.structure.vienna_params}; make it with the config's vienna_params"
        )
    return pair_probs


__all__ = ["FrozenProvider", "build_model", "head_needs"]
