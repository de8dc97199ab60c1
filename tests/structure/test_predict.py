"""The fold engine without the CLI: letters, routing of long records, predictors, the folder writer."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from rnalm.errors import RnalmError
from rnalm.structure.checks import check_sequence, unknown_letter
from rnalm.structure.folding import FoldPolicy, fold, precheck
from rnalm.structure.predict import FoldInputError, PostprocessOptions, fold_records, model_predictor


def test_letters_folding_reads_and_what_unknown_replaces_them_with():
    assert check_sequence("r", "acg tN\nu") == "ACGUNU"
    with pytest.raises(FoldInputError, match=r"record 'r': invalid character 'R' at position 2.*unknown='N'"):
        check_sequence("r", "ARN")
    assert check_sequence("r", "AR-N", unknown="mask") == "ANNN"
    assert check_sequence("r", "AR-N", unknown="g") == "AGGN"
    with pytest.raises(FoldInputError, match="record 'r': empty sequence"):
        check_sequence("r", " \n")
    assert unknown_letter("unk") == "N" and unknown_letter(None) is None
    with pytest.raises(RnalmError, match=r"unknown= must be N \(or mask / unk"):
        unknown_letter("R")


def test_missing_vienna_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "RNA", None)  # makes `import RNA` fail
    from rnalm.structure.predict import vienna_predictor

    with pytest.raises(RnalmError, match="reinstall rnalm"):
        vienna_predictor()


def test_model_predictor_checks_maps_and_applies_options(tmp_path):
    bad = model_predictor(lambda seqs: [np.zeros((2, 2))] * len(seqs))
    with pytest.raises(RuntimeError, match=r"shape \(2, 2\) for 6 nt"):
        bad([("a", "GAAAAC")])
    p = np.zeros((6, 6), dtype=np.float32)
    p[0, 5] = p[5, 0] = 0.4
    pred = model_predictor(lambda seqs: [p] * len(seqs), PostprocessOptions(threshold=0.3))
    assert pred([("a", "GAAAAC")])[0].structure.pairs == ((0, 5),)
    with pytest.raises(RnalmError, match="one-partner method"):
        PostprocessOptions(one_partner="best")


class Windowed:
    """A predictor reading at most 8 nt that pairs the ends of what it gets."""

    method, window = "run", 8

    def __init__(self):
        self.seen = []

    def __call__(self, batch):
        self.seen += [rid for rid, _ in batch]
        return model_predictor(lambda seqs: [_ends(len(s)) for s in seqs], PostprocessOptions(threshold=0.3))(batch)


def _ends(n):
    p = np.zeros((n, n), dtype=np.float32)
    p[0, -1] = p[-1, 0] = 0.9
    return p


def test_records_past_the_window_go_to_vienna_in_input_order():
    pytest.importorskip("RNA")
    model = Windowed()
    records = [("a", "GAAAAC"), ("long", "GGGGAAAACCCC"), ("x", "GAXAAC"), ("b", "CAAAAG")]
    done = list(fold(records, model, FoldPolicy(), batch_size=4))
    assert model.seen == ["a", "b"]
    assert [(d.id, d.method, d.structure) for d in done] == [
        ("a", "run", "(....)"),
        ("long", "vienna", "((((....))))"),
        ("x", "", ""),
        ("b", "run", "(....)"),
    ]
    assert done[1].note == "longer than the model's 8 nt: ViennaRNA MFE" and done[1].energy == pytest.approx(-5.4)
    assert done[2].length == 6 and done[2].pairs is None and done[2].note.startswith("invalid character 'X'")
    assert done[0].row()["energy"] == "4.50"  # ViennaRNA's energy of the model's structure
    with pytest.raises(FoldInputError, match="record 'x': invalid character"):
        precheck(records, model, FoldPolicy(strict=True))
    precheck(records, model, FoldPolicy())  # without --strict nothing stops the file


def test_policy_checks_its_options():
    with pytest.raises(RnalmError, match=r"long= must be one of vienna, skip, error"):
        FoldPolicy(long="windows")
    with pytest.raises(RnalmError, match=r"max_length= must be positive"):
        FoldPolicy(max_length=0)


def test_fold_records_writes_every_file_by_default_and_a_row_per_record(tmp_path):
    pytest.importorskip("RNA")
    rows = fold_records([("a", "GAAAAC"), ("x", "GAXAAC"), ("l", "GGGGAAAACCCC")], Windowed(), tmp_path / "o")
    assert [(r["id"], r["file"], r["method"]) for r in rows] == [
        ("a", "a", "run"),
        ("x", "x", ""),
        ("l", "l", "vienna"),
    ]
    names = sorted(p.name for p in (tmp_path / "o").iterdir())
    assert names == sorted([f"{s}.{k}" for s in "al" for k in ("ct", "bpseq", "dbn", "npy")] + ["summary.tsv"])
    with pytest.raises(FoldInputError, match="no records"):
        fold_records([], Windowed(), tmp_path / "o2")
