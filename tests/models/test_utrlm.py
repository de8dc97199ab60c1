"""UTR-LM .pkl fidelity: state dicts as UTR-LM's training scripts save them, against fair-esm's ESM2.

UTR-LM's model is fair-esm's ``ESM2`` with UTR-LM's 10-token alphabet plus two linear heads that it
applies to the final-LayerNorm states: ``supervised_linear`` (MFE) on ``<cls>`` and
``structure_linear`` on every token. The oracle below is exactly that, built from fair-esm; the
files are ``torch.save(model.state_dict())``, with and without DDP's ``module.`` prefix.
"""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

esm = pytest.importorskip("esm")
from esm.model.esm2 import ESM2  # noqa: E402

import rnalm  # noqa: E402
from rnalm.errors import CheckpointError, InvalidSequenceError  # noqa: E402
from rnalm.io.formats import Probe  # noqa: E402
from rnalm.models import detect_format  # noqa: E402
from rnalm.models.build import build_from_converted  # noqa: E402
from rnalm.models.utrlm import UTRLM_ALPHABET, UTRLM_TOKENS  # noqa: E402
from rnalm.models.utrlm.convert import convert_utrlm  # noqa: E402

TOL = 1e-4
SEQS = [("u1", "GGGACATTTGCTTCTGACACAACTGTGTTCACTAGCAACCTCAAACAGACACCATG"), ("u2", "ACGTTGCA"), ("u3", "CCACCATGGCGT")]


def utrlm_fair_alphabet() -> "esm.data.Alphabet":
    """fair-esm's Alphabet with UTR-LM's modifications: no <null_i> padding, so 10 tokens."""
    a = esm.data.Alphabet(
        standard_toks="AGCT",
        prepend_toks=("<pad>", "<eos>", "<unk>"),
        append_toks=("<cls>", "<mask>", "<sep>"),
        prepend_bos=True,
        append_eos=True,
    )
    a.all_toks = [t for t in a.all_toks if not t.startswith("<null")]
    a.tok_to_idx = {t: i for i, t in enumerate(a.all_toks)}
    a.unique_no_split_tokens = a.all_toks
    for attr, tok in (
        ("unk_idx", "<unk>"),
        ("padding_idx", "<pad>"),
        ("cls_idx", "<cls>"),
        ("mask_idx", "<mask>"),
        ("eos_idx", "<eos>"),
    ):
        setattr(a, attr, a.tok_to_idx[tok])
    return a


class UTRLMOracle(ESM2):
    """fair-esm ESM2 + UTR-LM's heads, computed as UTR-LM's ``esm2_secondarystructure.py`` does."""

    def __init__(self, num_layers, embed_dim, heads, supervised=True, structure=True):
        super().__init__(
            num_layers=num_layers, embed_dim=embed_dim, attention_heads=heads, alphabet=utrlm_fair_alphabet()
        )
        if supervised:
            self.supervised_linear = nn.Linear(embed_dim, 1)
        if structure:
            self.structure_linear = nn.Linear(embed_dim, 3)

    def forward(self, tokens, repr_layers=(), **kw):
        out = super().forward(tokens, repr_layers=sorted(set(repr_layers) | {self.num_layers}), **kw)
        x = out["representations"][self.num_layers]  # after emb_layer_norm_after, as UTR-LM uses it
        if hasattr(self, "supervised_linear"):
            out["logits_supervised"] = self.supervised_linear(x[:, 0, :])
        if hasattr(self, "structure_linear"):
            out["logits_structure"] = self.structure_linear(x)
        return out


def randomize(model: nn.Module, seed: int) -> None:
    """Non-trivial values everywhere, scaled by fan-in so activations stay O(1) at any width."""
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


def make_oracle(num_layers=2, embed_dim=32, heads=4, seed=0, **heads_kw) -> UTRLMOracle:
    model = UTRLMOracle(num_layers, embed_dim, heads, **heads_kw)
    randomize(model, seed)
    return model.eval()


def save_pkl(model: nn.Module, path, ddp: bool = False):
    """``torch.save(model.eval().state_dict(), path)``, the DDP-wrapped model giving ``module.`` keys."""
    state = model.state_dict()
    if ddp:
        state = OrderedDict(("module." + k, v) for k, v in state.items())
    torch.save(state, path)
    return path


def tokens_for(seqs=SEQS, mask_at=((0, 4), (0, 9), (2, 3))):
    a = utrlm_fair_alphabet()
    _, _, toks = a.get_batch_converter()(seqs)
    for i, j in mask_at:
        toks[i, j] = a.mask_idx
    return toks


def compare(model, oracle, toks) -> dict[str, float]:
    n = oracle.num_layers
    layers = list(range(n + 1))
    d: dict[str, float] = {}
    with torch.no_grad():
        for weights in (True, False):
            ours = model(toks, repr_layers=layers, need_head_weights=weights, return_contacts=weights)
            ref = oracle(toks, repr_layers=layers, need_head_weights=weights, return_contacts=weights)
            tag = "" if weights else "fast_"
            for i in layers:
                d[f"{tag}repr{i}"] = (ours["representations"][i] - ref["representations"][i]).abs().max().item()
            d[tag + "logits"] = (ours["logits"] - ref["logits"]).abs().max().item()
            if weights:
                d["attentions"] = (ours["attentions"] - ref["attentions"]).abs().max().item()
                d["contacts"] = (ours["contacts"] - ref["contacts"]).abs().max().item()
            assert ("mfe" in ours) == ("logits_supervised" in ref)
            assert ("structure_logits" in ours) == ("logits_structure" in ref)
            if "logits_supervised" in ref:
                d[tag + "mfe"] = (ours["mfe"] - ref["logits_supervised"][:, 0]).abs().max().item()
            if "logits_structure" in ref:
                d[tag + "structure"] = (ours["structure_logits"] - ref["logits_structure"]).abs().max().item()
    assert all(v <= TOL for v in d.values()), d
    return d


# ----------------------------------------------------------------------------- alphabet
def test_tokens_match_utrlm_assertion():
    assert UTRLM_TOKENS == tuple(utrlm_fair_alphabet().all_toks)
    assert dict(UTRLM_ALPHABET.tok_to_idx) == {
        "<pad>": 0,
        "<eos>": 1,
        "<unk>": 2,
        "A": 3,
        "G": 4,
        "C": 5,
        "T": 6,
        "<cls>": 7,
        "<mask>": 8,
        "<sep>": 9,
    }
    assert UTRLM_ALPHABET.prepend_bos and UTRLM_ALPHABET.append_eos


def test_batch_converter_matches_original():
    _, _, ref = utrlm_fair_alphabet().get_batch_converter()(SEQS)
    _, _, ours = UTRLM_ALPHABET.get_batch_converter()(SEQS)
    assert torch.equal(ours, ref)


def test_u_becomes_t_and_lowercase_is_accepted():
    a = UTRLM_ALPHABET
    assert a.encode("acgu") == a.encode("ACGT") == [a.get_idx(c) for c in "ACGT"]
    assert a.normalize(" ac gU\n") == "ACGT"


def test_invalid_character_names_record_and_position():
    with pytest.raises(InvalidSequenceError) as e:
        UTRLM_ALPHABET.get_batch_converter()([("fine", "ACGT"), ("utr7", "ACGNT")])
    assert (e.value.record_id, e.value.position, e.value.char) == ("utr7", 4, "N")
    assert "'utr7'" in str(e.value) and "position 4" in str(e.value)


def test_unknown_mask():
    a = UTRLM_ALPHABET
    _, _, toks = a.get_batch_converter(unknown="mask")([("x", "ANG")])
    assert toks[0].tolist() == [a.cls_idx, a.get_idx("A"), a.mask_idx, a.get_idx("G"), a.eos_idx]


# ----------------------------------------------------------------------------- fidelity
@pytest.mark.parametrize("ddp", [False, True], ids=["plain", "ddp"])
@pytest.mark.parametrize("variant", ["SISS", "SI", "SS", "MLM"])
def test_variants_match_oracle(tmp_path, variant, ddp):
    oracle = make_oracle(supervised="SI" in variant, structure=variant.endswith("SS"), seed=len(variant) + ddp)
    path = save_pkl(oracle, tmp_path / f"ESM2{variant}_test.pkl", ddp=ddp)
    assert detect_format(path)[0].name == "utr-lm"
    model, alphabet = rnalm.load(path)
    assert (model.mfe_head is not None) == ("SI" in variant)
    assert (model.structure_head is not None) == variant.endswith("SS")
    assert model.provenance["heads_from"] == "rotary buffers" and model.provenance["ddp_prefix"] is ddp
    toks = tokens_for()
    assert toks.eq(alphabet.padding_idx).any() and toks.eq(alphabet.mask_idx).any()
    compare(model, oracle, toks)


def test_published_size(tmp_path):
    """UTR-LM's released architecture: 6 layers, 16 heads, 128 wide, saved from DDP."""
    oracle = make_oracle(6, 128, 16, seed=7)
    model, alphabet = rnalm.load(
        save_pkl(oracle, tmp_path / "ESM2SISS_FS4.1_6layers_16heads_128embedsize.pkl", ddp=True)
    )
    c = model.config
    assert (c.num_layers, c.embed_dim, c.attention_heads, c.ffn_embed_dim) == (6, 128, 16, 512)
    assert c.token_dropout and alphabet.max_length == 1020
    compare(model, oracle, tokens_for())


def test_heads_without_rotary_buffers(tmp_path):
    """A state dict stripped of inv_freq: 16 heads by default, or the caller's count."""
    for dim, heads, seed in ((128, 16, 8), (32, 4, 9)):
        oracle = make_oracle(2, dim, heads, seed=seed)
        state = {k: v for k, v in oracle.state_dict().items() if not k.endswith("inv_freq")}
        path = tmp_path / f"nobuf{dim}.pkl"
        torch.save(state, path)
        conv = convert_utrlm(Probe(path), attention_heads=None if heads == 16 else heads)
        assert conv.config.attention_heads == heads
        compare(build_from_converted(conv).eval(), oracle, tokens_for())


# ----------------------------------------------------------------------------- errors
def test_truncated_file(tmp_path):
    path = save_pkl(make_oracle(), tmp_path / "trunc.pkl", ddp=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        rnalm.load(path)


def test_foreign_state_dict(tmp_path):
    path = tmp_path / "foreign.pkl"
    torch.save({"encoder.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(CheckpointError, match="not a checkpoint format rnalm knows"):
        rnalm.load(path)


def test_wrong_vocabulary_with_utrlm_heads(tmp_path):
    state = make_oracle().state_dict()
    state["embed_tokens.weight"] = torch.zeros(12, 32)
    state["lm_head.weight"] = state["embed_tokens.weight"]
    path = tmp_path / "vocab.pkl"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="10 tokens"):
        rnalm.load(path)


def test_heads_argument_contradicting_buffers(tmp_path):
    path = save_pkl(make_oracle(), tmp_path / "contra.pkl")
    with pytest.raises(CheckpointError, match="rotary buffers imply 4"):
        convert_utrlm(Probe(path), attention_heads=8)
