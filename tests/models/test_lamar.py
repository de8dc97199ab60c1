"""LAMAR / Hugging Face ESM directories: fidelity against transformers' ``EsmForMaskedLM``.

Each case builds a small random-weight ``EsmForMaskedLM`` with LAMAR's vocabulary, writes it in a
published layout (``save_pretrained``'s safetensors, a ``torch.save``-d ``pytorch_model.bin``, or
the layout LAMAR's own Trainer run leaves), loads it with :func:`rnalm.load` and compares every
layer, the logits, the attention maps and the contacts on a padded batch with ``<mask>`` tokens.

Hidden states: ``hidden_states[i]`` for ``i < L`` is the input of layer ``i + 1`` (index 0 = the
embeddings), as rnalm's ``representations[i]``. At the last index transformers 4.x and 5.23 put the
output *after* ``emb_layer_norm_after`` (fair-esm's and rnalm's convention), but since 5.0 hidden
states are captured by hooks on the layers and a version may hand back the pre-LayerNorm output
there; so rnalm's ``representations[L]`` is compared with ``EsmModel``'s ``last_hidden_state``
(post-LayerNorm in every version), and ``hidden_states[L]`` is only checked to be one of the two.
All positions are compared, padding included (both sides compute the same values there); attention
maps are compared after zeroing padded rows and columns, as rnalm and ESM's contact code do.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import rnalm
from rnalm.errors import CheckpointError, InvalidSequenceError, SequenceLengthError
from rnalm.models import convert_checkpoint
from rnalm.models.esm2.alphabet import ESM2_TOKENS
from rnalm.models.lamar.alphabet import LAMAR_ALPHABET, LAMAR_TOKENS

transformers = pytest.importorskip("transformers")
from transformers import EsmConfig, EsmForMaskedLM, EsmModel, EsmTokenizer  # noqa: E402

TOL = 1e-4
LAYERS = 3
SEQS = [("long", "ACGTNACGTTGCAAGT"), ("short", "AC"), ("mid", "GGGTTTAACCNA"), ("one", "T")]
#: (row, column) token positions replaced by <mask> (columns count <cls> as 0).
MASKED = [(0, 3), (0, 9), (2, 5), (2, 6), (3, 1)]


# ----------------------------------------------------------------------------- helpers
def hf_config(position: str, token_dropout: bool, emb_ln: bool, tie: bool = True, vocab=LAMAR_TOKENS) -> EsmConfig:
    return EsmConfig(
        vocab_size=len(vocab),
        pad_token_id=vocab.index("<pad>"),
        mask_token_id=vocab.index("<mask>"),
        hidden_size=32,
        num_hidden_layers=LAYERS,
        num_attention_heads=4,
        intermediate_size=48,
        max_position_embeddings=40,
        position_embedding_type=position,
        layer_norm_eps=1e-5,
        token_dropout=token_dropout,
        emb_layer_norm_before=emb_ln,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        tie_word_embeddings=tie,
        attn_implementation="eager",
    )


def randomize(model: torch.nn.Module, seed: int, std: float = 0.3) -> torch.nn.Module:
    """Random weights everywhere (LayerNorm gains around 1), so that no term of the forward is trivial."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            is_ln = ("LayerNorm" in name or "layer_norm" in name) and name.endswith("weight")
            p.copy_(1.0 + 0.2 * noise if is_ln else std * noise)
    return model.eval()


def write_tokenizer(path: Path, vocab=LAMAR_TOKENS) -> EsmTokenizer:
    path.mkdir(parents=True, exist_ok=True)
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tok = EsmTokenizer(str(path / "vocab.txt"))
    tok.save_pretrained(str(path))
    return tok


def save_bin(model: torch.nn.Module, path: Path) -> None:
    """The pre-safetensors layout: ``config.json`` + ``torch.save(state_dict)`` as ``pytorch_model.bin``."""
    path.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(str(path))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    torch.save(state, path / "pytorch_model.bin")


def batch(alphabet=LAMAR_ALPHABET) -> tuple[torch.Tensor, torch.Tensor]:
    _, _, tokens = alphabet.get_batch_converter()(SEQS)
    for r, c in MASKED:
        tokens[r, c] = alphabet.mask_idx
    return tokens, tokens.ne(alphabet.padding_idx).long()


def maxdiff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.float() - b.float()).abs().max().item()


@torch.no_grad()
def compare(
    hf: EsmForMaskedLM | EsmModel, path: Path, alphabet=LAMAR_ALPHABET, layers: int = LAYERS
) -> dict[str, float]:
    """Max abs differences per output between transformers (``hf``) and ``rnalm.load(path)``."""
    model, alpha = rnalm.load(path)
    assert alpha.tokens == alphabet.tokens
    tokens, attn = batch(alphabet)
    esm = hf.esm if isinstance(hf, EsmForMaskedLM) else hf
    ref = hf(input_ids=tokens, attention_mask=attn, output_hidden_states=True, output_attentions=True)
    last = esm(input_ids=tokens, attention_mask=attn).last_hidden_state
    has_contacts = model.contact_head is not None
    out = model(tokens, repr_layers=range(layers + 1), need_head_weights=True, return_contacts=has_contacts)

    diffs: dict[str, float] = {}
    assert len(ref.hidden_states) == layers + 1
    for i in range(layers):
        diffs[f"layer{i}"] = maxdiff(out["representations"][i], ref.hidden_states[i])
    diffs[f"layer{layers}"] = maxdiff(out["representations"][layers], last)
    final_ln = esm.encoder.emb_layer_norm_after
    assert min(maxdiff(ref.hidden_states[layers], last), maxdiff(final_ln(ref.hidden_states[layers]), last)) <= TOL
    if isinstance(hf, EsmForMaskedLM):
        diffs["logits"] = maxdiff(out["logits"], ref.logits)
    else:
        assert "logits" not in out
    hf_attn = torch.stack(ref.attentions, 1)  # B, layers, heads, T, T
    keep = attn.to(hf_attn)
    hf_attn = hf_attn * (keep[:, :, None] * keep[:, None, :])[:, None, None]
    diffs["attentions"] = maxdiff(out["attentions"], hf_attn)
    if has_contacts:
        diffs["contacts"] = maxdiff(out["contacts"], esm.predict_contacts(tokens, attn))
    for name, d in diffs.items():
        assert d <= TOL, f"{name}: max abs diff {d:.3g} > {TOL}"
    return diffs


# ----------------------------------------------------------------------------- fidelity
CASES = {
    # LAMAR as published: rotary, no token dropout, untied decoder (plain nn.Module in LAMAR's code).
    "rotary-untied-bin": dict(position="rotary", token_dropout=False, emb_ln=False, tie=False, layout="bin"),
    # ESM-2 style: rotary with token-dropout rescaling, tied decoder, safetensors.
    "rotary-tokdrop-safetensors": dict(
        position="rotary", token_dropout=True, emb_ln=False, tie=True, layout="safetensors"
    ),
    # ESM-1b style: learned padding-offset positions with the embedding LayerNorm.
    "absolute-embln-safetensors": dict(
        position="absolute", token_dropout=False, emb_ln=True, tie=True, layout="safetensors"
    ),
    "absolute-tokdrop-untied-bin": dict(position="absolute", token_dropout=True, emb_ln=False, tie=False, layout="bin"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fidelity_against_transformers(tmp_path, case):
    c = CASES[case]
    hf = randomize(EsmForMaskedLM(hf_config(c["position"], c["token_dropout"], c["emb_ln"], c["tie"])), seed=1)
    path = tmp_path / case
    if c["layout"] == "bin":
        save_bin(hf, path)
    else:
        hf.save_pretrained(str(path))
    write_tokenizer(path)
    model, _ = rnalm.load(path)
    assert model.config.tie_lm_head == c["tie"]
    assert model.config.position_embedding == ("rotary" if c["position"] == "rotary" else "learned")
    assert model.config.token_dropout == c["token_dropout"]
    assert model.config.emb_layer_norm_before == c["emb_ln"]
    diffs = compare(hf, path)
    print(case, {k: f"{v:.2e}" for k, v in diffs.items()})


@pytest.mark.slow
def test_full_size_lamar_architecture(tmp_path):
    """LAMAR's published shape: 12 layers, 768 wide, 12 heads, FFN 3072, rotary, untied decoder."""
    cfg = hf_config("rotary", False, False, tie=False)
    for key, value in dict(
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=1026,
    ).items():
        setattr(cfg, key, value)
    hf = randomize(EsmForMaskedLM(cfg), seed=10, std=0.05)
    hf.save_pretrained(str(tmp_path / "m"))
    write_tokenizer(tmp_path / "m")
    diffs = compare(hf, tmp_path / "m", layers=12)
    print("full-size", {k: f"{v:.2e}" for k, v in diffs.items()})


def test_token_dropout_and_positions_matter(tmp_path):
    """Guard against a vacuous comparison: the masked batch must change what token dropout changes."""
    hf = randomize(EsmForMaskedLM(hf_config("rotary", True, False)), seed=2)
    hf.save_pretrained(str(tmp_path / "m"))
    model, _ = rnalm.load(tmp_path / "m")
    tokens, _ = batch()
    with torch.no_grad():
        with_td = model(tokens)["logits"]
        model.config.token_dropout = False
        without_td = model(tokens)["logits"]
    assert maxdiff(with_td, without_td) > 1e-2


def test_lamar_trainer_layout(tmp_path):
    """What LAMAR's own code saves: per-layer rotary buffers, position_ids, an unused position table,
    an untied decoder while config.json keeps the default tie_word_embeddings, Trainer metadata,
    and no tokenizer files next to the weights."""
    from safetensors.torch import save_file

    hf = randomize(EsmForMaskedLM(hf_config("rotary", False, False, tie=False)), seed=3)
    state = {k: v.clone().contiguous() for k, v in hf.state_dict().items()}
    inv = state.pop("esm.rotary_embeddings.inv_freq")
    for i in range(LAYERS):
        state[f"esm.encoder.layer.{i}.attention.self.rotary_embeddings.inv_freq"] = inv.clone()
    state["esm.embeddings.position_embeddings.weight"] = torch.randn(40, 32)
    state["esm.embeddings.position_ids"] = torch.arange(40).expand(1, -1).contiguous()
    path = tmp_path / "checkpoint-250000"
    path.mkdir()
    save_file(state, str(path / "model.safetensors"), metadata={"format": "pt"})
    cfg = hf.config.to_dict()
    cfg.pop("tie_word_embeddings")  # LAMAR's config_150M.json does not set it
    (path / "config.json").write_text(json.dumps(cfg))

    _, conv = convert_checkpoint(path)
    assert conv.alphabet is LAMAR_ALPHABET
    assert not conv.config.tie_lm_head
    ignored = set(conv.provenance["ignored_keys"])
    assert "embeddings.position_ids" in ignored and "embeddings.position_embeddings.weight" in ignored
    assert sum("inv_freq" in k for k in ignored) == LAYERS
    assert any("vocab.txt" in n for n in conv.provenance["notes"])
    assert any("tie_word_embeddings" in n for n in conv.provenance["notes"])
    compare(hf, path)


def test_bare_esm_model_with_pooler(tmp_path):
    hf = randomize(EsmModel(hf_config("rotary", False, False), add_pooling_layer=True), seed=4)
    hf.save_pretrained(str(tmp_path / "m"))
    write_tokenizer(tmp_path / "m")
    model, _ = rnalm.load(tmp_path / "m")
    assert model.lm_head is None
    assert any(k.startswith("pooler.") for k in model.provenance["ignored_keys"])
    compare(hf, tmp_path / "m")


def test_sharded_checkpoint(tmp_path):
    hf = randomize(EsmForMaskedLM(hf_config("absolute", False, False)), seed=5)
    hf.save_pretrained(str(tmp_path / "m"), max_shard_size="20KB")
    if not list((tmp_path / "m").glob("*.index.json")):
        pytest.skip("this transformers version wrote a single file")
    write_tokenizer(tmp_path / "m")
    compare(hf, tmp_path / "m")


def test_esm2_protein_vocab_directory(tmp_path):
    from rnalm.models.esm2.alphabet import ESM2_ALPHABET

    hf = randomize(EsmForMaskedLM(hf_config("rotary", True, False, vocab=ESM2_TOKENS)), seed=6)
    hf.save_pretrained(str(tmp_path / "m"))
    write_tokenizer(tmp_path / "m", vocab=ESM2_TOKENS)
    _, alphabet = rnalm.load(tmp_path / "m")
    assert alphabet.name == ESM2_ALPHABET.name
    compare(hf, tmp_path / "m", alphabet=ESM2_ALPHABET)


def test_native_round_trip_keeps_untied_head(tmp_path):
    from rnalm.io.native import save_native

    hf = randomize(EsmForMaskedLM(hf_config("rotary", False, False, tie=False)), seed=7)
    hf.save_pretrained(str(tmp_path / "hf"))
    write_tokenizer(tmp_path / "hf")
    model, alphabet = rnalm.load(tmp_path / "hf")
    save_native(model, alphabet, tmp_path / "native", provenance=model.provenance)
    compare(hf, tmp_path / "native")


# ----------------------------------------------------------------------------- tokenisation
def test_vocab_order_matches_lamar():
    assert LAMAR_ALPHABET.tokens == ("<cls>", "<pad>", "<eos>", "<unk>", "<mask>", "A", "T", "C", "G", "N")


def test_tokens_match_esm_tokenizer(tmp_path):
    tok = write_tokenizer(tmp_path / "tok")
    tokens, attn = batch()
    texts = []
    for r, (_, seq) in enumerate(SEQS):
        chars = list(seq)
        for rr, c in sorted(MASKED, reverse=True):
            if rr == r:
                chars[c - 1] = "<mask>"
        texts.append("".join(chars))
    enc = tok(texts, padding=True, return_tensors="pt")
    assert torch.equal(enc["input_ids"], tokens)
    assert torch.equal(enc["attention_mask"], attn)


def test_normalisation_rna_and_lower_case(tmp_path):
    tok = write_tokenizer(tmp_path / "tok")
    conv = LAMAR_ALPHABET.get_batch_converter()
    _, _, ours = conv([("rna", "acgu nAUG")])
    assert ours[0].tolist() == tok("ACGTNATG")["input_ids"]
    with pytest.raises(InvalidSequenceError, match="position 3"):
        conv([("bad", "ACXGT")])


def test_too_long_input_is_refused(tmp_path):
    hf = randomize(EsmForMaskedLM(hf_config("absolute", False, False)), seed=8)
    hf.save_pretrained(str(tmp_path / "m"))
    write_tokenizer(tmp_path / "m")
    _, alphabet = rnalm.load(tmp_path / "m")
    # 40 position rows - (pad index 1) - 1 = 38 tokens, of which <cls> and <eos> take two.
    assert alphabet.max_length == 36
    alphabet.get_batch_converter()([("ok", "A" * 36)])
    with pytest.raises(SequenceLengthError):
        alphabet.get_batch_converter()([("long", "A" * 37)])


# ----------------------------------------------------------------------------- refusals
def _small_dir(tmp_path: Path, **cfg_overrides) -> Path:
    hf = randomize(EsmForMaskedLM(hf_config("rotary", False, False)), seed=9)
    path = tmp_path / "m"
    hf.save_pretrained(str(path))
    write_tokenizer(path)
    if cfg_overrides:
        cfg = json.loads((path / "config.json").read_text())
        cfg.update(cfg_overrides)
        (path / "config.json").write_text(json.dumps(cfg))
    return path


def test_foreign_directory_is_refused(tmp_path):
    path = _small_dir(tmp_path, model_type="bert")
    with pytest.raises(CheckpointError, match="not a checkpoint format"):
        rnalm.load(path)


def test_missing_weights_are_refused(tmp_path):
    path = _small_dir(tmp_path)
    (path / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no weights"):
        rnalm.load(path)


def test_truncated_weights_are_refused(tmp_path):
    path = _small_dir(tmp_path)
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        rnalm.load(path)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(position_embedding_type="relative_key"), "relative_key"),
        (dict(is_decoder=True), "is_decoder"),
        (dict(rope_theta=500000.0), "rope_theta"),
        (dict(num_attention_heads=8), "inv_freq"),
        (dict(pad_token_id=0), "pad_token_id"),
        (dict(emb_layer_norm_before=True), "emb_layer_norm_before"),
        (dict(num_hidden_layers=4), "num_hidden_layers"),
    ],
)
def test_unrepresentable_configs_are_refused(tmp_path, overrides, message):
    path = _small_dir(tmp_path, **overrides)
    with pytest.raises(CheckpointError, match=message):
        rnalm.load(path)


def test_unknown_vocab_is_refused(tmp_path):
    path = _small_dir(tmp_path)
    (path / "vocab.txt").write_text("\n".join(["<cls>", "<pad>", "<eos>", "<unk>", "<mask>", "A", "C", "G", "T", "N"]))
    with pytest.raises(CheckpointError, match="neither LAMAR"):
        rnalm.load(path)


def test_task_head_is_refused(tmp_path):
    from safetensors.torch import load_file, save_file

    path = _small_dir(tmp_path)
    state = load_file(str(path / "model.safetensors"))
    state["classifier.dense.weight"] = torch.zeros(32, 32)
    save_file(state, str(path / "model.safetensors"))
    with pytest.raises(CheckpointError, match="classifier"):
        rnalm.load(path)
