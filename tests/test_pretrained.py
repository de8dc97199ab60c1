"""rnalm.pretrained: fair-esm / rna-fm shaped entry points, one per registered checkpoint, plus the shipped backbone."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

import pytest
import torch

import rnalm
from rnalm import hub, pretrained, shipped
from rnalm.hub import downloader


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """An empty rnalm cache and torch hub cache in tmp_path; offline, and the downloader must not run."""
    monkeypatch.setenv(hub.ENV_HOME, str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv(hub.ENV_OFFLINE, "1")

    def refuse(*args, **kwargs):
        raise AssertionError("the downloader was called")

    monkeypatch.setattr(downloader, "fetch", refuse)


def write_tiny_rnafm(path: Path) -> None:
    """A 2-layer RNA-FM checkpoint in the published layout, built with rna-fm's own code."""
    fm = pytest.importorskip("fm")
    torch.manual_seed(0)
    args = argparse.Namespace(
        arch="roberta_large", layers=2, embed_dim=32, ffn_embed_dim=64, attention_heads=4, max_positions=64
    )
    model = fm.BioBertModel(args, fm.Alphabet.from_architecture("roberta_large", theme="rna"))
    state = {"encoder.sentence_encoder." + k: v for k, v in model.state_dict().items() if "contact_head" not in k}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"args": args, "model": state}, path)


def test_every_name_is_a_documented_function_of_the_module():
    for name, key in pretrained.MODELS.items():
        fn = getattr(pretrained, name)
        entry = hub.get(key)
        assert callable(fn) and fn.__name__ == name and name in dir(pretrained) and name in pretrained.__all__
        assert entry.description in fn.__doc__ and f"Licence: {entry.licence}" in fn.__doc__
        assert list(inspect.signature(fn).parameters) == ["model_location", "device", "eval_mode"]
    assert "Licence: MIT" in pretrained.utrlm_mini.__doc__
    assert rnalm.pretrained is pretrained and "pretrained" in rnalm.__all__


def test_every_registered_encoder_has_a_function():
    # the structure models (RNA-FM's backbone + ResNet pair head, ProtRNA's RotaFormer head) are not
    # encoders: rnalm.load does not take them
    assert set(pretrained.MODELS.values()) == set(hub.REGISTRY) - {"rna-fm-ss-resnet", "protrna-ss-head"}


def test_names_are_those_of_fair_esm_and_rna_fm():
    esm, fm = pytest.importorskip("esm"), pytest.importorskip("fm")
    esm2 = [n for n in pretrained.MODELS if n.startswith("esm2_")]
    assert len(esm2) == 4 and all(callable(getattr(esm.pretrained, n)) for n in esm2)
    assert callable(fm.pretrained.rna_fm_t12) and callable(fm.pretrained.mrna_fm_t12)
    assert pretrained.MODELS["rna_fm_t12"] == "rna-fm" and pretrained.MODELS["mrna_fm_t12"] == "mrna-fm"


def test_utrlm_mini_loads_the_shipped_backbone_offline():
    with shipped.using_root(shipped.package_root()):
        model, alphabet = pretrained.utrlm_mini()
        same, _ = rnalm.load("utrlm-mini")
        trained, _ = pretrained.utrlm_mini(device="cpu", eval_mode=False)
    assert (model.num_layers, alphabet.name) == (6, "utr-lm")
    assert not model.training and trained.training
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), same.state_dict().values()))


def test_rna_fm_t12_takes_the_file_rna_fm_downloaded_and_gives_rna_fms_numbers(tmp_path):
    fm = pytest.importorskip("fm")
    hub_file = tmp_path / "torch" / "hub" / "checkpoints" / "RNA-FM_pretrained.pth"
    write_tiny_rnafm(hub_file)
    model, alphabet = pretrained.rna_fm_t12()
    assert model.provenance["source_path"] == str(hub_file)

    data = torch.load(hub_file, weights_only=False)  # rna-fm's own loader on the same file
    with pytest.warns(UserWarning, match="Regression weights not found"):
        ref, ref_alphabet = fm.pretrained.load_model_and_alphabet_core("rna-fm", data, None, theme="rna")
    ref.eval()
    seqs = [("a", "GGGUGCGAUCAUACCAGCACUAAUGCCC"), ("b", "ACGUACGU")]
    _, _, tokens = alphabet.get_batch_converter()(seqs)
    _, _, ref_tokens = ref_alphabet.get_batch_converter()(seqs)
    assert torch.equal(tokens, ref_tokens)
    with torch.no_grad():
        ours, theirs = model(tokens, repr_layers=[-1]), ref(ref_tokens, repr_layers=[2])
    assert (ours["representations"][2] - theirs["representations"][2]).abs().max() <= 1e-4


def test_model_location_loads_a_local_copy_as_rna_fm_does(tmp_path):
    local = tmp_path / "pretrained" / "RNA-FM_pretrained.pth"
    write_tiny_rnafm(local)
    model, _ = pretrained.rna_fm_t12(local)
    assert model.provenance["source_path"] == str(local) and model.num_layers == 2


def test_a_checkpoint_in_no_cache_offline_says_where_to_put_it():
    with pytest.raises(rnalm.DownloadError, match="esm2_t6_8M_UR50D is not in the cache.*torch hub's cache"):
        pretrained.esm2_t6_8M_UR50D()
