"""`rnalm demo` on the bundled examples when no model is shipped (tests/conftest.py hides the package's
own: the demo must degrade clearly), and with a language model given by path. With shipped models:
tests/shipped/test_cli.py."""

import csv
from pathlib import Path

import numpy as np
import pytest

from rnalm.cli import main
from rnalm.io.native import save_native

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "example.fasta"


def test_demo_without_shipped_models_says_what_is_missing(tmp_path, capsys):
    pytest.importorskip("RNA", reason="ViennaRNA is not installed")
    assert main(["demo", "--input", str(EXAMPLES), "--output", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    for alias in ("te", "halflife", "ires", "family"):
        assert f"no shipped task model '{alias}'" in err
    assert "no shipped structure model" in err
    rows = list(csv.DictReader(open(tmp_path / "out" / "predictions.tsv"), delimiter="\t"))
    n = sum(1 for line in EXAMPLES.read_text().splitlines() if line.startswith(">"))
    assert len(rows) == n and list(rows[0])[:4] == ["id", "type", "length", "relevant_task"]
    assert {r["type"]: r["relevant_task"] for r in rows}["5UTR"] == "te"
    for row in rows:
        assert len(row["vienna_dot_bracket"]) == int(row["length"]) and row["te"] == ""
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Not available in this installation" in html and "embeddings skipped" in html
    assert "arc diagram" in html and "ViennaRNA" in html
    assert len(list((tmp_path / "out" / "structures" / "vienna").glob("*.arc.png"))) == n


def test_demo_with_model_adds_embeddings(tmp_path, tiny_rnafm):
    model, alphabet = tiny_rnafm
    model.config.max_positions = 64
    save_native(model, alphabet, tmp_path / "m")
    fasta = tmp_path / "x.fa"
    fasta.write_text(">a type=5UTR\nACGTACGTAGGA\n>b type=ncRNA\nGGGGAAACCCC\n")
    assert (
        main(
            [
                "demo",
                "--input",
                str(fasta),
                "--output",
                str(tmp_path / "out"),
                "--model",
                str(tmp_path / "m"),
                "--no-vienna",
            ]
        )
        == 0
    )
    emb = np.load(tmp_path / "out" / "embeddings.npy")
    assert emb.shape == (2, model.embed_dim)
    assert "Cosine similarity" in (tmp_path / "out" / "report.html").read_text()
