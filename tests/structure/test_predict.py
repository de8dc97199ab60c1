"""The fold engine without the CLI: validation, file names, predictors."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from rnalm.errors import RnalmError
from rnalm.structure.predict import (
    FoldInputError,
    PostprocessOptions,
    check_sequence,
    fold_records,
    model_predictor,
    safe_stem,
)


def test_check_sequence():
    assert check_sequence("r", "acg tN\nu") == "ACGUNU"
    with pytest.raises(FoldInputError, match=r"record 'r': invalid character 'R' at position 2"):
        check_sequence("r", "ARN")
    with pytest.raises(FoldInputError, match="record 'r': empty sequence"):
        check_sequence("r", " \n")
    with pytest.raises(FoldInputError, match="5 nt is longer than the maximum length 4"):
        check_sequence("r", "ACGUA", max_length=4)


def test_safe_stem():
    assert safe_stem("chr1:100-200(+)") == "chr1_100-200___"
    assert safe_stem("../x") == "_x"
    assert safe_stem("...") == "record"


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
    pred = model_predictor(lambda seqs: [p], PostprocessOptions(threshold=0.3))
    assert pred([("a", "GAAAAC")])[0].structure.pairs == ((0, 5),)
    seen = []
    rows = fold_records([("a", "GAAAAC")], pred, tmp_path / "o", progress=lambda d, t: seen.append((d, t)))
    assert rows[0]["pairs"] == 1 and seen == [(1, 1)]
    with pytest.raises(RnalmError, match="one-partner method"):
        PostprocessOptions(one_partner="best")
    with pytest.raises(FoldInputError, match="no records"):
        fold_records([], pred, tmp_path / "o2")
