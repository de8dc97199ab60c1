"""The `rnalm embed` command: help, progress, summary, precision choices, exit codes."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rnalm.cli import build_parser, main
from rnalm.embedding import open_embeddings, read_matrix

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


def test_progress_bar_on_request_and_closing_line_with_rate_and_output(tmp_path, tiny_dir, capsys):
    model_dir, _, _ = tiny_dir
    inp = write_fasta(tmp_path / "in.fa", random_records(12, 5, 90, seed=1))
    out = tmp_path / "out.h5"
    args = ["embed", "--model", str(model_dir), "-i", str(inp), "-o", str(out)]
    assert main([*args, "--progress"]) == 0
    cap = capsys.readouterr()
    assert "12/12" in cap.err and "tok/s" in cap.err  # the bar, forced although stderr is not a terminal
    last = cap.err.strip().splitlines()[-1]
    assert re.fullmatch(
        rf"rnalm embed: 12 records in \d+\.\d s \(\d+\.\d records/s\) -> {re.escape(str(out))}; "
        r"float32 \(auto: CPU lacks amx_bf16 and avx512_bf16\)",
        last,
    )
    assert cap.out == ""
    # a second run with --resume has nothing to do, and says so; no bar when stderr is not a terminal
    assert main([*args, "--resume"]) == 0
    err = capsys.readouterr().err
    assert "12/12" not in err and "0 records in" in err and "12 of 12 already complete" in err
    # -q: nothing at all
    assert main([*args, "--resume", "-q"]) == 0
    assert capsys.readouterr() == ("", "")


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
                "--output-format",
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


def test_embed_has_no_format_flag_its_output_format_is_output_format_and_input_format_reads(tmp_path):
    parser = build_parser()
    embed_flags = {s for a in parser._subparsers._group_actions[0].choices["embed"]._actions for s in a.option_strings}
    assert "--format" not in embed_flags
    assert {"--input-format", "--output-format", "-i", "-o", "--overwrite", "--resume", "--device", "-q"} <= embed_flags
    args = parser.parse_args(["embed", "-i", "x.csv", "-o", "y", "--input-format", "csv", "--output-format", "npy"])
    assert (args.input_format, args.output_format) == ("csv", "npy")


def test_table_without_id_column_gets_row_ids_and_a_slash_in_an_id_is_escaped(tmp_path, tiny_dir):
    model_dir, _, _ = tiny_dir
    table = tmp_path / "lamar.csv"
    table.write_text("seq,label\nACGUAC,-0.4621123499222085\nGGGA,1.5\n")
    out = tmp_path / "t.h5"
    assert main(["embed", "--model", str(model_dir), "-i", str(table), "-o", str(out), "-q"]) == 0
    assert read_matrix(out)[0] == ["lamar_1", "lamar_2"]
    fasta = write_fasta(tmp_path / "odd.fa", [("a/b", "ACGU"), ("c", "GGC")])
    out = tmp_path / "odd"
    assert (
        main(["embed", "--model", str(model_dir), "-i", str(fasta), "-o", str(out), "--output-format", "npy", "-q"])
        == 0
    )
    assert (out / "mean_representations" / "a%2Fb.npy").is_file()
    assert read_matrix(out)[0] == ["a/b", "c"]
