"""ProtRNA: alphabet and the Keras ``.h5`` converter, against fair-esm as the oracle.

There is no installable ProtRNA (it is TensorFlow code in a repository), but it is ESM-2 with a
38-token vocabulary. So the oracle is a random-weight fair-esm ``ESM2`` with that vocabulary and
ProtRNA's flags (``token_dropout=False``); the test writes its weights into an ``.h5`` file the
way tf.keras ``Model.save_weights`` lays out a ProtRNA model (the table in
``src/rnalm/models/protrna/card.md``), loads it with :func:`rnalm.load` and compares every layer,
the logits and the attention maps.

The writer below is driven by fair-esm's module names and by replaying ProtRNA's layer
construction order to produce Keras' auto-generated names; the reader parses those names
generically, so the two share no mapping code.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

h5py = pytest.importorskip("h5py")
esm = pytest.importorskip("esm")

import rnalm  # noqa: E402
from rnalm.errors import CheckpointError, InvalidSequenceError, RnalmError, SequenceLengthError  # noqa: E402
from rnalm.models.esm2.alphabet import ESM2_TOKENS  # noqa: E402
from rnalm.models.protrna import PROTRNA_ALPHABET, PROTRNA_TOKENS, load_protrna_h5  # noqa: E402

TOL = 1e-4
RNA_TOKS = ("a", "u", "g", "c", "x")


# ----------------------------------------------------------------------------- oracle
def oracle_alphabet() -> "esm.data.Alphabet":
    """fair-esm's ESM-1b/ESM-2 alphabet with ProtRNA's RNA letters appended after <mask>."""
    return esm.data.Alphabet(
        standard_toks=esm.constants.proteinseq_toks["toks"],
        prepend_toks=("<cls>", "<pad>", "<eos>", "<unk>"),
        append_toks=("<mask>",) + RNA_TOKS,
        prepend_bos=True,
        append_eos=True,
    )


def oracle_model(num_layers: int, embed_dim: int, heads: int, seed: int = 0) -> "esm.model.esm2.ESM2":
    torch.manual_seed(seed)
    model = esm.model.esm2.ESM2(
        num_layers=num_layers,
        embed_dim=embed_dim,
        attention_heads=heads,
        alphabet=oracle_alphabet(),
        token_dropout=False,
    )
    with torch.no_grad():  # move every parameter off its init value so nothing is trivially 0 or 1
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


def oracle_tokens(batch: list[tuple[str, str]]) -> torch.Tensor:
    """fair-esm's batch converter on already-normalised strings (lower case, u, <mask> spelled out)."""
    return oracle_alphabet().get_batch_converter()(batch)[2]


# ----------------------------------------------------------------------------- Keras layout writer
def _auto(base: str, uid: int) -> str:
    """Keras auto-naming: the first layer of a class is ``base``, later ones ``base_<n>``."""
    return base if uid == 0 else f"{base}_{uid}"


def keras_groups(model, uid_offset: int = 0, scope: str = "ProtRNA/", frozen: bool = True):
    """(layer_names, {group: [(variable name, array), ...]}) as ``save_weights`` writes a ProtRNA.

    ``uid_offset`` shifts the auto-name counters (layers created earlier in the saving process);
    ``scope`` is the model-name prefix of variables built inside the model's first call;
    ``frozen`` puts rotary ``inv_freq`` where a non-trainable model lists it (after the
    attention's Dense layers) instead of last.
    """
    sd = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    used = set()

    def take(key: str, transpose: bool = False) -> np.ndarray:
        used.add(key)
        return np.ascontiguousarray(sd[key].T) if transpose else sd[key]

    groups = {"embedding": [("embedding/embeddings:0", take("embed_tokens.weight"))]}
    num_layers = len(model.layers)
    for i in range(num_layers):
        p = f"layers.{i}."
        dense = [_auto("dense", uid_offset + 6 * i + j) for j in range(6)]  # q k v out fc1 fc2
        norms = [_auto("layer_normalization", uid_offset + 2 * i + j) for j in range(2)]
        block = f"{scope}layer_._{i}"
        mha = f"{block}/{_auto('multihead_attention', uid_offset + i)}"
        attn = []
        for d, proj in zip(dense[:4], ("q_proj", "k_proj", "v_proj", "out_proj")):
            attn += [
                (f"{mha}/{d}/kernel:0", take(f"{p}self_attn.{proj}.weight", True)),
                (f"{mha}/{d}/bias:0", take(f"{p}self_attn.{proj}.bias")),
            ]
        rotary = [
            (f"{mha}/{_auto('rotary_embedding', uid_offset + i)}/inv_freq:0", take(f"{p}self_attn.rot_emb.inv_freq"))
        ]
        rest = [
            (f"{block}/{norms[0]}/gamma:0", take(f"{p}self_attn_layer_norm.weight")),
            (f"{block}/{norms[0]}/beta:0", take(f"{p}self_attn_layer_norm.bias")),
            (f"{block}/{dense[4]}/kernel:0", take(f"{p}fc1.weight", True)),
            (f"{block}/{dense[4]}/bias:0", take(f"{p}fc1.bias")),
            (f"{block}/{dense[5]}/kernel:0", take(f"{p}fc2.weight", True)),
            (f"{block}/{dense[5]}/bias:0", take(f"{p}fc2.bias")),
            (f"{block}/{norms[1]}/gamma:0", take(f"{p}final_layer_norm.weight")),
            (f"{block}/{norms[1]}/beta:0", take(f"{p}final_layer_norm.bias")),
        ]
        groups[f"layer_._{i}"] = attn + rotary + rest if frozen else attn + rest + rotary
    groups["emb_layer_norm_after"] = [
        (f"{scope}emb_layer_norm_after/gamma:0", take("emb_layer_norm_after.weight")),
        (f"{scope}emb_layer_norm_after/beta:0", take("emb_layer_norm_after.bias")),
    ]
    groups["lm_head"] = [
        ("embedding/embeddings:0", take("lm_head.weight")),  # the tied decoder, saved again
        ("bias:0", take("lm_head.bias")),
        (f"{scope}lm_head/dense/kernel:0", take("lm_head.dense.weight", True)),
        (f"{scope}lm_head/dense/bias:0", take("lm_head.dense.bias")),
        (f"{scope}lm_head/layer_norm/gamma:0", take("lm_head.layer_norm.weight")),
        (f"{scope}lm_head/layer_norm/beta:0", take("lm_head.layer_norm.bias")),
    ]
    left = sorted(k for k in set(sd) - used if not k.startswith("contact_head."))  # ProtRNA has no contact head
    assert not left, f"writer did not place {left}"
    layer_names = ["embedding"] + [f"layer_._{i}" for i in range(num_layers)] + ["emb_layer_norm_after", "lm_head"]
    return layer_names, groups


def _names_attr(names: list[str]) -> np.ndarray:
    return np.asarray([n.encode("utf8") for n in names]) if names else np.asarray([])


def write_keras_h5(path, layer_names, groups, chunk_layer_names: bool = False) -> None:
    """Keras 2 ``save_weights_to_hdf5_group``: root attrs, groups in name order, datasets at variable names."""
    with h5py.File(path, "w") as f:
        names = _names_attr(layer_names)
        if chunk_layer_names:  # what Keras does when an attribute exceeds the HDF5 header limit
            for k, part in enumerate(np.array_split(names, 3)):
                f.attrs[f"layer_names{k}"] = part
        else:
            f.attrs["layer_names"] = names
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.14.0"
        for name in sorted(groups):
            g = f.create_group(name)
            g.attrs["weight_names"] = _names_attr([w for w, _ in groups[name]])
            for w, value in groups[name]:
                g.create_dataset(w, data=value)
        f.create_group("top_level_model_weights").attrs["weight_names"] = _names_attr([])


def write_protrna(path, model, **kw) -> None:
    chunk = kw.pop("chunk_layer_names", False)
    write_keras_h5(path, *keras_groups(model, **kw), chunk_layer_names=chunk)


# ----------------------------------------------------------------------------- comparison
RAW_BATCH = [
    ("r1", "AUGGCUACGUAGCUAGCUAGGCUAACGUUAGC"),
    ("r2", "gcT"),
    ("r3", "acgu nacgu\nTTAGG"),
    ("r4", "X"),
]


def _expected_strings(batch):
    """What ProtRNA's lower-casing and t->u produce, with rnalm's unknown='mask' spelled for fair-esm."""
    out = []
    for rid, s in batch:
        s = "".join(s.split()).lower().replace("t", "u").replace("n", "<mask>")
        out.append((rid, s))
    return out


def max_diffs(model, oracle, tokens):
    with torch.no_grad():
        n = oracle.num_layers
        ref = oracle(tokens, repr_layers=list(range(n + 1)), need_head_weights=True)
        got = model(tokens, repr_layers=list(range(n + 1)), need_head_weights=True)
        fast = model(tokens, repr_layers=list(range(n + 1)))
    diffs = {
        f"layer{i}": (got["representations"][i] - ref["representations"][i]).abs().max().item() for i in range(n + 1)
    }
    diffs["logits"] = (got["logits"] - ref["logits"]).abs().max().item()
    diffs["attentions"] = (got["attentions"] - ref["attentions"]).abs().max().item()
    diffs["logits_sdpa"] = (fast["logits"] - ref["logits"]).abs().max().item()
    diffs.update(
        {
            f"layer{i}_sdpa": (fast["representations"][i] - ref["representations"][i]).abs().max().item()
            for i in range(n + 1)
        }
    )
    return diffs


# ----------------------------------------------------------------------------- alphabet
def test_tokens_are_esm2_plus_rna_letters_in_fair_esm_order():
    esm1b = esm.data.Alphabet.from_architecture("ESM-1b").all_toks
    assert list(ESM2_TOKENS) == esm1b
    assert list(PROTRNA_TOKENS) == esm1b + list(RNA_TOKS) == oracle_alphabet().all_toks
    a = PROTRNA_ALPHABET
    assert (a.cls_idx, a.padding_idx, a.eos_idx, a.mask_idx) == (0, 1, 2, 32)
    assert [a.get_idx(t) for t in RNA_TOKS] == [33, 34, 35, 36, 37]


def test_upper_case_and_t_are_normalised_like_protrna():
    a = PROTRNA_ALPHABET
    assert a.normalize("AUGC T\nacgu") == "augcuacgu"
    _, strs, tokens = a.get_batch_converter(unknown="mask")(RAW_BATCH)
    assert strs == [s for _, s in RAW_BATCH]  # raw strings are returned as given
    assert torch.equal(tokens, oracle_tokens(_expected_strings(RAW_BATCH)))
    assert not (tokens == a.get_idx("U")).any()  # never the protein selenocysteine token


def test_n_is_an_error_by_default_and_x_on_request():
    a = PROTRNA_ALPHABET
    with pytest.raises(InvalidSequenceError) as exc:
        a.get_batch_converter()([("s1", "ACGUN")])
    assert exc.value.record_id == "s1" and exc.value.position == 5 and exc.value.char == "N"
    # ProtRNA's own behaviour: anything that is not a/c/g/t/u becomes x
    assert a.encode("acNu-", unknown="x") == [a.get_idx(c) for c in "acxux"]
    assert a.encode("n", unknown="mask") == [a.mask_idx]


# ----------------------------------------------------------------------------- fidelity
@pytest.mark.parametrize(
    "layers,width,heads,variant",
    [
        (2, 64, 4, dict()),
        (3, 80, 20, dict(uid_offset=37, scope="", frozen=False, chunk_layer_names=True)),
    ],
)
def test_h5_matches_fair_esm(tmp_path, layers, width, heads, variant):
    oracle = oracle_model(layers, width, heads)
    path = tmp_path / "ProtRNA_pretrained.h5"
    write_protrna(path, oracle, **variant)
    model, alphabet = rnalm.load(path)
    cfg = model.config
    assert (cfg.num_layers, cfg.embed_dim, cfg.attention_heads, cfg.ffn_embed_dim) == (layers, width, heads, 4 * width)
    assert cfg.position_embedding == "rotary" and not cfg.token_dropout and model.contact_head is None
    assert alphabet.tokens == PROTRNA_TOKENS and alphabet.max_length == 510

    _, _, tokens = alphabet.get_batch_converter(unknown="mask")(RAW_BATCH)
    assert (tokens == alphabet.padding_idx).any() and (tokens == alphabet.mask_idx).any()
    diffs = max_diffs(model, oracle, tokens)
    assert max(diffs.values()) <= TOL, diffs


def test_provenance_lists_ignored_datasets(tmp_path):
    oracle = oracle_model(2, 64, 4)
    write_protrna(tmp_path / "p.h5", oracle)
    model, _ = rnalm.load(tmp_path / "p.h5")
    prov = model.provenance
    assert prov["source_format"] == "protrna-h5" and prov["keras_version"] == "2.14.0"
    assert prov["attention_heads_source"] == "rotary inv_freq length"
    ignored = {k.split(":")[0]: v for k, v in prov["ignored_datasets"].items()}
    assert len(ignored["inv_freq"]) == 2 and ignored["tied_decoder"] == ["lm_head/embedding/embeddings:0"]


def test_heads_override_when_file_has_no_rotary_frequencies(tmp_path):
    oracle = oracle_model(2, 64, 4)
    names, groups = keras_groups(oracle)
    for g in groups:
        groups[g] = [(w, v) for w, v in groups[g] if "inv_freq" not in w]
    write_keras_h5(tmp_path / "p.h5", names, groups)
    with pytest.raises(CheckpointError, match="attention_heads="):
        rnalm.load(tmp_path / "p.h5")  # ProtRNA's 20 heads do not divide width 64
    model, alphabet = load_protrna_h5(tmp_path / "p.h5", attention_heads=4)
    _, _, tokens = alphabet.get_batch_converter()(RAW_BATCH[:2])
    assert max(max_diffs(model, oracle, tokens).values()) <= TOL


def test_heads_override_contradicting_the_file_is_refused(tmp_path):
    write_protrna(tmp_path / "p.h5", oracle_model(2, 64, 4))
    with pytest.raises(CheckpointError, match="contradicts"):
        load_protrna_h5(tmp_path / "p.h5", attention_heads=8)


def test_longer_than_protrna_limit_is_refused(tmp_path):
    write_protrna(tmp_path / "p.h5", oracle_model(1, 32, 4))
    _, alphabet = rnalm.load(tmp_path / "p.h5")
    alphabet.get_batch_converter()([("ok", "a" * 510)])
    with pytest.raises(SequenceLengthError, match="510"):
        alphabet.get_batch_converter()([("long", "a" * 511)])


# ----------------------------------------------------------------------------- bad files
@pytest.fixture
def good_h5(tmp_path):
    path = tmp_path / "good.h5"
    write_protrna(path, oracle_model(1, 32, 4))
    return path


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.95, 0.999])
def test_truncated_file(good_h5, tmp_path, keep):
    data = good_h5.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CheckpointError, match="truncated|unreadable"):
        rnalm.load(cut)


def test_foreign_hdf5_names_what_was_expected(tmp_path):
    path = tmp_path / "anndata.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("X", data=np.zeros((3, 3)))
    with pytest.raises(CheckpointError) as exc:
        rnalm.load(path)
    msg = str(exc.value)
    assert "not a Keras save_weights file" in msg and "ProtRNA Keras .h5" in msg and "layer_names" in msg


def test_other_keras_model_names_expected_layers(tmp_path):
    path = tmp_path / "mlp.h5"
    groups = {"dense": [("dense/kernel:0", np.zeros((4, 2), np.float32)), ("dense/bias:0", np.zeros(2, np.float32))]}
    write_keras_h5(path, ["dense"], groups)
    with pytest.raises(CheckpointError, match=r"not ProtRNA's layout: expected layers embedding, layer_\._0"):
        rnalm.load(path)


def _rewrite(tmp_path, model, edit, **kw):
    names, groups = keras_groups(model, **kw)
    edit(names, groups)
    path = tmp_path / "edited.h5"
    write_keras_h5(path, names, groups)
    return path


def test_missing_weight_is_refused(tmp_path):
    def drop_fc2_bias(names, groups):
        groups["layer_._0"] = [(w, v) for w, v in groups["layer_._0"] if not w.endswith("dense_5/bias:0")]

    with pytest.raises(CheckpointError, match="feed-forward"):
        rnalm.load(_rewrite(tmp_path, oracle_model(1, 32, 4), drop_fc2_bias))


def test_unknown_weight_is_refused(tmp_path):
    def add(names, groups):
        groups["layer_._0"].append(("ProtRNA/layer_._0/extra/kernel:0", np.zeros((2, 2), np.float32)))

    with pytest.raises(CheckpointError, match="unexpected weight"):
        rnalm.load(_rewrite(tmp_path, oracle_model(1, 32, 4), add))


def test_dataset_outside_weight_names_is_refused(good_h5):
    with h5py.File(good_h5, "a") as f:
        f["lm_head"].create_dataset("stray:0", data=np.zeros(3, np.float32))
    with pytest.raises(CheckpointError, match="not listed in any layer's weight_names"):
        rnalm.load(good_h5)


def test_untied_decoder_copy_is_refused(tmp_path):
    def untie(names, groups):
        w, v = groups["lm_head"][0]
        groups["lm_head"][0] = (w, v + 1.0)

    with pytest.raises(CheckpointError, match="decoder copy"):
        rnalm.load(_rewrite(tmp_path, oracle_model(1, 32, 4), untie))


def test_nonstandard_rotary_frequencies_are_refused(tmp_path):
    def scale(names, groups):
        groups["layer_._0"] = [(w, v * 2 if "inv_freq" in w else v) for w, v in groups["layer_._0"]]

    with pytest.raises(CheckpointError, match="rotary"):
        rnalm.load(_rewrite(tmp_path, oracle_model(1, 32, 4), scale))


def test_protein_vocabulary_is_refused(tmp_path):
    def shrink(names, groups):
        groups["embedding"] = [(w, v[:33]) for w, v in groups["embedding"]]
        groups["lm_head"] = [(w, v[:33]) for w, v in groups["lm_head"]]

    with pytest.raises(CheckpointError, match="33 rows is a plain ESM-2"):
        rnalm.load(_rewrite(tmp_path, oracle_model(1, 32, 4), shrink))


def test_missing_h5py_gives_install_hint(good_h5, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)  # makes `import h5py` raise ImportError
    with pytest.raises(RnalmError, match="reinstall rnalm"):
        rnalm.load(good_h5)


def test_cli_convert_to_native_keeps_outputs(good_h5, tmp_path, capsys):
    from rnalm.cli import main

    assert main(["convert", str(good_h5), str(tmp_path / "native")]) == 0
    assert "protrna-h5" in capsys.readouterr().out
    a_model, alphabet = rnalm.load(good_h5)
    b_model, b_alphabet = rnalm.load(tmp_path / "native")
    assert b_alphabet.tokens == PROTRNA_TOKENS and b_alphabet.case == "lower" and b_alphabet.convert == {"t": "u"}
    assert b_model.provenance["source_format"] == "protrna-h5"
    _, _, tokens = alphabet.get_batch_converter(unknown="x")(RAW_BATCH)
    with torch.no_grad():
        assert torch.equal(a_model(tokens)["logits"], b_model(tokens)["logits"])
