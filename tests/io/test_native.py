"""rnalm's native format: round trip, tied weights, checksum verification, safe loading."""

import argparse
import json
import os

import pytest
import torch

import rnalm
from rnalm.errors import CheckpointError
from rnalm.io.native import save_native
from rnalm.io.safe_torch import safe_torch_load


def test_round_trip_equal_outputs(tiny_rnafm, tmp_path):
    model, alphabet = tiny_rnafm
    save_native(model, alphabet, tmp_path / "m", provenance={"note": "test"})
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["format"] == "rnalm" and len(cfg["weights_sha256"]) == 64
    assert cfg["alphabet"]["tokens"] == list(alphabet.tokens)
    loaded, a2 = rnalm.load(tmp_path / "m")
    assert a2.tokens == alphabet.tokens and a2.max_length == model.config.max_length
    assert loaded.lm_head.weight is loaded.embed_tokens.weight  # tie restored
    _, _, tokens = alphabet.get_batch_converter()([("a", "ACGUAG"), ("b", "GG")])
    with torch.no_grad():
        assert torch.equal(model(tokens)["logits"], loaded(tokens)["logits"])
    assert loaded.provenance["note"] == "test" and loaded.provenance["source_format"] == "rnalm"


def test_overwrite_is_atomic_and_leaves_no_temp(tiny_rnafm, tmp_path):
    model, alphabet = tiny_rnafm
    save_native(model, alphabet, tmp_path / "m")
    save_native(model, alphabet, tmp_path / "m")
    assert sorted(os.listdir(tmp_path)) == ["m"]


def test_corrupted_weights_detected(tiny_rnafm, tmp_path):
    model, alphabet = tiny_rnafm
    save_native(model, alphabet, tmp_path / "m")
    w = tmp_path / "m" / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-1] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256"):
        rnalm.load(tmp_path / "m")


def test_foreign_and_missing_files(tmp_path):
    (tmp_path / "notes.txt").write_text("hello, not a model")
    with pytest.raises(CheckpointError, match="not a checkpoint format"):
        rnalm.load(tmp_path / "notes.txt")
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        rnalm.load(tmp_path / "empty.pt")


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_safe_loader_refuses_foreign_classes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save({"x": _Evil()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="allow-list"):
        safe_torch_load(tmp_path / "evil.pt")
    assert not (tmp_path / "pwned").exists()
    torch.save({"args": argparse.Namespace(a=1), "t": torch.ones(2)}, tmp_path / "ok.pt")
    assert safe_torch_load(tmp_path / "ok.pt")["args"].a == 1


def test_truncated_torch_file(tmp_path):
    torch.save({"t": torch.ones(1000)}, tmp_path / "t.pt")
    data = (tmp_path / "t.pt").read_bytes()
    (tmp_path / "t.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        safe_torch_load(tmp_path / "t.pt")


def test_pickle_module_not_used_directly():
    # sanity: the safe loader is the only unpickling path in src/
    import pathlib

    src = pathlib.Path(rnalm.__file__).parent
    offenders = [
        p for p in src.rglob("*.py") if "pickle.load" in p.read_text() or "weights_only=False" in p.read_text()
    ]
    assert offenders == []
