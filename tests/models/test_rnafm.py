"""RNA-FM / mRNA-FM: checkpoints built and loaded with rna-fm's own code are the oracle.

Each fidelity test builds a random-weight ``fm.BioBertModel``, saves it the way the published
``.pth`` files are laid out (``{"args": Namespace, "model": state}`` with fairseq's
``encoder.sentence_encoder.`` / ``encoder.`` prefixes, which rna-fm's key upgrade strips), loads
that file both with rna-fm's ``fm.pretrained.load_model_and_alphabet_local`` and with
``rnalm.load``, and compares every layer, the logits, attention maps and contacts at fp32.
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path

import pytest
import torch

import rnalm
from rnalm.errors import CheckpointError, InvalidSequenceError, SequenceLengthError
from rnalm.models.rnafm.alphabet import CODONS, MRNA_FM_ALPHABET, RNA_FM_ALPHABET, RNA_LETTERS

fm = pytest.importorskip("fm")

TOL = 1e-4
THEMES = {"rna-fm": "rna", "mrna-fm": "rna-3mer"}


# --------------------------------------------------------------------------- helpers
def make_args(
    layers: int, embed_dim: int, ffn: int, heads: int, max_positions: int, fairseq_names: bool = False, **extra
) -> argparse.Namespace:
    """fairseq-style arguments; ``fairseq_names`` uses the ``encoder_*`` names rna-fm upgrades."""
    if fairseq_names:
        sizes = dict(
            encoder_layers=layers, encoder_embed_dim=embed_dim, encoder_ffn_embed_dim=ffn, encoder_attention_heads=heads
        )
        noise = dict(
            dropout=0.1,
            lr=[1e-4],
            encoder_normalize_before=True,
            encoder_learned_pos=True,
            criterion="masked_lm",
            optimizer="adam",
        )
    else:
        sizes = dict(layers=layers, embed_dim=embed_dim, ffn_embed_dim=ffn, attention_heads=heads)
        noise = {}
    return argparse.Namespace(arch="roberta_large", max_positions=max_positions, **sizes, **noise, **extra)


def upgraded(args: argparse.Namespace) -> argparse.Namespace:
    return argparse.Namespace(
        **{(k.split("encoder_", 1)[1] if k.startswith("encoder_") else k): v for k, v in vars(args).items()}
    )


def build_reference(args: argparse.Namespace, theme: str, emb_layer_norm_before: bool, seed: int = 0):
    """A random ``fm.BioBertModel`` whose biases and LayerNorms are non-trivial (all perturbed)."""
    torch.manual_seed(seed)
    alphabet = fm.Alphabet.from_architecture("roberta_large", theme=theme)
    a = upgraded(args)
    a.emb_layer_norm_before = emb_layer_norm_before
    model = fm.BioBertModel(a, alphabet)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "embed_tokens.weight":  # also the LM head's projection: keep logits O(1-10)
                p.copy_(0.1 * torch.randn_like(p))
            elif "layer_norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.2 * torch.randn_like(p))
    return model.eval(), alphabet


def published_key(key: str) -> str:
    return ("encoder." if key.startswith(("lm_head", "contact_head")) else "encoder.sentence_encoder.") + key


def save_published(
    path: Path,
    args: argparse.Namespace,
    model: torch.nn.Module,
    shared_tie: bool = True,
    regression: bool = True,
    legacy: bool = False,
) -> Path:
    """Save like the published files: fairseq prefixes, ``args`` Namespace, ``model`` state.

    ``shared_tie=False`` stores ``embed_tokens`` and ``lm_head`` as separate tensors (what a
    tensor-by-tensor GPU->CPU copy produces), which changes what rna-fm's loader ends up with.
    """
    state = {}
    for k, v in model.state_dict().items():
        if not regression and k.startswith("contact_head."):
            continue
        state[published_key(k)] = v if shared_tie else v.clone()
    torch.save({"args": args, "model": state}, str(path), _use_new_zipfile_serialization=not legacy)
    return path


def load_original(path: Path, theme: str):
    """rna-fm's own loader (its stem must contain 'RNA-FM' so no regression file is required)."""
    assert "RNA-FM" in path.stem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.serialization.safe_globals([argparse.Namespace]):
            model, alphabet = fm.pretrained.load_model_and_alphabet_local(str(path), theme=theme)
    return model.eval(), alphabet


def random_rna(gen: torch.Generator, n: int, letters=RNA_LETTERS) -> str:
    return "".join(letters[i] for i in torch.randint(len(letters), (n,), generator=gen).tolist())


def rna_batch(lengths, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [(f"r{i}", random_rna(gen, n)) for i, n in enumerate(lengths)]


def cds_batch(codon_counts, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [(f"cds{i}", random_rna(gen, n, CODONS)) for i, n in enumerate(codon_counts)]


def with_masks(tokens: torch.Tensor, mask_idx: int, padding_idx: int, every: int = 5) -> torch.Tensor:
    """Replace every ``every``-th letter with ``<mask>`` (exercises the zeroed mask embedding)."""
    out = tokens.clone()
    letters = (tokens > 3) & tokens.ne(padding_idx)
    pos = torch.arange(tokens.size(1)).expand_as(tokens)
    out[letters & (pos % every == 2)] = mask_idx
    return out


def compare(ref, ours, tokens: torch.Tensor, n_letters: list[int], contacts: bool) -> dict[str, float]:
    """Max abs difference per output over non-pad positions (per-sequence L x L for contacts)."""
    layers = list(range(ref.num_layers + 1))
    with torch.no_grad():
        r = ref(tokens, repr_layers=layers, need_head_weights=True, return_contacts=contacts)
        o = ours(tokens, repr_layers=layers, need_head_weights=True, return_contacts=contacts)
    keep = tokens.ne(ours.config.padding_idx)
    diffs = {f"layer{i}": (r["representations"][i] - o["representations"][i])[keep].abs().max().item() for i in layers}
    diffs["logits"] = (r["logits"] - o["logits"])[keep].abs().max().item()
    diffs["attentions"] = (r["attentions"] - o["attentions"]).abs().max().item()
    if contacts:
        diffs["contacts"] = max(
            (r["contacts"][b, :n, :n] - o["contacts"][b, :n, :n]).abs().max().item() for b, n in enumerate(n_letters)
        )
    assert set(r["representations"]) == set(o["representations"]) == set(layers)
    return diffs


def assert_close(diffs: dict[str, float], label: str) -> None:
    print(f"\n{label}: " + ", ".join(f"{k}={v:.2e}" for k, v in diffs.items()))
    bad = {k: v for k, v in diffs.items() if not v <= TOL}
    assert not bad, f"{label}: outputs differ from rna-fm beyond {TOL}: {bad}"


def fm_tokens(alphabet, batch):
    return alphabet.get_batch_converter()(batch)[2]


# --------------------------------------------------------------------------- alphabets and tokens
@pytest.mark.parametrize("ours", [RNA_FM_ALPHABET, MRNA_FM_ALPHABET], ids=lambda a: a.name)
def test_token_order_equals_rna_fm(ours):
    ref = fm.Alphabet.from_architecture("roberta_large", theme=THEMES[ours.name])
    assert tuple(ref.all_toks) == ours.tokens
    assert (ref.padding_idx, ref.cls_idx, ref.eos_idx, ref.unk_idx, ref.mask_idx) == (
        ours.padding_idx,
        ours.cls_idx,
        ours.eos_idx,
        ours.unk_idx,
        ours.mask_idx,
    )
    assert (ref.prepend_bos, ref.append_eos, ref.k_mer) == (ours.prepend_bos, ours.append_eos, ours.k_mer)


def test_tokens_equal_rna_fm_batch_converter():
    gen = torch.Generator().manual_seed(1)
    batch = [("a", "".join(RNA_LETTERS))] + [(f"s{i}", random_rna(gen, n)) for i, n in enumerate((1, 7, 40, 13))]
    ref = fm.Alphabet.from_architecture("roberta_large", theme="rna")
    ids, strs, ours = RNA_FM_ALPHABET.get_batch_converter()(batch)
    assert torch.equal(ours, fm_tokens(ref, batch))
    assert ids == [b[0] for b in batch] and strs == [b[1] for b in batch]


def test_codon_tokens_equal_rna_fm_batch_converter():
    batch = [("all", "".join(CODONS))] + cds_batch((1, 5, 17), seed=2)
    ref = fm.Alphabet.from_architecture("roberta_large", theme="rna-3mer")
    assert torch.equal(MRNA_FM_ALPHABET.get_batch_converter()(batch)[2], fm_tokens(ref, batch))


def test_t_becomes_u_while_rna_fm_maps_it_to_unk():
    ref = fm.Alphabet.from_architecture("roberta_large", theme="rna")
    ours = RNA_FM_ALPHABET.get_batch_converter()([("x", "acgt GT")])[2]
    assert torch.equal(ours, fm_tokens(ref, [("x", "ACGUGU")]))
    original = fm_tokens(ref, [("x", "ACGTGT")])
    assert original[0, 4].item() == ref.unk_idx and original[0, 6].item() == ref.unk_idx  # the quirk rnalm removes
    ref3 = fm.Alphabet.from_architecture("roberta_large", theme="rna-3mer")
    codons = MRNA_FM_ALPHABET.get_batch_converter()([("c", "ATGTTT")])[2]
    assert torch.equal(codons, fm_tokens(ref3, [("c", "AUGUUU")]))


def test_codon_with_n_is_an_error_unless_unknown_unk():
    # rna-fm's README example: 'N' and '-' inside codons silently become <unk> in the original
    seq = "AUGCGAUUCNCGUUCCC--CCGCCUCC"
    with pytest.raises(InvalidSequenceError, match="position 10"):
        MRNA_FM_ALPHABET.get_batch_converter()([("CDS3", seq)])
    ref = fm.Alphabet.from_architecture("roberta_large", theme="rna-3mer")
    ours = MRNA_FM_ALPHABET.get_batch_converter(unknown="unk")([("CDS3", seq)])[2]
    assert torch.equal(ours, fm_tokens(ref, [("CDS3", seq)]))


def test_mrna_length_not_multiple_of_three():
    with pytest.raises(SequenceLengthError, match="multiple of 3"):
        MRNA_FM_ALPHABET.get_batch_converter()([("ok", "AUGAAA"), ("bad", "AUGAA")])


# --------------------------------------------------------------------------- fidelity
RNA_LAYOUTS = {
    # fairseq argument names, embedding and LM head in one storage, contact regression stored
    "fairseq-args_tied_regression": dict(fairseq_names=True, shared_tie=True, regression=True, emb_ln=True),
    # upgraded names, separately stored tied tensors (mask row not zeroed by rna-fm), no regression
    "upgraded-args_untied_no-regression": dict(fairseq_names=False, shared_tie=False, regression=False, emb_ln=True),
    # no embedding LayerNorm, token dropout flag set, legacy (non-zip) torch serialisation
    "no-emb-ln_token-dropout_legacy": dict(
        fairseq_names=True, shared_tie=True, regression=True, emb_ln=False, legacy=True, token_dropout=True
    ),
}


@pytest.mark.parametrize("layout", list(RNA_LAYOUTS))
def test_rnafm_matches_original(tmp_path, layout):
    spec = RNA_LAYOUTS[layout]
    extra = {"token_dropout": True} if spec.get("token_dropout") else {}
    args = make_args(3, 64, 96, 4, 40, fairseq_names=spec["fairseq_names"], **extra)
    ref_built, _ = build_reference(args, "rna", spec["emb_ln"])
    path = save_published(
        tmp_path / "RNA-FM_test.pth", args, ref_built, spec["shared_tie"], spec["regression"], spec.get("legacy", False)
    )
    ref, ref_alphabet = load_original(path, "rna")
    model, alphabet = rnalm.load(path)

    assert model.config.emb_layer_norm_before is spec["emb_ln"]
    assert model.config.token_dropout is bool(extra)
    assert (model.contact_head is not None) is spec["regression"]
    assert alphabet.name == "rna-fm" and alphabet.max_length == 38
    assert model.provenance["format"] == "rna-fm" and model.provenance["source_format"] == "rna-fm"
    assert model.provenance["original_args"]["arch"] == "roberta_large"
    # the effective <mask> embedding follows rna-fm's loader exactly (zeroed only for a shared storage)
    assert torch.equal(model.embed_tokens.weight, ref.embed_tokens.weight)
    assert model.provenance["mask_embedding_zeroed"] is spec["shared_tie"]

    batch = rna_batch((38, 5, 17, 1, 30), seed=3)  # includes the longest allowed sequence
    _, _, tokens = alphabet.get_batch_converter()(batch)
    assert torch.equal(tokens, fm_tokens(ref_alphabet, batch))
    tokens = with_masks(tokens, alphabet.mask_idx, alphabet.padding_idx)
    diffs = compare(ref, model, tokens, [len(s) for _, s in batch], contacts=spec["regression"])
    assert_close(diffs, f"RNA-FM {layout}")


def test_mrnafm_matches_original(tmp_path):
    args = make_args(2, 48, 80, 4, 24, fairseq_names=True)
    ref_built, _ = build_reference(args, "rna-3mer", True, seed=5)
    path = save_published(tmp_path / "mRNA-FM_test.pth", args, ref_built, shared_tie=True, regression=True)
    ref, ref_alphabet = load_original(path, "rna-3mer")
    model, alphabet = rnalm.load(path)
    assert alphabet.name == "mrna-fm" and len(alphabet) == 73 and alphabet.max_length == 22
    assert model.provenance["model_family"] == "mRNA-FM"

    batch = cds_batch((22, 3, 11, 1), seed=6)
    _, _, tokens = alphabet.get_batch_converter()(batch)
    assert torch.equal(tokens, fm_tokens(ref_alphabet, batch))
    tokens = with_masks(tokens, alphabet.mask_idx, alphabet.padding_idx, every=4)
    diffs = compare(ref, model, tokens, [len(s) // 3 for _, s in batch], contacts=True)
    assert_close(diffs, "mRNA-FM")


def test_full_size_rnafm_matches_original(tmp_path):
    """The published RNA-FM size: 12 layers, 640 wide, 20 heads, FFN 5120, 1024 positions."""
    args = make_args(12, 640, 5120, 20, 1024, fairseq_names=True)
    ref_built, _ = build_reference(args, "rna", True, seed=7)
    path = save_published(tmp_path / "RNA-FM_full.pth", args, ref_built, shared_tie=True, regression=True)
    del ref_built
    ref, _ = load_original(path, "rna")
    model, alphabet = rnalm.load(path)
    path.unlink()  # 400 MB; pytest keeps recent tmp dirs around
    assert (
        model.config.num_layers,
        model.config.embed_dim,
        model.config.attention_heads,
        model.config.ffn_embed_dim,
        model.config.max_positions,
    ) == (12, 640, 20, 5120, 1024)
    assert alphabet.max_length == 1022
    batch = rna_batch((24, 9), seed=8)
    tokens = with_masks(alphabet.get_batch_converter()(batch)[2], alphabet.mask_idx, alphabet.padding_idx)
    diffs = compare(ref, model, tokens, [24, 9], contacts=True)
    assert_close(diffs, "RNA-FM full size")


# --------------------------------------------------------------------------- behaviour and errors
@pytest.fixture
def small_pth(tmp_path) -> Path:
    args = make_args(2, 32, 64, 4, 32)
    ref, _ = build_reference(args, "rna", True, seed=11)
    return save_published(tmp_path / "RNA-FM_small.pth", args, ref, regression=False)


def test_contacts_without_regression_weights_fail_clearly(small_pth):
    model, alphabet = rnalm.load(small_pth)
    assert model.provenance["contact_regression"] is False
    tokens = alphabet.get_batch_converter()([("a", "ACGUACGU")])[2]
    with pytest.raises(ValueError, match="no contact head"):
        model(tokens, return_contacts=True)
    assert model(tokens, need_head_weights=True)["attentions"].shape == (1, 2, 4, 10, 10)


def test_overlong_sequence_rejected_by_loaded_alphabet(small_pth):
    _, alphabet = rnalm.load(small_pth)
    bc = alphabet.get_batch_converter()
    assert bc([("fits", "A" * 30)])[2].shape == (1, 32)
    with pytest.raises(SequenceLengthError, match="31 nt is longer than the 30"):
        bc([("fits", "A" * 30), ("long", "A" * 31)])


def test_overlong_codon_sequence_rejected(tmp_path):
    args = make_args(1, 16, 32, 2, 12)
    ref, _ = build_reference(args, "rna-3mer", True)
    _, alphabet = rnalm.load(save_published(tmp_path / "mRNA-FM_s.pth", args, ref))
    assert alphabet.max_length == 10
    alphabet.get_batch_converter()([("ok", "AUG" * 10)])
    with pytest.raises(SequenceLengthError, match="11 codons"):
        alphabet.get_batch_converter()([("long", "AUG" * 11)])


def test_truncated_checkpoint(small_pth, tmp_path):
    data = small_pth.read_bytes()
    cut = tmp_path / "RNA-FM_cut.pth"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        rnalm.load(cut)


@pytest.mark.parametrize("kind", ["random-bytes", "json"])
def test_foreign_file(tmp_path, kind):
    path = tmp_path / "model.pth"
    if kind == "json":
        path.write_text(json.dumps({"args": {"arch": "roberta_large"}, "model": {}}))
    else:
        gen = torch.Generator().manual_seed(0)
        path.write_bytes(b"\x13\x37" + bytes(torch.randint(256, (4096,), generator=gen, dtype=torch.uint8).tolist()))
    with pytest.raises(CheckpointError, match="not a checkpoint format rnalm knows"):
        rnalm.load(path)


def test_protein_vocabulary_is_refused(tmp_path):
    args = make_args(1, 16, 32, 2, 16)
    a = upgraded(args)
    ref = fm.BioBertModel(a, fm.Alphabet.from_architecture("roberta_large", theme="protein"))  # 33 tokens, ESM-1b
    with pytest.raises(CheckpointError, match="33 rows"):
        rnalm.load(save_published(tmp_path / "esm1b_like.pth", args, ref))


def test_weights_not_matching_args(tmp_path):
    ref, _ = build_reference(make_args(2, 32, 64, 4, 32), "rna", True)
    with pytest.raises(CheckpointError, match=r"missing tensors \['layers\.2\."):
        rnalm.load(save_published(tmp_path / "RNA-FM_bad.pth", make_args(3, 32, 64, 4, 32), ref))
    with pytest.raises(CheckpointError, match="shape mismatches"):
        rnalm.load(save_published(tmp_path / "RNA-FM_bad2.pth", make_args(2, 32, 64, 4, 64), ref))


class _RunsCode:
    """Unpickling this calls ``os.makedirs(marker)``: a harmless stand-in for arbitrary code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def test_pickle_with_foreign_class_is_refused_without_running_code(tmp_path):
    marker = tmp_path / "code_ran"
    args = make_args(1, 16, 32, 2, 16)
    ref, _ = build_reference(args, "rna", True)
    state = {published_key(k): v for k, v in ref.state_dict().items()}
    path = tmp_path / "RNA-FM_evil.pth"
    torch.save({"args": args, "model": state, "extra": _RunsCode(marker)}, str(path))
    with pytest.raises(CheckpointError, match="refused to unpickle"):
        rnalm.load(path)
    assert not marker.exists()
    torch.load(str(path), weights_only=False)  # control: an unrestricted unpickle does run the payload
    assert marker.is_dir()


def test_sniff_ignores_other_architectures(tmp_path):
    from rnalm.io.formats import Probe
    from rnalm.models.rnafm.convert import _sniff

    path = tmp_path / "other.pt"
    torch.save({"args": argparse.Namespace(arch="protein_bert_base"), "model": {}}, str(path))
    assert not _sniff(Probe(path))
    torch.save({"args": make_args(1, 16, 32, 2, 16), "model": {}}, str(path))
    assert _sniff(Probe(path))


def test_cli_convert_round_trip(tmp_path, capsys):
    from rnalm.cli import main

    args = make_args(2, 32, 64, 4, 32, fairseq_names=True)
    ref, _ = build_reference(args, "rna", True, seed=13)
    src = save_published(tmp_path / "RNA-FM_cli.pth", args, ref, shared_tie=False, regression=True)
    dst = tmp_path / "native"
    assert main(["convert", str(src), str(dst)]) == 0
    assert "rna-fm" in capsys.readouterr().out
    a_model, a_alpha = rnalm.load(src)
    b_model, b_alpha = rnalm.load(dst)
    assert b_model.provenance["source_format"] == "rna-fm" and b_model.provenance["format"] == "rna-fm"
    assert a_alpha.tokens == b_alpha.tokens and a_alpha.max_length == b_alpha.max_length == 30
    tokens = with_masks(a_alpha.get_batch_converter()(rna_batch((30, 4, 12)))[2], a_alpha.mask_idx, a_alpha.padding_idx)
    with torch.no_grad():
        a = a_model(tokens, repr_layers=[0, 1, 2], return_contacts=True)
        b = b_model(tokens, repr_layers=[0, 1, 2], return_contacts=True)
    for i in (0, 1, 2):
        assert torch.equal(a["representations"][i], b["representations"][i])
    assert torch.equal(a["logits"], b["logits"]) and torch.equal(a["contacts"], b["contacts"])
