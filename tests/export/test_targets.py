"""``rnalm.export.export``: the Python entry point behind the command, and its one table of targets."""

from __future__ import annotations

import pytest

from rnalm.export import TARGETS, ExportError, export


def test_targets_are_hf_and_onnx():
    assert sorted(TARGETS) == ["hf", "onnx"]


def test_an_unknown_target_names_the_python_keyword_and_the_choices(tiny_lm_dir, tmp_path):
    with pytest.raises(ExportError, match=r"unknown export target 'tflite'; to= takes one of: hf, onnx"):
        export(tiny_lm_dir, "tflite", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_python_export_writes_a_directory_transformers_loads(tiny_lm_dir, tmp_path):
    transformers = pytest.importorskip("transformers")
    done = export(tiny_lm_dir, "hf", tmp_path / "hf")
    assert done.paths == (tmp_path / "hf",) and done.target == "hf" and done.opset is None
    model = transformers.EsmForMaskedLM.from_pretrained(str(tmp_path / "hf"))
    assert model.config.rnalm_export["source"] == str(tiny_lm_dir)
