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
    res = StructureResult("rnalm", "a 50-nt model", tmp_path / "model")
    vienna = fold_predictors.vienna(bpp=False)

    def at_most_50_nt(batch):  # what a learned model does past its backbone's length
        if any(len(seq) > 50 for _, seq in batch):
            raise RnalmError("a sequence is longer than the run's backbone accepts (50 nt)")
        return vienna(batch)

    model = fold_predictors.FoldPredictor("a 50-nt model", at_most_50_nt, method="run", window=50)
    fold(res, model, records)
    assert sorted(res.rows) == ["a", "b", "long"]  # the long one through ViennaRNA, as `rnalm fold` does
    assert res.rows["long"]["method"] == "vienna" and res.rows["a"]["method"] == "run"
    assert list(res.notes) == ["long"] and "longer than the model's 50 nt" in res.notes["long"]
    assert res.dbn["b"] == "((((....))))" and res.rows["b"]["energy"]
    assert (tmp_path / "model" / "a.dbn").is_file() and (tmp_path / "model" / "long.dbn").is_file()


def test_a_record_the_predictor_refuses_is_noted_alone(tmp_path):
    records = [Rec("bad", "ACGU-XYZ"), Rec("ok", "GGGGAAAACCCC")]
    res = StructureResult("vienna", "ViennaRNA (MFE)", tmp_path / "vienna")
    fold(res, fold_predictors.vienna(bpp=False), records)
    assert list(res.rows) == ["ok"] and "invalid character '-' at position 5" in res.notes["bad"]


def test_ids_are_turned_into_file_names_as_every_command_does(tmp_path):
    records = [Rec("x/1", "GGGGAAAACCCC"), Rec("x_1", "GGGGAAAACCCC")]
    res = StructureResult("vienna", "ViennaRNA (MFE)", tmp_path / "vienna")
    fold(res, fold_predictors.vienna(bpp=False), records)
    assert [res.rows[r.id]["file"] for r in records] == ["x%2F1", "x_1"]
    assert len(list((tmp_path / "vienna").glob("*.dbn"))) == 2
