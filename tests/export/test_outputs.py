"""Exports are built beside their destination and moved into place only when complete."""

from __future__ import annotations

import pytest

from rnalm.export import hf
from rnalm.export.errors import ExportError
from rnalm.export.outputs import HF_DIRECTORY, ONNX_FILE

from .conftest import family_model

pytest.importorskip("transformers")


def test_an_export_that_fails_its_check_leaves_the_old_export_and_no_staging(tmp_path, monkeypatch):
    model, alphabet = family_model("lamar")
    out = tmp_path / "hf"
    hf.export_hf(model, alphabet, out, "first")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def fails(*args, **kwargs):
        raise ExportError("check failed")

    monkeypatch.setattr(hf, "check_directory", fails)
    with pytest.raises(ExportError, match="check failed"):
        hf.export_hf(model, alphabet, out, "second", overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["hf"]


def test_exports_are_recognised_by_their_provenance_note_only(tmp_path):
    model, alphabet = family_model("lamar")
    hf.export_hf(model, alphabet, tmp_path / "hf", "lamar")
    assert HF_DIRECTORY.owns(tmp_path / "hf")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text('{"model_type": "esm"}')
    assert not HF_DIRECTORY.owns(tmp_path / "other")
    (tmp_path / "x.onnx").write_bytes(b"not a model")
    assert not ONNX_FILE.owns(tmp_path / "x.onnx")
