"""Pairwise head: exact symmetry, padding that changes nothing, masked loss, bucketing, LM features."""

from __future__ import annotations

import pytest
import torch

from rnalm.finetune.structure.features import lm_pair_inputs, nucleotide_slice
from rnalm.runs.pair_batching import length_buckets, target_maps
from rnalm.runs.pair_loss import masked_bce_loss, pair_mask
from rnalm.runs.pairwise_head import PAD_LOGIT, PairwiseHead, PairwiseHeadConfig, one_hot_head, one_hot_inputs
from rnalm.structure.pairs import Structure


def _head(**kw):
    torch.manual_seed(0)
    cfg = dict(proj_dim=6, channels=8, blocks=3, dilations=(1, 2), dropout=0.0)
    cfg.update(kw)
    return one_hot_head(**cfg).eval()


@pytest.mark.parametrize("pair_features", ["concat", "product", "both"])
def test_logits_exactly_symmetric(pair_features):
    head = _head(pair_features=pair_features)
    x, m = one_hot_inputs(["ACGUAGGCUAGCUAGCAUCG", "GGGAAACCC"])
    with torch.no_grad():
        y = head(x, m)
    assert y.shape == (2, 20, 20)
    assert torch.equal(y, y.transpose(1, 2))


def test_padding_changes_nothing():
    head = _head()
    seqs = ["ACGUAGGCUAGCUAGCAUCGAUCG", "GGGAAACCC", "UUGCAUGCAAGU"]
    with torch.no_grad():
        x, m = one_hot_inputs(seqs)
        batched = head(x, m)
        for b, s in enumerate(seqs):
            xs, ms = one_hot_inputs([s])
            alone = head(xs, ms)[0]
            n = len(s)
            torch.testing.assert_close(batched[b, :n, :n], alone, rtol=1e-5, atol=1e-5)
            assert (batched[b, n:, :] == PAD_LOGIT).all() and (batched[b, :, n:] == PAD_LOGIT).all()


def test_attention_channels_and_input_checks():
    torch.manual_seed(0)
    head = PairwiseHead(
        PairwiseHeadConfig(in_dim=5, attn_channels=3, proj_dim=4, channels=8, blocks=1, dropout=0.0)
    ).eval()
    x = torch.randn(2, 7, 5)
    a = torch.rand(2, 3, 7, 7)
    y = head(x, attentions=a)
    assert torch.equal(y, y.transpose(1, 2))
    with pytest.raises(ValueError, match="attention maps"):
        head(x)
    with pytest.raises(ValueError, match="attention maps must be"):
        head(x, attentions=a[:, :2])
    with pytest.raises(ValueError, match=r"\(batch, length, 5\)"):
        head(torch.randn(2, 7, 4), attentions=a)
    with pytest.raises(ValueError, match="pair_features"):
        PairwiseHeadConfig(in_dim=4, pair_features="sum")
    cfg = PairwiseHeadConfig(in_dim=4, dilations=[1, 3])
    assert PairwiseHeadConfig.from_dict(cfg.to_dict()) == cfg


def test_gradient_checkpointing_same_result():
    x, m = one_hot_inputs(["ACGUAGGCUAGC", "GGGAAACC"])
    outs = []
    for ckpt in (False, True):
        head = _head(gradient_checkpointing=ckpt).train()
        y = head(x, m)
        y[:, :8, :8].sum().backward()
        outs.append((y.detach(), head.stem.weight.grad.clone()))
    torch.testing.assert_close(outs[0][0], outs[1][0])
    torch.testing.assert_close(outs[0][1], outs[1][1])


def test_one_hot_inputs():
    x, m = one_hot_inputs(["ACgt", "UN"])
    assert x.shape == (2, 4, 4) and m.tolist() == [[True] * 4, [True, True, False, False]]
    assert x[0].argmax(-1).tolist() == [0, 1, 2, 3]  # t read as U
    assert x[1, 0].tolist() == [0, 0, 0, 1] and x[1, 1].sum() == 0 and x[1, 2:].sum() == 0


def test_masked_bce_counts_only_real_upper_cells():
    torch.manual_seed(0)
    mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    target = target_maps([Structure("a", "GGAAACC", ((0, 4),))], 5).expand(2, -1, -1).clone()
    target[1] = 0
    logits = torch.randn(2, 5, 5)
    loss = masked_bce_loss(logits, target, mask, pos_weight=3.0)
    # changing padded or lower-triangle cells leaves the loss unchanged
    other = logits.clone()
    other[1, 3:, :] = 50.0
    other[:, 2, 0] = -50.0
    assert torch.equal(masked_bce_loss(other, target, mask, pos_weight=3.0), loss)
    # manual value: 10 cells in sequence 0 (i<j of 5), 3 in sequence 1, positive (0,4) weighted x3
    sel = pair_mask(mask)
    assert sel.sum() == 13
    x, y = logits[sel], target[sel]
    manual = -(3.0 * y * torch.nn.functional.logsigmoid(x) + (1 - y) * torch.nn.functional.logsigmoid(-x)).mean()
    torch.testing.assert_close(loss, manual)
    assert pair_mask(mask, min_separation=4).sum() == 1
    assert masked_bce_loss(logits, target, torch.zeros(2, 5, dtype=torch.bool)).item() == 0.0


def test_length_buckets_respect_budget():
    lengths = [10, 50, 20, 100, 30, 30, 200, 5]
    batches = length_buckets(lengths, max_cells=10_000)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        longest = max(lengths[i] for i in b)
        assert len(b) * longest**2 <= 10_000 or len(b) == 1
    assert [6] in batches  # 200^2 > budget: alone, not dropped
    assert length_buckets(lengths, 10_000, shuffle=True, seed=3) == length_buckets(
        lengths, 10_000, shuffle=True, seed=3
    )
    assert all(len(b) <= 2 for b in length_buckets(lengths, 10**9, max_batch_size=2))


def test_target_maps():
    t = target_maps([Structure("a", "GAAAC", ((0, 4),)), Structure("b", "GAC", ())])
    assert t.shape == (2, 5, 5) and t[0, 0, 4] == t[0, 4, 0] == 1 and t.sum() == 2


def test_lm_pair_inputs_cut_specials(tiny_rnafm):
    model, alphabet = tiny_rnafm
    _, _, tokens = alphabet.get_batch_converter()([("a", "ACGUACGU"), ("b", "GGAC")])
    emb, mask, attn = lm_pair_inputs(model, alphabet, tokens, layer=-1, attentions=True)
    assert emb.shape == (2, 8, 32) and mask.sum(1).tolist() == [8, 4]
    with torch.no_grad():
        ref = model(tokens, repr_layers=[2], need_head_weights=True)
    torch.testing.assert_close(emb[0], ref["representations"][2][0, 1:9])
    torch.testing.assert_close(emb[1, :4], ref["representations"][2][1, 1:5])
    assert (emb[1, 4:] == 0).all()
    assert attn.shape == (2, 2 * 4, 8, 8)
    torch.testing.assert_close(attn[1, 5, :4, :4], ref["attentions"][1, 1, 1, 1:5, 1:5])
    head = PairwiseHead(PairwiseHeadConfig(in_dim=32, attn_channels=8, proj_dim=4, channels=8, blocks=1)).eval()
    assert head(emb, mask, attn).shape == (2, 8, 8)


def test_codon_alphabet_refused():
    from rnalm.errors import RnalmError
    from rnalm.models.rnafm.alphabet import MRNA_FM_ALPHABET

    with pytest.raises(RnalmError, match="one token per nucleotide"):
        nucleotide_slice(torch.zeros(1, 3, dtype=torch.long), MRNA_FM_ALPHABET)


@pytest.mark.parametrize("pair_features", ["concat", "product", "both"])
@pytest.mark.parametrize("distance_features", [True, False])
@pytest.mark.parametrize("extra", ["none", "attention", "bpp", "bpp3"])
@pytest.mark.parametrize("prefix", [True, False])
def test_inference_layout_equals_the_training_path(pair_features, distance_features, extra, prefix):
    torch.manual_seed(1)
    cfg = PairwiseHeadConfig(
        in_dim=7,
        attn_channels=3 if extra == "attention" else 0,
        proj_dim=6,
        pair_features=pair_features,
        distance_features=distance_features,
        channels=8,
        blocks=3,
        dilations=(1, 2),
        dropout=0.1,
        bpp=extra.startswith("bpp"),
        bpp_prior=extra.startswith("bpp"),
        bpp_maps=3 if extra == "bpp3" else 1,
    )
    head = PairwiseHead(cfg).eval()
    with torch.no_grad():
        for p in head.parameters():
            p.normal_(0, 0.5)  # not the initial values: every term of the stem matters
    b, n = 3, 23
    x = torch.randn(b, n, 7)
    mask = torch.arange(n)[None] < torch.tensor([23, 9, 17])[:, None]
    if not prefix:
        mask[0, 5] = False  # a hole: masked by a product instead of by rows and columns
    pm = mask[:, :, None] & mask[:, None, :]
    attn = torch.rand(b, 3, n, n) if extra == "attention" else None
    bpp = None
    if extra.startswith("bpp"):
        k = 3 if extra == "bpp3" else 1
        r = torch.rand(b, k, n, n) ** 4
        bpp = ((r + r.transpose(-1, -2)) / 2 * pm[:, None]).squeeze(1)  # (B, L, L) for one map
    with torch.no_grad():
        ref = head(x, mask, attn, bpp)
    with torch.inference_mode():
        fast = head(x, mask, attn, bpp)
    torch.testing.assert_close(fast, ref, rtol=0, atol=1e-5)
    assert torch.equal(fast, fast.transpose(1, 2))
    assert (fast[~pm] == PAD_LOGIT).all()
