"""RNA-FM SS-ResNet: rna-fm's own ``Baseline`` is the oracle.

Each fidelity test builds ``fm.downstream.Baseline(..., "pc-resnet_1_sym_first:r-ss")`` with
random weights and non-trivial batch-norm statistics, saves its ``state_dict()`` as the published
file is saved, loads that file with :func:`rnalm.models.rnafm.load_ss_resnet` and compares
``sigmoid(r-ss)`` record by record. rna-fm's builder downloads the 12 x 640 RNA-FM encoder; the
tests hand it a random ``fm.BioBertModel`` instead (small unless marked slow).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import rnalm
from rnalm.errors import CheckpointError, InvalidSequenceError, SequenceLengthError
from rnalm.hub import registry
from rnalm.models import FORMATS, detect_format
from rnalm.models.rnafm import SSResNetProbabilities, load_ss_resnet, ss_resnet_probabilities
from rnalm.models.rnafm.ss_convert import FORMAT_NAME, backbone_settings

fm = pytest.importorskip("fm")
baseline_module = pytest.importorskip("fm.downstream.baseline")

TOL = 1e-4
PREDICTOR = "pc-resnet_1_sym_first:r-ss"
HEAD = f"downstream_modules.{PREDICTOR}."
LENGTHS = (5, 37, 120)


def random_backbone(layers: int, embed_dim: int, ffn: int, emb_ln: bool, token_dropout: bool):
    alphabet = fm.Alphabet.from_architecture("roberta_large", theme="rna")
    args = argparse.Namespace(
        arch="roberta_large",
        layers=layers,
        embed_dim=embed_dim,
        ffn_embed_dim=ffn,
        attention_heads=20,
        max_positions=1024,
        emb_layer_norm_before=emb_ln,
        token_dropout=token_dropout,
    )
    return fm.BioBertModel(args, alphabet), alphabet


def perturb(model: torch.nn.Module) -> None:
    """Random non-trivial values everywhere, batch-norm running statistics included."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("embed_tokens.weight"):
                p.copy_(0.1 * torch.randn_like(p))
            elif ("layer_norm" in name or ".bn1." in name) and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.2 * torch.randn_like(p))
            elif "pre_reduction" in name:
                p.copy_(torch.randn_like(p) / p.shape[1] ** 0.5)
            elif ".conv" in name:
                p.mul_(0.5)
        for name, buf in model.named_buffers():
            if name.endswith("running_mean"):
                buf.copy_(0.3 * torch.randn_like(buf))
            elif name.endswith("running_var"):
                buf.copy_(torch.empty_like(buf).uniform_(0.5, 2.0))
            elif name.endswith("num_batches_tracked"):
                buf.fill_(1234)


def build_reference(monkeypatch, tmp_path: Path, layers=12, embed_dim=40, ffn=80, emb_ln=True, token_dropout=True):
    """rna-fm's Baseline (random, in eval mode), its alphabet, and its state dict saved as a .pth."""
    torch.manual_seed(0)
    backbone = random_backbone(layers, embed_dim, ffn, emb_ln, token_dropout)
    monkeypatch.setattr(baseline_module, "choose_backbone", lambda name: backbone)
    model = baseline_module.Baseline("rna-fm", pairwise_predictor_name=PREDICTOR, backbone_frozen=1)
    perturb(model)
    model.eval()
    # logits of order 1 so that the probabilities are not saturated and the comparison means something
    final = model.downstream_modules[PREDICTOR].proj.final
    with torch.no_grad():
        logits = reference_logits(model, backbone[1], random_seq(37, 1))
        final.weight.mul_(2.0 / logits.std().item())
        final.bias.sub_(reference_logits(model, backbone[1], random_seq(120, 2)).mean())
    path = tmp_path / "RNA-FM-ResNet_PDB-All.pth"
    torch.save(model.state_dict(), path)
    return model, backbone[1], path


def random_seq(length: int, seed: int) -> str:
    return "".join(np.random.default_rng(seed).choice(list("ACGU"), length))


def reference_logits(model, alphabet, seq: str) -> torch.Tensor:
    _, _, tokens = alphabet.get_batch_converter()([("r", seq)])
    with torch.no_grad():
        return model({"token": tokens})["r-ss"][0]


def compare(model, alphabet, path: Path, lengths, **load_options) -> float:
    ours = SSResNetProbabilities(load_ss_resnet(path, **load_options))
    seqs = [random_seq(n, seed=n) for n in lengths]
    maps = ours(seqs)
    worst, wanted = 0.0, []
    for seq, got in zip(seqs, maps):
        want = torch.sigmoid(reference_logits(model, alphabet, seq)).numpy()
        assert got.dtype == np.float32 and got.shape == (len(seq), len(seq))
        assert np.array_equal(got, got.T)
        worst = max(worst, float(np.abs(got - want).max()))
        wanted.append(want.ravel())
    pooled = np.concatenate(wanted)
    assert pooled.std() > 0.05 and np.mean((pooled > 0.01) & (pooled < 0.99)) > 0.8  # mostly not saturated
    print(f"max |p_rnalm - p_rna-fm| over lengths {lengths}: {worst:.2e}")
    assert worst <= TOL
    return worst


# --------------------------------------------------------------------------- fidelity
def test_maps_match_rna_fm(monkeypatch, tmp_path):
    model, alphabet, path = build_reference(monkeypatch, tmp_path)
    compare(model, alphabet, path, LENGTHS)


def test_maps_match_without_embedding_layer_norm_or_token_dropout(monkeypatch, tmp_path):
    model, alphabet, path = build_reference(monkeypatch, tmp_path, emb_ln=False, token_dropout=False)
    compare(model, alphabet, path, (37,), token_dropout=False)


@pytest.mark.slow
def test_full_size_maps_match_rna_fm(monkeypatch, tmp_path):
    start = time.perf_counter()
    model, alphabet, path = build_reference(monkeypatch, tmp_path, embed_dim=640, ffn=5120)
    compare(model, alphabet, path, LENGTHS)
    print(f"full size: {time.perf_counter() - start:.1f} s")


def test_backbone_settings_come_from_the_rna_fm_encoder_file(tmp_path):
    path = tmp_path / "RNA-FM_pretrained.pth"
    args = argparse.Namespace(arch="roberta_large", encoder_attention_heads=20, token_dropout=False)
    torch.save({"args": args, "model": {}}, path)
    assert backbone_settings(path) == {"attention_heads": 20, "token_dropout": False}
    torch.save({"model": {}}, path)
    with pytest.raises(CheckpointError, match="not an RNA-FM encoder file"):
        backbone_settings(path)


def test_file_layout_is_rna_fm_s_own(monkeypatch, tmp_path):
    """rna-fm's builder loads the saved file strictly, as it loads the published one."""
    model, _, path = build_reference(monkeypatch, tmp_path)
    model.load_state_dict(torch.load(path, weights_only=True))  # strict
    state = torch.load(path, weights_only=True)
    assert f"{HEAD}proj.resnet.31.bn1.running_var" in state and "backbone.contact_head.regression.weight" in state


# --------------------------------------------------------------------------- strict, safe loading
@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        model, alphabet, path = build_reference(mp, tmp_path_factory.mktemp("ss"))
    return path, torch.load(path, weights_only=True)


def write(tmp_path: Path, state) -> Path:
    path = tmp_path / "edited.pth"
    torch.save(state, path)
    return path


class Planted:
    def __reduce__(self):
        return (os.getcwd, ())


def test_a_planted_pickle_is_refused_unrun(saved, tmp_path):
    _, state = saved
    path = write(tmp_path, {**state, "extra": Planted()})
    with pytest.raises(CheckpointError, match="refused to unpickle.*getcwd"):
        load_ss_resnet(path)


@pytest.mark.parametrize(
    "key",
    [f"{HEAD}proj.resnet.3.bn1.running_var", f"{HEAD}proj.final.bias", "backbone.layers.11.fc2.weight"],
)
def test_a_missing_tensor_is_named(saved, tmp_path, key):
    _, state = saved
    path = write(tmp_path, {k: v for k, v in state.items() if k != key})
    with pytest.raises(CheckpointError, match=f"missing tensors.*{key.replace('.', '[.]')}") as err:
        load_ss_resnet(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("key", [f"{HEAD}proj.extra.weight", "backbone.layers.0.extra", "other.weight"])
def test_an_extra_tensor_is_named(saved, tmp_path, key):
    _, state = saved
    path = write(tmp_path, {**state, key: torch.zeros(2)})
    with pytest.raises(CheckpointError, match=f"unexpected tensors.*{key.replace('.', '[.]')}"):
        load_ss_resnet(path)


def test_a_wrong_shape_is_named(saved, tmp_path):
    _, state = saved
    key = f"{HEAD}proj.resnet.0.conv2.weight"
    path = write(tmp_path, {**state, key: torch.zeros(64, 64, 1, 1)})
    with pytest.raises(CheckpointError, match=f"shapes.*{key.replace('.', '[.]')}"):
        load_ss_resnet(path)


def test_another_predictor_is_refused(saved, tmp_path):
    _, state = saved
    other = {k.replace(PREDICTOR, "pc-resnet_1_asym_first:r-ss"): v for k, v in state.items()}
    with pytest.raises(CheckpointError, match="asym"):
        load_ss_resnet(write(tmp_path, other))


def test_rnalm_load_points_to_the_structure_loader(saved):
    path, _ = saved
    assert detect_format(path)[0].name == FORMAT_NAME
    with pytest.raises(CheckpointError, match="load_ss_resnet.*"):
        rnalm.load(path)
    with pytest.raises(CheckpointError, match="rnalm fold --model"):
        rnalm.load(path)


def test_registry_entry_probes_as_the_structure_format():
    entry = registry.get("rna-fm-ss-resnet")
    assert entry.files[0].probe == FORMAT_NAME in FORMATS
    assert registry.get("RNA-FM-ResNet_PDB-All") is entry
    assert "structure model" in entry.description and "load_ss_resnet" in entry.notes


# --------------------------------------------------------------------------- probability model
@pytest.fixture(scope="module")
def probs(saved):
    return ss_resnet_probabilities(saved[0])


def test_probability_model_reads_rna_fm_letters(probs):
    a, b = probs.predict_records([("u", "gguacUUcc"), ("t", "GGTACTTCC")])
    assert np.array_equal(a, b) and a.dtype == np.float32 and a.shape == (9, 9)
    assert probs.limit == 1022


def test_an_invalid_letter_names_record_and_position(probs):
    with pytest.raises(InvalidSequenceError, match=r"record 'bad'.*'X' at position 4"):
        probs.predict_records([("ok", "ACGU"), ("bad", "ACGXU")])


def test_a_record_longer_than_the_encoder_allows_is_refused_before_any_work(probs, monkeypatch):
    monkeypatch.setattr(probs.model, "forward", lambda t: pytest.fail("ran a record before validating all"))
    with pytest.raises(SequenceLengthError, match=r"record 'long': 1023 nt .* 1022 nt"):
        probs.predict_records([("short", "ACGU"), ("long", "A" * 1023)])
    with pytest.raises(SequenceLengthError, match=r"record '#2'"):
        probs(["ACGU", "A" * 1023])
