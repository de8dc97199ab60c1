"""ProtRNA-style transfer from an ESM-2-like checkpoint: vocabulary carried over, freezing as asked."""

import torch

from rnalm.io.native import save_native
from rnalm.model import EncoderConfig, RNAEncoder
from rnalm.models import get_alphabet
from rnalm.pretrain.transfer import freeze, transfer_from


def test_transfer_from_protein_model_to_protrna_vocab(tmp_path):
    esm = get_alphabet("esm-2")
    cfg = EncoderConfig(
        vocab_size=len(esm),
        num_layers=3,
        embed_dim=32,
        ffn_embed_dim=128,
        attention_heads=4,
        position_embedding="rotary",
        token_dropout=True,
        padding_idx=esm.padding_idx,
        mask_idx=esm.mask_idx,
        cls_idx=esm.cls_idx,
        eos_idx=esm.eos_idx,
        contact_head=False,
    )
    torch.manual_seed(0)
    src = RNAEncoder(cfg).reset_parameters()
    save_native(src, esm, tmp_path / "esm")
    rna = get_alphabet("protrna")
    model, info = transfer_from(str(tmp_path / "esm"), rna, {"mfe_head": False, "structure_head": False})
    assert info["tokens_copied"] == 33 and info["tokens_new"] == 5
    assert model.embed_tokens.weight.shape == (38, 32)
    assert torch.equal(model.embed_tokens.weight[:33], src.embed_tokens.weight)
    assert torch.equal(model.layers[2].fc1.weight, src.layers[2].fc1.weight)
    assert torch.all(model.lm_head.bias[33:] == 0)
    rep = freeze(model, train_last_layers=1, train_embeddings=True)
    assert not any(p.requires_grad for p in model.layers[0].parameters())
    assert not any(p.requires_grad for p in model.layers[1].parameters())
    assert all(p.requires_grad for p in model.layers[2].parameters())
    assert model.embed_tokens.weight.requires_grad
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    expected = n_trainable / sum(p.numel() for p in model.parameters())
    assert abs(rep["trainable_fraction"] - expected) < 1e-12 and 0 < expected < 0.6
    # the transferred model reads RNA
    tokens = rna.get_batch_converter()([("r", "ACGUT")])[2]
    assert tokens[0, 1:-1].tolist() == [rna.get_idx(c) for c in "acguu"]
    assert model(tokens)["logits"].shape == (1, 7, 38)
