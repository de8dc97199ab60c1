"""The shared encoder: SDPA path equals the explicit path, shapes, padding invariance, errors."""

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


def test_repr_layer_out_of_range(tiny_rnafm):
    with pytest.raises(ValueError, match="out of range"):
        tiny_rnafm[0](torch.tensor([[0, 4, 2]]), repr_layers=[3])


def test_named_config():
    cfg = named_config("rna-fm", vocab_size=25)
    assert (cfg.num_layers, cfg.embed_dim, cfg.attention_heads, cfg.max_length) == (12, 640, 20, 1022)
    with pytest.raises(ValueError, match="unknown model size"):
        named_config("huge", vocab_size=25)
