"""The `rnalm embed` command: help, progress, summary, precision choices, exit codes."""

from __future__ import annotations

import numpy as np
import pytest

from rnalm.cli import build_parser, main
from rnalm.embedding import open_embeddings

from .helpers import random_records, write_fasta


def test_help_documents_windows_pooling_and_precision(capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["embed", "--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for phrase in (
        "overlapping by --window-overlap tokens",
        "averages each token's vectors",
        "mean of the windows' <cls> vectors",
        "one row per nucleotide",
        "float16 on GPU only",
        "torchrun",
        "--resume",
    ):
        assert phrase in text, phrase


def test_progress_and_summary(tmp_path, tiny_dir, capsys):
    model_dir, _, _ = tiny_dir
    inp = write_fasta(tmp_path / "in.fa", random_records(12, 5, 90, seed=1))
    out = tmp_path / "out.h5"
    assert main(["embed", "--model", str(model_dir), "--input", str(inp), "--output", str(out)]) == 0
    cap = capsys.readouterr()
    assert "seq/s" in cap.err and "12/12" in cap.err
    assert cap.out.startswith("rnalm embed: embedded 12 of 12 records") and "tok/s" in cap.out
    assert str(out) in cap.out
    # a second run with --resume has nothing to do, and says so
    assert (
        main(["embed", "--model", str(model_dir), "--input", str(inp), "--output", str(out), "--resume", "--quiet"])
        == 0
    )
    cap = capsys.readouterr()
    assert "embedded 0 of 12 records" in cap.out and "12 already complete" in cap.out and cap.err == ""


def test_bfloat16_on_cpu_is_allowed_and_close_to_float32(tmp_path, tiny_dir):
    model_dir, _, _ = tiny_dir
    inp = write_fasta(tmp_path / "in.fa", random_records(6, 5, 50, seed=2))
    args = ["embed", "--model", str(model_dir), "--input", str(inp), "--quiet", "--device", "cpu", "--pool", "mean"]
    assert main([*args, "--output", str(tmp_path / "f32.h5")]) == 0
    assert main([*args, "--output", str(tmp_path / "bf16.h5"), "--dtype", "bf16"]) == 0
    with open_embeddings(tmp_path / "f32.h5") as a, open_embeddings(tmp_path / "bf16.h5") as b:
        assert b.metadata["dtype"] == "bfloat16" and a.metadata["dtype"] == "float32"
        x, y = a.stack("layer_2/mean"), b.stack("layer_2/mean")
        assert y.dtype == np.float32
        np.testing.assert_allclose(y, x, atol=0.1)
        assert not np.array_equal(x, y)


def test_csv_input_with_named_columns(tmp_path, tiny_dir):
    model_dir, _, _ = tiny_dir
    inp = tmp_path / "utrs.tsv"
    inp.write_text("gene\tutr5\nG1\tACGUAC\nG2\tGGGA\n")
    out = tmp_path / "o"
    assert (
        main(
            [
                "embed",
                "--model",
                str(model_dir),
                "--input",
                str(inp),
                "--output",
                str(out),
                "--format",
                "pt",
                "--id-column",
                "gene",
                "--seq-column",
                "utr5",
                "--quiet",
            ]
        )
        == 0
    )
    with open_embeddings(out) as emb:
        assert emb.ids == ["G1", "G2"] and emb.info("G1")["length"] == 6
