"""rnalm.predict: sequences or a DataFrame in, the same rows as `rnalm predict` out, as a DataFrame."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

import rnalm
from rnalm import shipped
from rnalm.cli import main

UTR = "GGGACAUUUGCUUCUGACACAACUGUGUUCACUAGC"


@pytest.fixture(autouse=True)
def package_models(monkeypatch):
    monkeypatch.setenv(shipped.ENV_DIR, str(shipped.package_root()))


def test_a_dataframe_comes_back_with_its_columns_and_index_and_the_predictions():
    df = pd.DataFrame({"gene": ["ACTB", "GAPDH"], "utr": [UTR, "ACGU" * 300]}, index=["r1", "r2"])
    out = rnalm.predict(df, task="te", seq_column="utr", progress=False)
    assert list(out.columns) == ["gene", "utr", "te_log", "te_log_std", "length", "read", "note"]
    assert list(out.index) == ["r1", "r2"] and list(out["gene"]) == ["ACTB", "GAPDH"]
    assert out["te_log"].dtype == float and list(out["length"]) == [len(UTR), 1200]
    assert list(out["note"]) == ["", "read the 3'-most 100 of 1,200 nt"]
    assert list(df.columns) == ["gene", "utr"]  # the caller's frame is left alone


def test_sequences_in_give_the_rows_the_command_line_writes(tmp_path, capsys):
    fa = tmp_path / "x.fa"
    fa.write_text(f">a\n{UTR}\n>b\nACGU*A\n")
    assert main(["predict", "--task", "ires", "-i", str(fa), "-o", str(tmp_path / "o.csv"), "-q"]) == 0
    cli = list(csv.DictReader(open(tmp_path / "o.csv")))
    out = rnalm.predict([("a", UTR), ("b", "ACGU*A")], task="ires", progress=False)
    assert list(out.columns) == ["id", "sequence", "ires_probability", "length", "read", "note"]
    assert [f"{v:.6g}" for v in out["ires_probability"]] == [r["ires_probability"] for r in cli]
    assert list(out["note"]) == [r["note"] for r in cli]
    from_file = rnalm.predict(str(fa), task="ires", progress=False)
    assert from_file.drop(columns="ires_probability").equals(out.drop(columns="ires_probability"))


def test_a_csv_path_keeps_its_columns_and_gets_the_ids_every_command_gives_it(tmp_path):
    p = tmp_path / "lamar.csv"
    p.write_text(f"seq,label\n{UTR},0.5\nACGUACGU,0.1\n")
    out = rnalm.predict(p, task="halflife", progress=False)
    assert list(out.columns) == ["id", "seq", "label", "halflife", "halflife_std", "length", "read", "note"]
    assert list(out["id"]) == ["lamar_1", "lamar_2"] and list(out["label"]) == ["0.5", "0.1"]


def test_strict_and_the_choice_of_model_are_errors_in_python_spelling():
    with pytest.raises(rnalm.RnalmError, match="invalid letter '\\*' at position 5; pass unknown='mask'.*strict="):
        rnalm.predict(["ACGU*"], task="te", strict=True, progress=False)
    with pytest.raises(rnalm.RnalmError, match="task= .* or run="):
        rnalm.predict(["ACGU"])


def test_progress_shows_a_bar_and_the_closing_line_when_asked(capsys):
    rnalm.predict([UTR, "ACGU*"], task="te", progress=True)
    err = capsys.readouterr().err
    assert "2 records in" in err and "1 with notes (1 not scored)" in err
    rnalm.predict([UTR], task="te", progress=False)
    assert capsys.readouterr().err == ""
