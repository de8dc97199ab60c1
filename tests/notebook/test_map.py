"""rnalm.map: DataFrames in, a result of DataFrames out, the same numbers as the command."""

import json

import pandas as pd
import pytest

import rnalm
from rnalm.cli import main
from rnalm.errors import RnalmError


def frame(n=6):
    rows = []
    for label, letters in {"a": "AAAAUUUAGC", "g": "GGGCCCGCAU"}.items():
        for i in range(n):
            seq = "".join(letters[(i * 7 + j * 3) % len(letters)] for j in range(24 + i))
            rows.append({"id": f"{label}{i}", "sequence": seq, "family": label})
    return pd.DataFrame(rows)


def test_map_from_a_dataframe(tiny_lm_dir, tmp_path):
    df = frame()
    res = rnalm.map(df, labels="family", model=tiny_lm_dir, methods=["pca"], folds=3, output=tmp_path / "m")
    assert set(res.classification["representation"]) == {"kmer3", "tiny"}
    assert list(res.coordinates.columns) == ["representation", "method", "id", "label", "x", "y"]
    assert res.coordinates["id"].tolist()[:12] == df["id"].tolist()
    assert json.loads((tmp_path / "m" / "scores.json").read_text()) == json.loads(json.dumps(res.scores))


def test_labels_as_list_or_dict_give_the_same_scores():
    df = frame()
    by_list = rnalm.map(df, labels=df["family"].tolist(), model=[], methods=["pca"], folds=3)
    by_dict = rnalm.map(df, labels=dict(zip(df["id"], df["family"])), model=[], methods=["pca"], folds=3)
    assert by_list.scores == by_dict.scores


def test_same_numbers_as_the_command(tmp_path):
    df = frame()
    path = tmp_path / "x.fasta"
    path.write_text("".join(f">{r.id} fam={r.family}\n{r.sequence}\n" for r in df.itertuples()))
    res = rnalm.map(path, label_field="fam", model=[], methods=["pca"], folds=3)
    assert (
        main(
            [
                "map",
                "-i",
                str(path),
                "--label-field",
                "fam",
                "--no-model",
                "--methods",
                "pca",
                "--folds",
                "3",
                "-o",
                str(tmp_path / "o"),
                "-q",
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "o" / "scores.json").read_text()) == json.loads(json.dumps(res.scores))


def test_label_errors_use_python_names():
    df = frame()
    with pytest.raises(RnalmError, match="labels='famly': no such column"):
        rnalm.map(df, labels="famly", model=[], methods=["pca"])
    with pytest.raises(RnalmError, match="3 labels for 12 records"):
        rnalm.map(df, labels=["a", "g", "a"], model=[], methods=["pca"])
