"""`rnalm demo` on the examples installed with rnalm when no model is shipped (tests/conftest.py hides
the package's own: the demo must degrade clearly), with a language model given by path, and with the
package's own structure model on a record longer than it reads. More with shipped models:
tests/shipped/test_cli.py."""

import csv
from html import unescape

import numpy as np
import pytest

from rnalm import examples, shipped
from rnalm.cli import main
from rnalm.io.native import save_native
from rnalm.predictors import fold as fold_predictors

EXAMPLES = examples.path()


def test_demo_reads_the_installed_examples_from_any_directory_and_says_what_is_missing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no examples/ here: the default input is the copy inside the package
    assert main(["demo", "-o", "out"]) == 0
    err = capsys.readouterr().err
    assert f"records from {EXAMPLES}" in err
    for alias in ("te", "halflife", "ires", "family", "mrl"):
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


def test_demo_shows_every_record_when_one_is_too_long_for_the_structure_model(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(shipped.ENV_DIR, str(shipped.package_root()))  # the models this package ships
    entry = shipped.structure_entry()
    if entry is None:
        pytest.skip("this package ships no structure model")
    limit = fold_predictors.from_shipped(entry).window
    assert limit is not None, f"{entry.name}: a shipped structure model reads a bounded length"
    fasta = tmp_path / "x.fa"
    long = "ACGUUGCA" * (limit // 8 + 1)
    fasta.write_text(f">short type=tRNA\nGGGGAAAACCCCAUGCGGGAAACCGC\n>long type=3UTR\n{long}\n")
    assert main(["demo", "-i", str(fasta), "-o", str(tmp_path / "out"), "--no-vienna"]) == 0
    rows = {r["id"]: r for r in csv.DictReader(open(tmp_path / "out" / "predictions.tsv"), delimiter="\t")}
    assert len(rows["short"]["rnalm_dot_bracket"]) == 26  # folded by the model despite the long record
    # past the model's window the record is folded by ViennaRNA, as `rnalm fold` does, and says so
    assert len(rows["long"]["rnalm_dot_bracket"]) == len(long)
    assert f"longer than the model's {limit} nt: ViennaRNA MFE" in rows["long"]["notes"]
    assert rows["short"]["notes"] == ""
    html = unescape((tmp_path / "out" / "report.html").read_text())
    assert f"longer than the model's {limit} nt: ViennaRNA MFE" in html
    assert f"record 'long': longer than the model's {limit} nt" in capsys.readouterr().err


def test_demo_never_replaces_a_folder_it_did_not_write(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(shipped.ENV_DIR, str(tmp_path / "no-models"))  # fast: nothing shipped
    fasta = tmp_path / "x.fa"
    fasta.write_text(">a\nGGGGAAAACCCC\n")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    assert main(["demo", "-i", str(fasta), "-o", str(mine), "--no-vienna", "-q"]) == 2
    assert main(["demo", "-i", str(fasta), "-o", str(mine), "--no-vienna", "-q", "--overwrite"]) == 2
    assert (mine / "notes.txt").read_text() == "keep"
    out = tmp_path / "out"
    assert main(["demo", "-i", str(fasta), "-o", str(out), "--no-vienna", "-q"]) == 0
    assert main(["demo", "-i", str(fasta), "-o", str(out), "--no-vienna", "-q"]) == 2  # exists: --overwrite
    assert "--overwrite" in capsys.readouterr().err
    assert main(["demo", "-i", str(fasta), "-o", str(out), "--no-vienna", "-q", "--overwrite"]) == 0
    assert (out / "report.html").is_file()


def test_demo_computes_in_the_asked_dtype(tmp_path, monkeypatch, capsys):
    """``--dtype`` reaches the report's models: it is named in the first line, and the embeddings in
    bfloat16 differ from float32's in the last bits only."""
    monkeypatch.setenv(shipped.ENV_DIR, str(shipped.package_root()))
    fasta = tmp_path / "x.fa"
    fasta.write_text(">u1 type=5UTR\nGGGACAUUUGCUUCUGACACAACUGUGUUCACUAGCAACCUCAAACAGACACC\n>u2\nACGUACGUAGCUAGCAUG\n")
    emb = {}
    for dtype in ("float32", "bfloat16"):
        out = tmp_path / dtype
        assert main(["demo", "-i", str(fasta), "-o", str(out), "--no-vienna", "--dtype", dtype]) == 0
        assert f"models compute in {dtype} (asked" in capsys.readouterr().err
        emb[dtype] = np.load(out / "embeddings.npy")
    assert emb["float32"].shape == emb["bfloat16"].shape and not np.array_equal(emb["float32"], emb["bfloat16"])
    assert np.allclose(emb["float32"], emb["bfloat16"], atol=0.1)
