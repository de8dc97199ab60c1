"""The trainable model (optional backbone + head) and the batches it reads.

:class:`FeatureSource` turns a list of normalised sequences into a feature batch: one-hot and mask
always computed on the fly (cheap), language-model features read from :class:`FrozenFeatures`
(frozen mode) or left to the model to compute from ``token_ids`` (full / LoRA mode, where the
backbone is part of the trained model); pair maps a head needs as ``bpp`` (ViennaRNA base-pair
probabilities, zero-padded ``(B, L, L)``, or ``(B, K, L, L)`` under ``K`` > 1 energy parameter
sets, ``structure.vienna_params``) from a ``pair_probs`` provider
(:class:`rnalm.structure.bpp.PairProbabilities`), which folds each sequence once.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from rnalm.runs.backbones import FrozenFeatures, LMBackbone
from rnalm.runs.errors import ConfigError
from rnalm.runs.head_base import Head
from rnalm.runs.sequences import onehot_batch
from rnalm.training.device import resolve_device


def run_device(name: str) -> torch.device:
    """``train.device`` (or ``--device``) as a ``torch.device``; ``auto`` picks CUDA when available."""
    return resolve_device(
        name,
        setting="train.device",
        error=ConfigError,
        no_cuda=f"train.device={name} but CUDA is not available; use train.device=cpu",
    )


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


class SequenceModel(nn.Module):
    """``head(features)``, with the backbone inside the model only when it trains (full / LoRA)."""

    def __init__(self, head: Head, backbone: Optional[LMBackbone] = None) -> None:
        super().__init__()
        self.head = head
        self.backbone = backbone

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if "token_ids" in batch:
            if self.backbone is None:
                raise RuntimeError("token ids given to a model without a trainable backbone")
            batch = {**batch, **self.backbone(batch["token_ids"], self.head.needs)}
        return self.head(batch)

    def saved_state(self) -> dict[str, torch.Tensor]:
        """What a run saves: the whole head, plus the backbone parameters that train (all in full
        mode, the LoRA adapters in LoRA mode). Frozen backbones are referenced by sha256 instead."""
        out = {f"head.{k}": v for k, v in self.head.state_dict().items()}
        if self.backbone is not None:
            trainable = {n for n, p in self.backbone.named_parameters() if p.requires_grad}
            for k, v in self.backbone.state_dict().items():
                if k in trainable:
                    out[f"backbone.{k}"] = v
        # clone: on CPU, detach()/cpu() would alias the live parameters, which keep training.
        return {k: v.detach().cpu().clone().contiguous() for k, v in out.items()}

    def load_saved_state(self, state: dict[str, torch.Tensor]) -> None:
        head = {k[5:]: v for k, v in state.items() if k.startswith("head.")}
        self.head.load_state_dict(head, strict=True)
        bb = {k[9:]: v for k, v in state.items() if k.startswith("backbone.")}
        if bb:
            if self.backbone is None:
                raise RuntimeError("saved weights include backbone parameters but the model has no backbone")
            missing, unexpected = self.backbone.load_state_dict(bb, strict=False)
            if unexpected:
                raise RuntimeError(f"unexpected backbone keys in saved weights: {unexpected[:5]}")
            expected = {n for n, p in self.backbone.named_parameters() if p.requires_grad}
            absent = expected - set(bb)
            if absent:
                raise RuntimeError(f"saved weights lack trained backbone parameters: {sorted(absent)[:5]}")


class FeatureSource:
    """Builds feature batches for a head from normalised sequences."""

    def __init__(
        self,
        needs: Iterable[str],
        backbone: Optional[LMBackbone] = None,
        frozen: Optional[FrozenFeatures] = None,
        pair_probs: Optional[Any] = None,
    ) -> None:
        self.needs = set(needs)
        self.backbone = backbone
        self.frozen = frozen
        self.pair_probs = pair_probs

    def __call__(self, seqs: Sequence[str]) -> dict[str, torch.Tensor]:
        batch: dict[str, torch.Tensor] = {}
        if self.needs & {"onehot", "tokens"}:
            onehot, mask = onehot_batch(seqs)
            batch["mask"] = mask
            if "onehot" in self.needs:
                batch["onehot"] = onehot
        if self.needs & {"cls", "mean", "tokens"}:
            if self.frozen is not None:
                batch.update(self.frozen.batch(seqs))
            elif self.backbone is not None:
                batch["token_ids"] = self.backbone.tokenize(seqs)
            else:
                raise RuntimeError("the head needs language-model features but there is no backbone")
        if "bpp" in self.needs:
            if self.pair_probs is None:
                raise RuntimeError("the head needs base-pair probability maps but there is no provider")
            batch["bpp"] = self.pair_probs.batch(seqs)
        return batch


class SeqDataset(Dataset):
    """Sequences and their targets (any per-row objects a task's ``collate_targets`` can batch)."""

    def __init__(self, seqs: Sequence[str], targets: Optional[np.ndarray] = None) -> None:
        self.seqs = list(seqs)
        self.targets = targets

    def __len__(self) -> int:
        return len(self.seqs)

    def __getitem__(self, i: int) -> int:
        return i


def stack_targets(targets: list) -> torch.Tensor:
    return torch.as_tensor(np.asarray(targets))


def make_collate(ds: SeqDataset, source: FeatureSource, collate_targets: Callable[[list], Any] = stack_targets):
    def collate(idx: list[int]) -> tuple[dict[str, torch.Tensor], Any]:
        batch = source([ds.seqs[i] for i in idx])
        y = None if ds.targets is None else collate_targets([ds.targets[i] for i in idx])
        return batch, y

    return collate


__all__ = ["FeatureSource", "SeqDataset", "SequenceModel", "make_collate", "run_device", "to_device"]
