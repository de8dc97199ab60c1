"""The demo folds record by record: a record too long for a model, or one it refuses, is noted for
that record only, and every other record is folded and written as usual."""

from __future__ import annotations

from dataclasses import dataclass

from rnalm.errors import RnalmError
from rnalm.predictors import fold as fold_predictors
from rnalm.report.gather import fold
from rnalm.report.results import StructureResult


@dataclass
class Rec:
    id: str
    seq: str
    description: str = ""


def test_one_long_record_does_not_empty_the_structure_column(tmp_path):
    records = [Rec("a", "GGGGAAAACCCC"), Rec("long", "GGGGAAAACCCC" * 5), Rec("b", "GCGCUUCGGCGC")]
    res = StructureResult("vienna", "ViennaRNA (MFE)", tmp_path / "vienna")
    vienna = fold_predictors.vienna(bpp=False)

    def at_most_50_nt(batch):  # what a learned model does past its backbone's length
        if any(len(seq) > 50 for _, seq in batch):
            raise RnalmError("a sequence is longer than the run's backbone accepts (50 nt)")
        return vienna(batch)

    fold(res, at_most_50_nt, records, limit=50)
    assert sorted(res.rows) == ["a", "b"] and res.notes == {"long": "too long for the model (60 nt > 50 nt)"}
    assert res.dbn["b"] == "((((....))))" and res.rows["b"]["energy"]
    assert (tmp_path / "vienna" / "a.dbn").is_file() and not (tmp_path / "vienna" / "long.dbn").exists()


def test_a_record_the_predictor_refuses_is_noted_alone(tmp_path):
    records = [Rec("bad", "ACGU-XYZ"), Rec("ok", "GGGGAAAACCCC")]
    res = StructureResult("vienna", "ViennaRNA (MFE)", tmp_path / "vienna")
    fold(res, fold_predictors.vienna(bpp=False), records)
    assert list(res.rows) == ["ok"] and "invalid character '-' at position 5" in res.notes["bad"]


def test_ids_that_read_the_same_as_file_names_get_distinct_files(tmp_path):
    records = [Rec("x/1", "GGGGAAAACCCC"), Rec("x_1", "GGGGAAAACCCC"), Rec("X_1", "GGGGAAAACCCC")]
    res = StructureResult("vienna", "ViennaRNA (MFE)", tmp_path / "vienna")
    fold(res, fold_predictors.vienna(bpp=False), records)
    assert [res.rows[r.id]["file"] for r in records] == ["x_1", "x_1-2", "X_1-3"]
    assert len(list((tmp_path / "vienna").glob("*.dbn"))) == 3
