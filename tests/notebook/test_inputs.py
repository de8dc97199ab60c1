import pandas as pd
import pytest

from rnalm.errors import RnalmError
from rnalm.notebook.inputs import as_records


def test_a_list_of_sequences_gets_numbered_ids():
    got = as_records(["ACGU", "GGCC"])
    assert [(r.id, r.seq) for r in got.records] == [("seq_1", "ACGU"), ("seq_2", "GGCC")]
    assert list(got.frame.columns) == ["id", "sequence"]


def test_pairs_dicts_and_one_string():
    assert [r.id for r in as_records([("a", "ACG"), ("b", "UUU")]).records] == ["a", "b"]
    assert [r.id for r in as_records({"x": "ACG"}).records] == ["x"]
    assert [r.seq for r in as_records("ACGU").records] == ["ACGU"]


def test_a_dataframe_keeps_its_columns_and_names_ids_by_column_or_index():
    df = pd.DataFrame({"name": ["u1", "u2"], "utr": ["ACGU", "GGG"], "te": [1.0, 2.0]})
    got = as_records(df)
    assert [r.id for r in got.records] == ["u1", "u2"]
    assert list(got.frame.columns) == ["name", "utr", "te"]
    indexed = pd.DataFrame({"seq": ["ACG", "UUU"]}, index=["p", "q"])
    assert [r.id for r in as_records(indexed).records] == ["p", "q"]


def test_a_dataframe_without_a_sequence_column_names_the_keyword():
    with pytest.raises(RnalmError, match="seq_column="):
        as_records(pd.DataFrame({"x": ["ACG"]}))


def test_a_file_is_read_with_the_cli_ids(tmp_path):
    f = tmp_path / "lamar.csv"
    f.write_text("seq,label\nACGU,-0.46\nGGCC,0.1\n")
    assert [r.id for r in as_records(f).records] == ["lamar_1", "lamar_2"]
    with pytest.raises(RnalmError, match="no such file"):
        as_records(str(tmp_path / "missing.fa"))


def test_duplicate_ids_are_refused():
    with pytest.raises(RnalmError, match="duplicate|twice|again"):
        as_records([("a", "ACG"), ("a", "UUU")])
