"""What the folds of a run share (:class:`Context`) and how it is set up: the backbone, the prepared
splits, the head settings that come from the data, the model of one fold."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Collection, Iterable, Optional, Sequence

import numpy as np
import torch

from rnalm.api import load
from rnalm.finetune.data.loaders import DataBundle
from rnalm.io.digest import state_sha256
from rnalm.model.encoder import RNAEncoder
from rnalm.precision import Precision, resolve
from rnalm.runs.backbones import FrozenFeatures
from rnalm.runs.builder import build_model, head_needs
from rnalm.runs.config import FinetuneConfig, expand_path
from rnalm.runs.errors import ConfigError
from rnalm.runs.model import FeatureSource, SequenceModel
from rnalm.runs.sequences import default_alphabet, prepare
from rnalm.runs.table import Records
from rnalm.runs.task_base import Task
from rnalm.structure.bpp import PairProbabilities


@dataclass
class Split:
    """One split's records, their normalised sequences and (after fitting labels) targets."""

    name: str
    recs: Records
    seqs: list[str]
    targets: Optional[np.ndarray] = None
    #: rows at the end that came from ``data.extra_train``: they train, but the decision threshold is
    #: chosen on the others (the distribution the validation rows come from)
    extra_rows: int = 0

    @property
    def y(self) -> np.ndarray:
        """The targets (model space), set once the labels were fitted on the training split."""
        if self.targets is None:
            raise RuntimeError(f"{self.name}: the labels were not fitted yet")
        return self.targets

    def subset(self, idx: Iterable[int], name: Optional[str] = None) -> "Split":
        idx = list(idx)
        return Split(name or self.name, self.recs.subset(idx), [self.seqs[i] for i in idx])


@dataclass
class Context:
    """Everything shared by the folds of a run: config, task, backbone, cached features."""

    cfg: FinetuneConfig
    task: Task
    run_dir: Path
    log: Callable[[str], None]
    alphabet: Any
    encoder: Optional[RNAEncoder] = None
    sha256: Optional[str] = None
    frozen: Optional[FrozenFeatures] = None
    #: ViennaRNA base-pair probabilities (heads that need ``bpp``; :mod:`rnalm.structure.bpp`).
    pair_probs: Optional[Any] = None
    cache_root: Optional[Path] = None
    force_standardize: bool = False
    callbacks: Sequence[Any] = field(default_factory=list)
    device: torch.device = torch.device("cpu")
    #: progress bars over training steps: None on a terminal or in a notebook, True always, False never
    progress: Optional[bool] = None
    #: the type the backbone and head compute in (``train.dtype`` resolved for ``device``)
    precision: Precision = field(default_factory=lambda: resolve("float32", "cpu"))


def load_backbone(ctx: Context) -> None:
    cfg = ctx.cfg.backbone
    if cfg.kind != "lm":
        ctx.alphabet = default_alphabet()
        return
    path = expand_path(cfg.name)
    encoder, alphabet = load(path, device=ctx.device)
    ctx.encoder, ctx.alphabet = encoder, alphabet
    ctx.sha256 = state_sha256(encoder)
    ctx.log(
        f"backbone {cfg.name}: {encoder.config.num_layers} layers, {encoder.config.embed_dim} wide, "
        f"alphabet {alphabet.name}, weights sha256 {ctx.sha256[:12]}..., mode {cfg.mode}"
    )


def prepare_splits(ctx: Context, bundle: DataBundle) -> dict[str, Split]:
    d = ctx.cfg.data
    out = {}
    for name in ("train", "valid", "test", "extra_train"):
        recs = getattr(bundle, name)
        if recs is None:
            continue
        seqs = prepare(recs.seqs, recs.ids, recs.where, ctx.alphabet, d.truncate, d.max_length, d.unknown)
        out[name] = Split(name, recs, seqs)
    return out


def resolve_head(cfg: FinetuneConfig, splits: dict[str, Split], encoder: Optional[RNAEncoder]) -> None:
    """Fill in head settings that come from the data or the backbone (saved in config.yaml)."""
    h = cfg.head
    if h.type == "cnn" and h.pool == "flatten" and h.max_len is None:
        h.max_len = max(len(s) for sp in splits.values() for s in sp.seqs)
    st = cfg.structure
    if st.attention and encoder is not None:
        n = encoder.config.num_layers * encoder.config.attention_heads
        if st.attention_maps not in (None, n):
            raise ConfigError(
                f"structure.attention_maps={st.attention_maps}, but the backbone gives {n} attention maps"
            )
        st.attention_maps = n


def pair_probs(ctx: Context, needs: Collection[str]) -> Optional[Any]:
    """The run's base-pair probability provider when the head reads ``bpp`` (made once, shared by folds)."""
    if "bpp" not in needs:
        return None
    if ctx.pair_probs is None:
        ctx.pair_probs = PairProbabilities(params=ctx.cfg.structure.vienna_params)
    return ctx.pair_probs


def fresh_model(ctx: Context, out_dim: int) -> tuple[SequenceModel, FeatureSource]:
    """A fresh model of the run (:func:`rnalm.runs.builder.build_model`) on the run's shared features."""
    pp = pair_probs(ctx, head_needs(ctx.cfg, ctx.encoder))
    return build_model(ctx.cfg, out_dim, ctx.encoder, ctx.alphabet, ctx.frozen, pp)


__all__ = [
    "Context",
    "Split",
    "fresh_model",
    "load_backbone",
    "pair_probs",
    "prepare_splits",
    "resolve_head",
]
