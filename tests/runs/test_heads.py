"""Heads, backbone features and the embedding cache on tiny models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnalm.api import load
from rnalm.io.digest import state_sha256
from rnalm.runs.backbones import FrozenFeatures, LMBackbone
from rnalm.runs.config import HeadConfig
from rnalm.runs.embedding_cache import EmbeddingCache
from rnalm.runs.errors import ConfigError, DataError
from rnalm.runs.heads import MaskedBatchNorm1d, build_head
from rnalm.runs.model import FeatureSource
from rnalm.runs.sequences import onehot_batch

SEQS = ["ACGUACGUAC", "GGGCCCAUAUAUGCGCAAU", "UUAG"]


def lm_batch(backbone: LMBackbone, seqs, needs) -> dict:
    src = FeatureSource(needs, backbone=backbone)
    batch = src(seqs)
    if "token_ids" in batch:
        batch.update(backbone(batch.pop("token_ids"), needs))
    return batch


@pytest.fixture(scope="module")
def backbone(tiny_lm_dir):
    enc, alphabet = load(tiny_lm_dir)
    return LMBackbone(enc, alphabet, -1)


@pytest.mark.parametrize(
    "kind, extra",
    [
        ("mlp", {"pooling": "cls"}),
        ("mlp", {"pooling": "mean", "hidden": []}),
        ("lamar", {}),
        ("resnet1d", {}),
        ("resnet1d", {"onehot": False}),
        ("cnn", {"pool": "mean"}),
        ("cnn", {"pool": "flatten", "max_len": 24}),
        ("cnn", {"pool": "max", "onehot": False}),
    ],
)
def test_lm_heads_shapes_and_gradients(backbone, kind, extra):
    torch.manual_seed(0)
    head = build_head(HeadConfig(type=kind, **extra), backbone.dim, 3)
    batch = lm_batch(backbone, SEQS, head.needs)
    out = head(batch)
    assert out.shape == (3, 3) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None for p in head.parameters())


@pytest.mark.parametrize(
    "kind, extra", [("cnn", {"pool": "flatten", "max_len": 20}), ("cnn", {"pool": "mean"}), ("resnet1d", {})]
)
def test_onehot_heads_without_language_model(kind, extra):
    head = build_head(HeadConfig(type=kind, **extra), None, 1)
    assert head.needs == {"onehot"}
    x, m = onehot_batch(SEQS)
    assert head({"onehot": x, "mask": m}).shape == (3, 1)


def test_heads_needing_embeddings_refuse_one_hot_only():
    with pytest.raises(ConfigError, match="language-model embeddings"):
        build_head(HeadConfig(type="mlp"), None, 1)
    with pytest.raises(ConfigError, match="needs per-token embeddings or head.onehot"):
        build_head(HeadConfig(type="resnet1d", onehot=False), None, 1)


@pytest.mark.parametrize(
    "kind, extra",
    [
        ("resnet1d", {}),
        ("cnn", {"pool": "mean"}),
        ("cnn", {"pool": "max"}),
        ("cnn", {"pool": "flatten", "max_len": 30, "pad_side": "left"}),
    ],
)
def test_prediction_does_not_depend_on_batch_partners(backbone, kind, extra):
    """Padding is masked everywhere: a sequence predicts the same alone or next to a longer one."""
    torch.manual_seed(0)
    head = build_head(HeadConfig(type=kind, **extra), backbone.dim, 1).eval()
    with torch.no_grad():
        alone = head(lm_batch(backbone, [SEQS[2]], head.needs))
        padded = head(lm_batch(backbone, [SEQS[2], SEQS[1]], head.needs))[:1]
    assert torch.allclose(alone, padded, atol=1e-5)


def test_flatten_head_rejects_longer_inputs():
    head = build_head(HeadConfig(type="cnn", pool="flatten", max_len=5), None, 1)
    x, m = onehot_batch(["ACGUACG"])
    with pytest.raises(DataError, match="head.max_len"):
        head({"onehot": x, "mask": m})


def test_masked_batchnorm_uses_real_positions_only():
    torch.manual_seed(0)
    bn = MaskedBatchNorm1d(3).train()
    x = torch.randn(2, 3, 6)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0]], dtype=torch.bool)
    y = bn(x, mask)
    real = torch.cat([x[0], x[1, :, :2]], 1)  # (3, 8)
    expect = (real - real.mean(1, keepdim=True)) / torch.sqrt(real.var(1, unbiased=False, keepdim=True) + bn.eps)
    assert torch.allclose(torch.cat([y[0], y[1, :, :2]], 1), expect, atol=1e-5)
    assert torch.allclose(bn.running_mean, 0.1 * real.mean(1), atol=1e-6)


def test_backbone_features_match_the_encoder(backbone):
    enc, a = backbone.encoder, backbone.alphabet
    feats = lm_batch(backbone, SEQS, {"cls", "mean", "tokens"})
    for i, s in enumerate(SEQS):
        _, _, toks = a.get_batch_converter()([("x", s)])
        rep = enc(toks, repr_layers=[2])["representations"][2][0]
        assert torch.allclose(feats["cls"][i], rep[0], atol=1e-5)
        assert torch.allclose(feats["mean"][i], rep[1:-1].mean(0), atol=1e-5)
        assert torch.allclose(feats["tokens"][i, : len(s)], rep[1:-1], atol=1e-5)
        assert feats["tokens"][i, len(s) :].abs().sum() == 0
    assert feats["mask"].sum(1).tolist() == [len(s) for s in SEQS]


def test_frozen_features_cache_round_trip(backbone, tmp_path):
    sha = state_sha256(backbone.encoder)
    cache = EmbeddingCache(tmp_path, sha, backbone.layer)
    ff = FrozenFeatures(backbone, {"cls", "mean", "tokens"}, cache, batch_size=2)
    ff.ensure(SEQS)
    assert ff.computed == 3 and ff.from_cache == 0
    first = ff.batch(SEQS)
    again = FrozenFeatures(backbone, {"cls", "mean", "tokens"}, cache, batch_size=2)
    again.ensure(SEQS + SEQS[:1])
    assert again.computed == 0 and again.from_cache == 3
    second = again.batch(SEQS)
    ref = lm_batch(backbone, SEQS, {"cls", "mean", "tokens"})
    for k in ("cls", "mean"):
        assert torch.equal(first[k], second[k]) and torch.allclose(first[k], ref[k], atol=1e-5)
    assert torch.allclose(second["tokens"], ref["tokens"], atol=2e-3)  # tokens are cached as float16
    # A different layer or model never shares entries.
    assert EmbeddingCache(tmp_path, sha, 1).key("ACGU") != cache.key("ACGU")
    assert EmbeddingCache(tmp_path, "0" * 64, backbone.layer).key("ACGU") != cache.key("ACGU")


def test_onehot_encoding_handles_t_and_iupac():
    x, m = onehot_batch(["ACGT", "NR"])
    assert x[0].tolist() == np.eye(4).tolist()
    assert x[1, 0].tolist() == [0.25] * 4 and x[1, 1].tolist() == [0.5, 0, 0.5, 0]
    assert m.tolist() == [[True] * 4, [True, True, False, False]]


def test_lora_without_peft_is_a_clear_error(backbone, monkeypatch):
    import sys

    from rnalm.runs.backbones import apply_lora
    from rnalm.runs.config import LoraSettings

    monkeypatch.setitem(sys.modules, "peft", None)  # makes `import peft` raise ImportError
    with pytest.raises(ConfigError, match="pip install peft"):
        apply_lora(backbone.encoder, LoraSettings())


def test_lora_targets_must_exist(backbone):
    pytest.importorskip("peft")
    import copy

    from rnalm.runs.backbones import apply_lora
    from rnalm.runs.config import LoraSettings

    with pytest.raises(ConfigError, match="not modules of this model"):
        apply_lora(copy.deepcopy(backbone.encoder), LoraSettings(targets=["query"]))
    enc = apply_lora(copy.deepcopy(backbone.encoder), LoraSettings(r=2))
    trainable = [n for n, p in enc.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert len(trainable) == 2 * 4 * enc.config.num_layers  # A and B for q, k, v, out in every layer
