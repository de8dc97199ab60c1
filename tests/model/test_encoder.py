"""The shared encoder: SDPA path equals the explicit path, shapes, padding invariance, errors."""

import dataclasses

import numpy as np
import pytest
import torch

from rnalm.errors import SequenceLengthError
from rnalm.model import EncoderConfig, RNAEncoder, named_config


def _rotary_model(**kw):
    torch.manual_seed(1)
    cfg = EncoderConfig(
        vocab_size=25,
        num_layers=2,
        embed_dim=32,
        ffn_embed_dim=64,
        attention_heads=4,
        position_embedding="rotary",
        token_dropout=True,
        mask_idx=24,
        max_positions=40,
        mfe_head=True,
        structure_head=True,
        **kw,
    )
    return RNAEncoder(cfg).reset_parameters().eval()


@pytest.mark.parametrize("kind", ["learned", "rotary"])
def test_sdpa_matches_explicit_attention(kind, tiny_rnafm):
    model = tiny_rnafm[0] if kind == "learned" else _rotary_model()
    bc = tiny_rnafm[1].get_batch_converter()
    _, _, tokens = bc([("a", "ACGUACGUAGG"), ("b", "GCU")])
    with torch.no_grad():
        fast = model(tokens, repr_layers=[0, 1, 2])
        slow = model(tokens, repr_layers=[0, 1, 2], need_head_weights=True)
    keep = tokens.ne(model.padding_idx)
    for i in range(3):
        assert torch.allclose(fast["representations"][i][keep], slow["representations"][i][keep], atol=1e-5)
    assert slow["attentions"].shape == (2, 2, 4, tokens.shape[1], tokens.shape[1])
    # rows of real queries sum to 1 over real keys
    sums = slow["attentions"][0].sum(-1)
    assert torch.allclose(sums, torch.ones_like(sums), atol=1e-5)


@pytest.mark.parametrize("kind", ["learned", "rotary"])
def test_padding_does_not_change_outputs(kind, tiny_rnafm):
    model = tiny_rnafm[0] if kind == "learned" else _rotary_model()
    bc = tiny_rnafm[1].get_batch_converter()
    _, _, alone = bc([("b", "GCUAG")])
    _, _, batch = bc([("a", "ACGUACGUAGGAUUACA"), ("b", "GCUAG")])
    with torch.no_grad():
        x = model(alone, repr_layers=[2])["representations"][2][0]
        y = model(batch, repr_layers=[2])["representations"][2][1, : alone.shape[1]]
    assert torch.allclose(x, y, atol=1e-5)


def test_outputs_and_heads():
    model = _rotary_model()
    tokens = torch.tensor([[0, 4, 5, 6, 7, 2]])
    out = model(tokens, repr_layers=[2], return_contacts=True)
    assert out["logits"].shape == (1, 6, 25)
    assert out["mfe"].shape == (1,)
    assert out["structure_logits"].shape == (1, 6, 3)
    assert out["contacts"].shape == (1, 4, 4)
    assert torch.equal(out["representations"][2], out["last_hidden"])


def test_token_dropout_rescales_embeddings():
    model = _rotary_model()
    plain = torch.tensor([[0, 4, 5, 6, 7, 2]])
    masked = torch.tensor([[0, 4, 24, 6, 7, 2]])
    e_plain = model.embed(plain)
    e_mask = model.embed(masked)
    scale_plain = 1 - 0.12
    scale_mask = (1 - 0.12) / (1 - 1 / 6)
    raw = model.embed_tokens(plain)
    assert torch.allclose(e_plain, raw * scale_plain, atol=1e-6)
    assert torch.all(e_mask[0, 2] == 0)
    assert torch.allclose(e_mask[0, 1], raw[0, 1] * scale_mask, atol=1e-6)


def test_too_long_input_raises(tiny_rnafm):
    model = tiny_rnafm[0]
    tokens = torch.full((1, 70), 4)
    with pytest.raises(SequenceLengthError, match="exceeds"):
        model(tokens)
    with pytest.raises(SequenceLengthError, match="exceeds"):
        _rotary_model()(torch.full((1, 41), 4))


@pytest.mark.parametrize("layer", [3, -4])
def test_repr_layer_out_of_range_names_the_valid_range(tiny_rnafm, layer):
    with pytest.raises(
        ValueError, match=rf"repr_layers: {layer} is out of range for a 2-layer model \(0\.\.2, or -1\.\.-3\)"
    ):
        tiny_rnafm[0](torch.tensor([[0, 4, 2]]), repr_layers=[layer])


def test_repr_layer_that_is_not_a_number_is_refused(tiny_rnafm):
    with pytest.raises(TypeError, match="repr_layers: 1.5 is not a layer number"):
        tiny_rnafm[0](torch.tensor([[0, 4, 2]]), repr_layers=[1.5])


def test_negative_repr_layers_count_from_the_end_and_are_keyed_by_layer_number(tiny_rnafm):
    model = tiny_rnafm[0]
    tokens = torch.tensor([[0, 4, 5, 6, 2]])
    with torch.no_grad():
        positive = model(tokens, repr_layers=[0, 1, 2])["representations"]
        negative = model(tokens, repr_layers=[-3, -2, -1])["representations"]
        mixed = model(tokens, repr_layers=[2, -1, np.int64(0)])["representations"]
    assert sorted(negative) == [0, 1, 2]
    for i in range(3):
        assert torch.equal(negative[i], positive[i])
    assert sorted(mixed) == [0, 2]


def test_return_contacts_without_a_contact_head_points_to_attention_maps(tiny_rnafm):
    model = RNAEncoder(dataclasses.replace(tiny_rnafm[0].config, contact_head=False)).eval()
    with pytest.raises(ValueError, match="no contact head .*need_head_weights=True"):
        model(torch.tensor([[0, 4, 2]]), return_contacts=True)


def test_named_config():
    cfg = named_config("rna-fm", vocab_size=25)
    assert (cfg.num_layers, cfg.embed_dim, cfg.attention_heads, cfg.max_length) == (12, 640, 20, 1022)
    with pytest.raises(ValueError, match="unknown model size"):
        named_config("huge", vocab_size=25)
