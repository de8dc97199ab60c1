"""Backbones: a language model turned into the features heads read, in three training modes.

* ``frozen``: the model runs once per sequence without gradients; features are kept in memory and
  in the on-disk :class:`~rnalm.runs.embedding_cache.EmbeddingCache`; only the head trains.
* ``full``: every backbone parameter trains together with the head.
* ``lora``: low-rank adapters (``peft``) on the attention projections; only adapters and head train.

Features are at nucleotide resolution: ``tokens`` drops ``<cls>``/``<eos>``/padding and, for codon
models (mRNA-FM), repeats each codon's vector three times so it lines up with the one-hot input.
``attentions`` (every layer's and head's attention map, cut to the nucleotides; for pair-map
heads) are too large to cache, so a frozen backbone that must give them runs inside the model,
without gradients (:class:`LMBackbone` with ``frozen=True``).
"""

from __future__ import annotations

import contextlib
from typing import Iterable, Iterator, Optional, Sequence, cast

import numpy as np
import torch
from torch import nn

from rnalm.alphabet import Alphabet
from rnalm.model.encoder import RNAEncoder
from rnalm.precision import Precision
from rnalm.runs.batch_workers import batch_workers, map_batches
from rnalm.runs.config import LoraSettings
from rnalm.runs.embedding_cache import EmbeddingCache
from rnalm.runs.errors import ConfigError

LM_FEATURES = frozenset({"cls", "mean", "tokens"})


class LMBackbone(nn.Module):
    """An :class:`RNAEncoder` plus its alphabet, producing ``cls`` / ``mean`` / ``tokens`` /
    ``attentions`` features. ``frozen``: the encoder's parameters never train, it stays in eval
    mode and runs without gradients."""

    def __init__(self, encoder: RNAEncoder, alphabet: Alphabet, layer: int = -1, frozen: bool = False) -> None:
        super().__init__()
        self.encoder = encoder
        self.alphabet = alphabet
        self.frozen = frozen
        if frozen:
            for p in encoder.parameters():
                p.requires_grad_(False)
        n = encoder.config.num_layers
        self.layer = n + 1 + layer if layer < 0 else layer
        if not 0 <= self.layer <= n:
            raise ConfigError(f"backbone.layer={layer} is out of range for a {n}-layer model (0..{n} or -1..-{n + 1})")

    @property
    def dim(self) -> int:
        return self.encoder.config.embed_dim

    def tokenize(self, seqs: Sequence[str]) -> torch.Tensor:
        """Token ids of already-normalised sequences (``<cls>``/``<eos>`` added, right-padded)."""
        a = self.alphabet
        bc = a.get_batch_converter()
        if a.k_mer == 1:  # letters kept by prepare(unknown="mask") become <mask>
            letters = set(a.letters)
            seqs = [s if set(s) <= letters else "".join(c if c in letters else "\x00" for c in s) for s in seqs]
            return bc.pad([a.encode_normalized(s, unknown="mask") for s in seqs])
        return bc.pad([a.encode_normalized(s) for s in seqs])

    def train(self, mode: bool = True) -> "LMBackbone":
        super().train(mode)
        if self.frozen:
            self.encoder.eval()
        return self

    def forward(self, token_ids: torch.Tensor, needs: Iterable[str]) -> dict[str, torch.Tensor]:
        if self.frozen:
            with torch.no_grad():
                return self._features(token_ids, needs)
        return self._features(token_ids, needs)

    def _features(self, token_ids: torch.Tensor, needs: Iterable[str]) -> dict[str, torch.Tensor]:
        needs = set(needs)
        want_attn = "attentions" in needs
        needs &= LM_FEATURES
        a = self.alphabet
        if "cls" in needs and not a.prepend_bos:
            raise ConfigError(f"alphabet {a.name!r} adds no <cls> token; use head.pooling=mean")
        if want_attn and a.k_mer != 1:
            raise ConfigError(
                f"alphabet {a.name!r} reads {a.k_mer}-mers: its attention maps are not per nucleotide; "
                f"set structure.attention=false"
            )
        out = self.encoder(token_ids, repr_layers=[self.layer], return_logits=False, need_head_weights=want_attn)
        rep = out["representations"][self.layer]
        bos = int(a.prepend_bos)
        # letter positions: everything but <cls>/<eos>/<pad>; <mask> / <unk> stand for a letter
        # (data.unknown=mask) and keep their place, so per-token features stay aligned
        special = torch.zeros_like(token_ids, dtype=torch.bool)
        for idx in a.special_indices:
            if idx not in (a.mask_idx, a.unk_idx):
                special |= token_ids.eq(idx)
        letters = ~special
        feats: dict[str, torch.Tensor] = {}
        if "cls" in needs:
            feats["cls"] = rep[:, 0]
        if "mean" in needs:
            m = letters.unsqueeze(-1).to(rep.dtype)
            feats["mean"] = (rep * m).sum(1) / m.sum(1).clamp_min(1.0)
        if "tokens" in needs:
            n_tok = int(letters.sum(1).max())
            tok = rep[:, bos : bos + n_tok]
            mask = letters[:, bos : bos + n_tok]
            tok = tok * mask.unsqueeze(-1).to(tok.dtype)
            if a.k_mer > 1:
                tok = tok.repeat_interleave(a.k_mer, dim=1)
            feats["tokens"] = tok
        if want_attn:
            n_tok = int(letters.sum(1).max())
            att = out["attentions"]  # B, layers, heads, T, T
            att = att.reshape(att.shape[0], -1, att.shape[-2], att.shape[-1])[
                :, :, bos : bos + n_tok, bos : bos + n_tok
            ]
            mask = letters[:, bos : bos + n_tok]
            feats["attentions"] = att * (mask[:, :, None] & mask[:, None, :])[:, None].to(att.dtype)
        return feats


def apply_lora(encoder: RNAEncoder, settings: LoraSettings) -> RNAEncoder:
    """Inject LoRA adapters with ``peft`` and leave only them trainable."""
    try:
        from peft import LoraConfig, inject_adapter_in_model
    except ImportError as exc:
        raise ConfigError(
            "backbone.mode=lora needs the 'peft' package: pip install peft (or pip install 'rnalm[lora]')"
        ) from exc
    targets = list(settings.targets)
    names = {n.rsplit(".", 1)[-1] for n, _ in encoder.named_modules()}
    missing = [t for t in targets if t not in names]
    if missing:
        raise ConfigError(
            f"backbone.lora.targets {missing} are not modules of this model (e.g. q_proj, k_proj, "
            f"v_proj, out_proj, fc1, fc2)"
        )
    conf = LoraConfig(
        r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout, target_modules=targets, bias="none"
    )
    encoder = cast(RNAEncoder, inject_adapter_in_model(conf, encoder))  # the same module, adapters injected
    for name, p in encoder.named_parameters():
        p.requires_grad = "lora_" in name
    return encoder


class FrozenFeatures:
    """Frozen-backbone features of a set of sequences, computed once (or read from the cache)."""

    def __init__(
        self,
        backbone: LMBackbone,
        needs: Iterable[str],
        cache: Optional[EmbeddingCache],
        batch_size: int = 16,
        progress: bool = False,
        precision: Optional[Precision] = None,
    ) -> None:
        self.backbone = backbone
        #: what the backbone computes in (``None``: float32); features are kept in float32 either way
        self.precision = precision
        self.needs = set(needs) & LM_FEATURES
        self.cache = cache
        self.batch_size = batch_size
        self.progress = progress
        self.pooled: dict[str, np.ndarray] = {}
        self.tokens: dict[str, np.ndarray] = {}
        self.computed = 0
        self.from_cache = 0

    def ensure(self, seqs: Iterable[str]) -> None:
        want_pooled = bool(self.needs & {"cls", "mean"})
        want_tokens = "tokens" in self.needs
        todo = []
        for s in dict.fromkeys(seqs):
            if (not want_pooled or s in self.pooled) and (not want_tokens or s in self.tokens or self._tok_cached(s)):
                continue
            if self.cache is not None:
                pooled = self.cache.get(s, "pooled") if want_pooled else None
                tok_ok = (not want_tokens) or self._tok_cached(s)
                if (pooled is not None or not want_pooled) and tok_ok:
                    if pooled is not None:
                        self.pooled[s] = pooled
                    self.from_cache += 1
                    continue
            todo.append(s)
        if not todo:
            return
        todo.sort(key=len)
        self.backbone.eval()
        needs = {"cls", "mean"} | ({"tokens"} if want_tokens else set())
        if not self.backbone.alphabet.prepend_bos:
            needs.discard("cls")
        device = next(self.backbone.parameters()).device
        chunks = [todo[i : i + self.batch_size] for i in range(0, len(todo), self.batch_size)]
        autocast = self.precision.autocast if self.precision is not None else contextlib.nullcontext

        @contextlib.contextmanager
        def inference() -> Iterator[None]:
            with torch.no_grad(), autocast():
                yield

        def features(chunk: list[str]) -> dict[str, torch.Tensor]:
            return {
                k: v.float().cpu() for k, v in self.backbone(self.backbone.tokenize(chunk).to(device), needs).items()
            }

        done: Iterable = map_batches(features, chunks, batch_workers(device, len(chunks)), inference)
        if self.progress:
            from tqdm import tqdm

            done = tqdm(done, desc="embedding (frozen backbone)", unit="batch", total=len(chunks))
        for chunk, feats in zip(chunks, done):
            d = self.backbone.dim
            cls = feats["cls"] if "cls" in feats else torch.zeros(len(chunk), d)
            pooled = torch.stack([cls, feats["mean"]], 1).numpy()
            for j, s in enumerate(chunk):
                self.pooled[s] = pooled[j]
                if self.cache is not None:
                    self.cache.put(s, "pooled", pooled[j])
                if want_tokens:
                    n = len(s)
                    tok = feats["tokens"][j, :n].to(torch.float16).numpy()
                    if self.cache is not None:
                        self.cache.put(s, "tokens", tok)
                    else:
                        self.tokens[s] = tok
            self.computed += len(chunk)

    def _tok_cached(self, s: str) -> bool:
        return self.cache is not None and self.cache._path(s, "tokens").is_file()

    def batch(self, seqs: Sequence[str]) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        if self.needs & {"cls", "mean"}:
            pooled = torch.from_numpy(np.stack([self.pooled[s] for s in seqs]))
            if "cls" in self.needs:
                out["cls"] = pooled[:, 0]
            if "mean" in self.needs:
                out["mean"] = pooled[:, 1]
        if "tokens" in self.needs:
            width = max(len(s) for s in seqs)
            tok = torch.zeros(len(seqs), width, self.backbone.dim)
            for i, s in enumerate(seqs):
                t = self.tokens.get(s)
                if t is None:
                    t = self.cache.get(s, "tokens") if self.cache is not None else None
                    if t is None:
                        raise RuntimeError(f"missing cached token embeddings for a sequence of {len(s)} nt")
                tok[i, : len(s)] = torch.from_numpy(t.astype(np.float32))
            out["tokens"] = tok
        return out


__all__ = ["FrozenFeatures", "LMBackbone", "apply_lora"]
