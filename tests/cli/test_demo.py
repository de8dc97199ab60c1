"""`rnalm demo` on the bundled examples, with and without a language model."""
from pathlib import Path

from rnalm.cli import main
from rnalm.io.native import save_native

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "example.fasta"


def test_demo_writes_report_without_model(tmp_path):
    assert main(["demo", "--input", str(EXAMPLES), "--output", str(tmp_path / "out")]) == 0
    rows = (tmp_path / "out" / "predictions.tsv").read_text().splitlines()
    n = sum(1 for line in EXAMPLES.read_text().splitlines() if line.startswith(">"))
    assert len(rows) == n + 1 and rows[0].startswith("id\ttype\tlength\tmfe_kcal_mol")
    for row in rows[1:]:
        fields = row.split("\t")
        assert len(fields[5]) == int(fields[2])  # one dot-bracket character per nucleotide
    html = (tmp_path / "out" / "report.html").read_text()
    assert "arc diagram" in html and "embeddings skipped" in html
    assert len(list((tmp_path / "out" / "structures").glob("*.arc.png"))) == n


def test_demo_with_model_adds_embeddings(tmp_path, tiny_rnafm):
    model, alphabet = tiny_rnafm
    model.config.max_positions = 64
    save_native(model, alphabet, tmp_path / "m")
    fasta = tmp_path / "x.fa"
    fasta.write_text(">a type=5UTR\nACGTACGTAGGA\n>b type=ncRNA\nGGGGAAACCCC\n")
    assert main(["demo", "--input", str(fasta), "--output", str(tmp_path / "out"), "--model", str(tmp_path / "m")]) == 0
    import numpy as np
    emb = np.load(tmp_path / "out" / "embeddings.npy")
    assert emb.shape == (2, model.embed_dim)
    assert "Cosine similarity" in (tmp_path / "out" / "report.html").read_text()
