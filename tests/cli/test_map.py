"""`rnalm map` end to end: the files it writes, identical reruns, label errors naming the flag, the output guard."""

import json
import sys
from pathlib import Path

import pytest

from rnalm.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
from data import labelled, write_csv, write_fasta  # noqa: E402


def run_map(inp, out, *extra, methods="pca,tsne"):
    return main(["map", "-i", str(inp), "-o", str(out), "--methods", methods, "--folds", "4", "-q", *extra])


@pytest.fixture
def fasta(tmp_path):
    path = tmp_path / "set.fasta"
    write_fasta(path, labelled(8))
    return path


def test_map_writes_figures_scores_and_coordinates(tmp_path, fasta, tiny_lm_dir):
    out = tmp_path / "out"
    assert run_map(fasta, out, "--label-field", "type", "--model", str(tiny_lm_dir)) == 0
    for rep in ("kmer3", "tiny"):
        for method in ("pca", "tsne"):
            assert (out / f"map_{method}_{rep}.png").stat().st_size > 1000
            assert "<svg" in (out / f"map_{method}_{rep}.html").read_text()
        for clf in ("logreg", "knn"):
            assert (out / f"confusion_{rep}_{clf}.png").is_file()
    scores = json.loads((out / "scores.json").read_text())
    for rep in ("kmer3", "tiny"):
        s = scores["representations"][rep]
        assert {"ari", "nmi", "silhouette"} <= set(s["kmeans"]) and {"ari", "nmi", "silhouette"} <= set(s["hdbscan"])
        assert {"accuracy", "macro_f1", "accuracy_folds"} <= set(s["logreg"]) and len(s["knn"]["macro_f1_folds"]) == 4
    assert scores["settings"]["labels"] == ["au_rich", "gc_rich", "mixed"]
    lines = (out / "coordinates.csv").read_text().splitlines()
    assert lines[0] == "representation,method,id,label,x,y" and len(lines) == 1 + 2 * 2 * 24


def test_rerun_gives_identical_scores_and_coordinates(tmp_path, fasta):
    for name in ("a", "b"):
        assert run_map(fasta, tmp_path / name, "--label-field", "type", "--no-model", "--seed", "7") == 0
    for f in ("scores.json", "coordinates.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()


def test_csv_label_column_and_a_bad_one(tmp_path, capsys):
    path = tmp_path / "set.csv"
    write_csv(path, labelled(8))
    assert run_map(path, tmp_path / "ok", "--label-column", "family", "--no-model") == 0
    assert run_map(path, tmp_path / "bad", "--label-column", "famly", "--no-model") == 2
    err = capsys.readouterr().err
    assert "no column 'famly' for --label-column" in err and not (tmp_path / "bad").exists()


def test_label_field_on_a_table_points_to_label_column(tmp_path, capsys):
    path = tmp_path / "set.csv"
    write_csv(path, labelled(8))
    assert run_map(path, tmp_path / "o", "--label-field", "1", "--no-model") == 2
    assert "--label-column" in capsys.readouterr().err


def test_output_guard(tmp_path, fasta, capsys):
    out = tmp_path / "out"
    assert run_map(fasta, out, "--label-field", "type", "--no-model", methods="pca") == 0
    assert run_map(fasta, out, "--label-field", "type", "--no-model", methods="pca") == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert run_map(fasta, out, "--label-field", "type", "--no-model", "--overwrite", methods="pca") == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    assert run_map(fasta, other, "--label-field", "type", "--no-model", "--overwrite", methods="pca") == 2
    assert (other / "keep.txt").read_text() == "mine"


def test_default_model_is_the_shipped_backbone(tmp_path, fasta, monkeypatch, capsys):
    from rnalm import shipped

    monkeypatch.delenv(shipped.ENV_DIR)
    assert (
        main(
            [
                "map",
                "-i",
                str(fasta),
                "-o",
                str(tmp_path / "o"),
                "--label-field",
                "type",
                "--methods",
                "pca",
                "--folds",
                "4",
            ]
        )
        == 0
    )
    assert "model utrlm-mini (shipped with rnalm)" in capsys.readouterr().err
    scores = json.loads((tmp_path / "o" / "scores.json").read_text())
    assert set(scores["representations"]) == {"kmer3", "utrlm-mini"}
