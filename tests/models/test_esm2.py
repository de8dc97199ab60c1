"""ESM-2 .pt fidelity: files in fair-esm's published layout, loaded by rnalm, against fair-esm itself.

Each test builds a small random-weight ``esm.model.esm2.ESM2``, writes it the way the published
``esm2_*.pt`` files are laid out (``cfg["model"]`` Namespace, ``encoder.sentence_encoder.`` /
``encoder.`` prefixes, contact regression in a separate ``-contact-regression.pt``), and compares
every output in fp32.
"""

from __future__ import annotations

import argparse

import pytest
import torch

esm = pytest.importorskip("esm")
from esm.model.esm2 import ESM2  # noqa: E402

import rnalm  # noqa: E402
from rnalm.errors import CheckpointError, InvalidSequenceError, SequenceLengthError  # noqa: E402
from rnalm.io.native import save_native  # noqa: E402
from rnalm.models import detect_format  # noqa: E402
from rnalm.models.esm2 import ESM2_ALPHABET, ESM2_TOKENS  # noqa: E402
from rnalm.models.esm2.convert import regression_path  # noqa: E402

TOL = 1e-4
SEQS = [("p1", "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"), ("p2", "ACDEFGHIKLMNPQRSTVWY"), ("p3", "GVLX-B")]


def randomize(model: torch.nn.Module, seed: int) -> None:
    """Non-trivial values everywhere (fair-esm initialises LayerNorms to 1/0 and the LM bias to 0),
    scaled by fan-in so activations stay O(1) and a 1e-4 tolerance means the same at every width."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if "layer_norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * noise)
            elif p.ndim == 2:  # embeddings (rows of norm ~1, so tied logits are O(1)) and projections
                p.copy_(noise / p.shape[1] ** 0.5)
            else:
                p.copy_(0.1 * noise)


def make_fair_esm2(num_layers=2, embed_dim=32, heads=4, token_dropout=True, seed=0) -> ESM2:
    model = ESM2(
        num_layers=num_layers,
        embed_dim=embed_dim,
        attention_heads=heads,
        alphabet=esm.data.Alphabet.from_architecture("ESM-1b"),
        token_dropout=token_dropout,
    )
    randomize(model, seed)
    return model.eval()


def save_published(model: ESM2, path, cfg_as="namespace", regression=True):
    """Write ``model`` as fair-esm publishes ESM-2: fairseq prefixes, Namespace args, separate regression."""
    main, reg = {}, {}
    for k, v in model.state_dict().items():
        if k.startswith("contact_head."):
            reg[k] = v.clone()
            continue
        prefix = "encoder." if k.startswith("lm_head.") else "encoder.sentence_encoder."
        main[prefix + k] = v.clone()
    args = dict(
        arch="esm2",
        _name="esm2",
        encoder_layers=model.num_layers,
        encoder_embed_dim=model.embed_dim,
        encoder_ffn_embed_dim=4 * model.embed_dim,
        encoder_attention_heads=model.attention_heads,
        token_dropout=model.token_dropout,
        dropout=0.0,
        attention_dropout=0.0,
    )
    cfg_model = argparse.Namespace(**args) if cfg_as == "namespace" else args
    torch.save({"args": None, "cfg": {"model": cfg_model, "task": {"_name": "masked_lm"}}, "model": main}, path)
    if regression:
        torch.save({"model": reg}, regression_path(path))
    return path


def fair_esm_load(path):
    """fair-esm's own local loader (needs the Namespace allow-listed under torch >= 2.6)."""
    with torch.serialization.safe_globals([argparse.Namespace]):
        return esm.pretrained.load_model_and_alphabet_local(str(path))


def tokens_for(alphabet_esm, seqs=SEQS, mask_at=((0, 3), (1, 2), (1, 7))):
    _, _, toks = alphabet_esm.get_batch_converter()(seqs)
    for i, j in mask_at:
        toks[i, j] = alphabet_esm.mask_idx
    return toks


def max_diffs(ours: dict, ref: dict, num_layers: int, contacts: bool) -> dict[str, float]:
    d = {
        f"repr{i}": (ours["representations"][i] - ref["representations"][i]).abs().max().item()
        for i in range(num_layers + 1)
    }
    d["logits"] = (ours["logits"] - ref["logits"]).abs().max().item()
    if "attentions" in ref:
        d["attentions"] = (ours["attentions"] - ref["attentions"]).abs().max().item()
    if contacts:
        d["contacts"] = (ours["contacts"] - ref["contacts"]).abs().max().item()
    return d


def compare(model, ref_model, toks, num_layers, contacts=True) -> dict[str, float]:
    layers = list(range(num_layers + 1))
    with torch.no_grad():
        ours = model(toks, repr_layers=layers, need_head_weights=True, return_contacts=contacts)
        ref = ref_model(toks, repr_layers=layers, need_head_weights=True, return_contacts=contacts)
        diffs = max_diffs(ours, ref, num_layers, contacts)
        # the fast (scaled_dot_product_attention) path, without attention weights
        fast = model(toks, repr_layers=layers)
        ref_fast = ref_model(toks, repr_layers=layers)
        diffs.update({f"fast_{k}": v for k, v in max_diffs(fast, ref_fast, num_layers, False).items()})
    assert all(v <= TOL for v in diffs.values()), diffs
    return diffs


# ----------------------------------------------------------------------------- alphabet
def test_tokens_are_fair_esm_order():
    a = esm.data.Alphabet.from_architecture("ESM-1b")
    assert ESM2_TOKENS == tuple(a.all_toks)
    assert len(ESM2_ALPHABET) == 33
    for attr in ("padding_idx", "cls_idx", "eos_idx", "unk_idx", "mask_idx"):
        assert getattr(ESM2_ALPHABET, attr) == getattr(a, attr)
    assert (ESM2_ALPHABET.prepend_bos, ESM2_ALPHABET.append_eos) == (a.prepend_bos, a.append_eos)


def test_batch_converter_matches_fair_esm():
    _, _, ref = esm.data.Alphabet.from_architecture("ESM-1b").get_batch_converter()(SEQS)
    _, strs, ours = ESM2_ALPHABET.get_batch_converter()(SEQS)
    assert torch.equal(ours, ref)
    assert strs == [s for _, s in SEQS]


def test_lowercase_is_folded_and_u_is_not_converted():
    a = ESM2_ALPHABET
    assert a.encode("mkuT") == a.encode("MKUT")
    assert a.get_tok(a.encode("u")[0]) == "U"  # selenocysteine, not uracil


def test_invalid_character_names_record_and_position():
    with pytest.raises(InvalidSequenceError) as e:
        ESM2_ALPHABET.get_batch_converter()([("good", "MKV"), ("bad", "MKJV")])
    assert e.value.record_id == "bad" and e.value.position == 3 and e.value.char == "J"
    assert "'bad'" in str(e.value) and "position 3" in str(e.value)


def test_unknown_mask_replaces_invalid_characters():
    _, _, toks = ESM2_ALPHABET.get_batch_converter(unknown="mask")([("x", "MJK")])
    a = ESM2_ALPHABET
    assert toks[0].tolist() == [a.cls_idx, a.get_idx("M"), a.mask_idx, a.get_idx("K"), a.eos_idx]


# ----------------------------------------------------------------------------- fidelity
def test_published_layout_matches_fair_esm(tmp_path):
    path = save_published(make_fair_esm2(), tmp_path / "esm2_t2_tiny.pt")
    ref_model, ref_alphabet = fair_esm_load(path)  # proves the file is in fair-esm's layout
    ref_model.eval()
    model, alphabet = rnalm.load(path)
    assert detect_format(path)[0].name == "esm2"
    assert model.provenance["contact_regression"] == str(regression_path(path))
    assert alphabet.max_length == 1022
    toks = tokens_for(ref_alphabet)
    _, _, ours_toks = alphabet.get_batch_converter()(SEQS)
    toks_no_mask = tokens_for(ref_alphabet, mask_at=())
    assert torch.equal(ours_toks, toks_no_mask)
    assert toks.eq(ref_alphabet.padding_idx).any() and toks.eq(ref_alphabet.mask_idx).any()
    compare(model, ref_model, toks, 2)


@pytest.mark.parametrize("token_dropout", [True, False])
def test_cfg_as_plain_dict(tmp_path, token_dropout):
    ref = make_fair_esm2(token_dropout=token_dropout, seed=1)
    path = save_published(ref, tmp_path / "esm2_dict.pt", cfg_as="dict")
    model, _ = rnalm.load(path)
    assert model.config.token_dropout is token_dropout
    compare(model, ref, tokens_for(ref.alphabet), 2)


def test_without_regression_file_has_no_contact_head(tmp_path):
    ref = make_fair_esm2(seed=2)
    path = save_published(ref, tmp_path / "esm2_noreg.pt", regression=False)
    model, _ = rnalm.load(path)
    assert model.contact_head is None and model.provenance["contact_regression"] is None
    toks = tokens_for(ref.alphabet)
    compare(model, ref, toks, 2, contacts=False)
    with pytest.raises(ValueError, match="no contact head"):
        model(toks, return_contacts=True)


def test_smallest_published_size(tmp_path):
    """esm2_t6_8M_UR50D's architecture: 6 layers, 320 wide, 20 heads."""
    path = save_published(make_fair_esm2(6, 320, 20, seed=3), tmp_path / "esm2_t6_8M_UR50D.pt")
    ref_model, ref_alphabet = fair_esm_load(path)
    model, _ = rnalm.load(path)
    assert (model.config.num_layers, model.config.embed_dim, model.config.attention_heads) == (6, 320, 20)
    compare(model, ref_model.eval(), tokens_for(ref_alphabet), 6)


def test_native_round_trip(tmp_path):
    ref = make_fair_esm2(seed=4)
    model, alphabet = rnalm.load(save_published(ref, tmp_path / "esm2_rt.pt"))
    back, back_alphabet = rnalm.load(save_native(model, alphabet, tmp_path / "native"))
    assert back_alphabet.tokens == ESM2_TOKENS and back.config == model.config
    compare(back, ref, tokens_for(ref.alphabet), 2)


# ----------------------------------------------------------------------------- errors
def test_too_long_sequence_is_refused(tmp_path):
    _, alphabet = rnalm.load(save_published(make_fair_esm2(), tmp_path / "esm2_len.pt", regression=False))
    alphabet.get_batch_converter()([("ok", "A" * 1022)])
    with pytest.raises(SequenceLengthError, match="1023"):
        alphabet.get_batch_converter()([("long", "A" * 1023)])


def test_truncated_file(tmp_path):
    path = save_published(make_fair_esm2(), tmp_path / "esm2_trunc.pt", regression=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        rnalm.load(path)


def test_cfg_missing_fields(tmp_path):
    path = save_published(make_fair_esm2(), tmp_path / "esm2_cfg.pt", regression=False)
    obj = torch.load(path, weights_only=False)
    del obj["cfg"]["model"].token_dropout
    torch.save(obj, path)
    with pytest.raises(CheckpointError, match="token_dropout"):
        rnalm.load(path)


def test_cfg_disagreeing_with_tensors(tmp_path):
    path = save_published(make_fair_esm2(), tmp_path / "esm2_heads.pt", regression=False)
    obj = torch.load(path, weights_only=False)
    obj["cfg"]["model"].encoder_attention_heads = 8
    torch.save(obj, path)
    with pytest.raises(CheckpointError, match="rotary buffers imply 4"):
        rnalm.load(path)


def test_regression_of_another_model(tmp_path):
    path = save_published(make_fair_esm2(), tmp_path / "esm2_badreg.pt")
    torch.save(
        {
            "model": {
                "contact_head.regression.weight": torch.zeros(1, 99),
                "contact_head.regression.bias": torch.zeros(1),
            }
        },
        regression_path(path),
    )
    with pytest.raises(CheckpointError, match="contact regression"):
        rnalm.load(path)
