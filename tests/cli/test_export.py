"""``rnalm export MODEL --to hf|onnx OUTPUT``: what it prints, what it refuses, and what it never imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import rnalm
from rnalm import shipped
from rnalm.cli import main
from rnalm.io.native import save_native
from rnalm.model import EncoderConfig, RNAEncoder
from rnalm.models.rnafm.alphabet import RNA_FM_ALPHABET

pytest.importorskip("transformers")


def test_hf_export_of_the_shipped_model_prints_what_it_wrote_and_needs_overwrite_to_replace(tmp_path, capsys):
    out = tmp_path / "utrlm-mini-hf"
    with shipped.using_root(shipped.package_root()):
        assert main(["export", "utrlm-mini", "--to", "hf", str(out)]) == 0
        printed = capsys.readouterr().out
        assert printed.startswith(f"utrlm-mini -> {out}: ") and "M parameters" in printed and "MB" in printed
        assert "note: the structure head (structure_head.*) is not part of EsmForMaskedLM" in printed
        before = (out / "model.safetensors").read_bytes()
        assert main(["export", "utrlm-mini", "--to", "hf", str(out)]) == 2
        assert "utrlm-mini-hf: already exists; pass --overwrite to replace it" in capsys.readouterr().err
        assert main(["export", "utrlm-mini", "--to", "hf", str(out), "--overwrite"]) == 0
    assert (out / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["utrlm-mini-hf"]  # no staging folder or lock left
    note = json.loads((out / "config.json").read_text())["rnalm_export"]
    assert note["source"] == "utrlm-mini" and note["rnalm_version"] == rnalm.__version__


def test_overwrite_never_replaces_what_rnalm_did_not_export_nor_the_input(tiny_lm_dir, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("x")
    assert main(["export", str(tiny_lm_dir), "--to", "hf", str(mine), "--overwrite"]) == 2
    assert "mine: exists and is not a Hugging Face directory rnalm exported" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    assert main(["export", str(tiny_lm_dir), "--to", "hf", str(tiny_lm_dir), "--overwrite"]) == 2
    assert "holds this command's input" in capsys.readouterr().err


def test_onnx_export_prints_size_parameters_and_opset(tiny_lm_dir, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    out = tmp_path / "tiny.onnx"
    assert main(["export", str(tiny_lm_dir), "--to", "onnx", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"{tiny_lm_dir} -> {out}: ") and ", opset " in printed and "max abs difference" in printed
    assert main(["export", str(tiny_lm_dir), "--to", "onnx", str(out)]) == 2
    assert "tiny.onnx: already exists; pass --overwrite to replace it" in capsys.readouterr().err
    theirs = tmp_path / "theirs.onnx"
    theirs.write_bytes(b"a file rnalm did not write")
    assert main(["export", str(tiny_lm_dir), "--to", "onnx", str(theirs), "--overwrite"]) == 2
    assert "theirs.onnx: exists and is not an ONNX file rnalm exported" in capsys.readouterr().err
    assert theirs.read_bytes() == b"a file rnalm did not write"


def test_a_model_transformers_cannot_compute_is_refused_with_the_field_and_the_onnx_option(tmp_path, capsys):
    a = RNA_FM_ALPHABET
    config = EncoderConfig.for_alphabet(
        a, num_layers=1, embed_dim=16, ffn_embed_dim=32, attention_heads=2, max_positions=32, embed_scale=2.0
    )
    src = save_native(RNAEncoder(config).reset_parameters().eval(), a, tmp_path / "scaled")
    assert main(["export", str(src), "--to", "hf", str(tmp_path / "hf")]) == 2
    err = capsys.readouterr().err
    assert "its embed_scale=2.0, but transformers' ESM embeddings are not scaled" in err
    assert "Models that export to Hugging Face: ESM-2, UTR-LM" in err and "--to onnx exports any rnalm model" in err
    assert not (tmp_path / "hf").exists()


@pytest.mark.parametrize("target, module, extra", [("hf", "transformers", "hf"), ("onnx", "onnxscript", "onnx")])
def test_a_missing_extra_names_its_pip_install(target, module, extra, tiny_lm_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, module, None)  # what `import` sees when the package is not installed
    assert main(["export", str(tiny_lm_dir), "--to", target, str(tmp_path / "out")]) == 2
    assert f"pip install 'rnalm[{extra}]'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_other_commands_do_not_import_transformers_or_onnx():
    src = str(Path(rnalm.__file__).resolve().parents[1])
    code = (
        "import sys; import rnalm, rnalm.cli; rnalm.cli.build_parser(); "
        "print(sorted(m for m in ('transformers', 'onnx', 'onnxruntime', 'onnxscript') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": src})
    assert out.stdout.strip() == "[]", out.stderr
