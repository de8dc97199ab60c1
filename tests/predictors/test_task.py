"""Task predictors: a shipped model's manifest states what the model reads and how its columns are named."""

from __future__ import annotations

import pytest

from rnalm import shipped
from rnalm.predictors import task


@pytest.fixture(autouse=True)
def package_models(monkeypatch):
    monkeypatch.setenv(shipped.ENV_DIR, str(shipped.package_root()))


@pytest.mark.parametrize("alias", ["te", "halflife", "ires", "family", "mrl"])
def test_the_manifest_states_the_window_and_columns_the_model_really_has(alias):
    entry = shipped.task_entry(alias)
    predictor = task.from_shipped(entry, device="cpu", log=lambda _m: None)
    assert entry.window == predictor.window.to_dict() and entry.window_text in entry.card.read_text()
    assert entry.prediction["columns"] == predictor.columns.names
    assert all(f"`{c}`" in entry.card.read_text() for c in entry.prediction["columns"])


def test_shipped_windows_and_column_names():
    got = {
        a: (shipped.task_entry(a).window_text, shipped.task_entry(a).prediction["columns"][0])
        for a in ("te", "halflife", "ires", "family", "mrl")
    }
    assert got == {
        "te": ("the 3'-most 100 nt", "te_log"),
        "halflife": ("up to 160 nt (longer inputs are not scored)", "halflife"),
        "ires": ("the 5'-most 1,020 nt", "ires_probability"),
        "family": ("the 5'-most 1,020 nt", "family"),
        "mrl": ("the 3'-most 50 nt", "mrl"),
    }


def test_predict_gives_named_rows_and_notes_what_it_could_not_score():
    te = task.from_shipped(shipped.task_entry("te"), device="cpu", log=lambda _m: None)
    rows = te.predict([("a", "ACGUACGUAGGAGCGC"), ("b", "ACGU*"), ("c", "A" * 150)])
    assert [r["id"] for r in rows] == ["a", "b", "c"] and list(rows[0]) == [
        "id",
        "te_log",
        "te_log_std",
        "length",
        "read",
        "note",
    ]
    assert isinstance(rows[0]["te_log"], float) and rows[1]["te_log"] is None
    assert rows[1]["note"].startswith("not scored: invalid letter '*' at position 5")
    assert (rows[2]["length"], rows[2]["read"], rows[2]["note"]) == (150, 100, "read the 3'-most 100 of 150 nt")
