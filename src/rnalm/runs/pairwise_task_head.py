"""``head.type: pairwise``: the pairwise head of ``task: structure`` on a fine-tuning feature batch
(the head's layers from ``head``, what it reads from the ``structure`` section)."""

from __future__ import annotations

from typing import Optional

import torch

from rnalm.runs.config import HeadConfig, StructureConfig
from rnalm.runs.errors import ConfigError
from rnalm.runs.head_base import Head
from rnalm.runs.pairwise_head import PairwiseHead, PairwiseHeadConfig


class PairwiseTaskHead(Head):
    """:class:`PairwiseHead` reading a fine-tuning feature batch (``tokens`` / ``onehot`` /
    ``attentions`` / ``bpp`` and ``mask``) and returning ``(B, L, L)`` logits."""

    def __init__(self, c: HeadConfig, st: StructureConfig, lm_dim: Optional[int]) -> None:
        super().__init__()
        use_onehot = lm_dim is None or c.onehot
        needs = {"onehot"} if use_onehot else set()
        if lm_dim is not None:
            needs.add("tokens")
        maps = 0
        if st.attention:
            if lm_dim is None:
                raise ConfigError("structure.attention=true reads a language model's attention maps; set backbone.name")
            if not st.attention_maps:
                raise ConfigError("structure.attention_maps is unknown (it is filled in from the backbone)")
            needs.add("attentions")
            maps = st.attention_maps
        if st.vienna_bpp:
            needs.add("bpp")
        self.needs = frozenset(needs)
        self.pair = PairwiseHead(
            PairwiseHeadConfig(
                in_dim=(lm_dim or 0) + (4 if use_onehot else 0),
                attn_channels=maps,
                proj_dim=c.reduction_dim,
                channels=c.channels,
                blocks=c.blocks,
                dropout=c.dropout,
                bpp=st.vienna_bpp,
                bpp_prior=st.vienna_bpp and st.vienna_bpp_prior,
                bpp_maps=len(st.vienna_params) if st.vienna_bpp else 1,
            )
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        parts = [batch[k] for k in ("tokens", "onehot") if k in self.needs]
        x = torch.cat(parts, -1) if len(parts) > 1 else parts[0]
        return self.pair(
            x,
            batch["mask"],
            batch.get("attentions") if "attentions" in self.needs else None,
            batch["bpp"] if "bpp" in self.needs else None,
        )


__all__ = ["PairwiseTaskHead"]
