"""``rnalm.fold``: sequences or a DataFrame in, the same rows as ``rnalm fold`` out, as a DataFrame."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rnalm
from rnalm.errors import RnalmError
from rnalm.notebook import fold as notebook_fold
from rnalm.runs.structure_model import RunModel

pytest.importorskip("RNA")


def test_a_dataframe_comes_back_with_its_columns_and_the_structure_columns():
    df = pd.DataFrame({"name": ["hp", "bad"], "seq": ["GGGGAAAACCCC", "GGGXAAACCC"], "te": [1.5, 2.5]}, index=[10, 20])
    out = rnalm.fold(df, model="vienna", seq_column="seq", id_column="name")
    assert list(out.columns) == ["name", "seq", "te", "length", "method", "structure", "pairs", "energy", "note"]
    assert list(out.index) == [10, 20] and list(out["te"]) == [1.5, 2.5]
    assert out.loc[10, "structure"] == "((((....))))" and out.loc[10, "energy"] == pytest.approx(-5.4)
    assert out.loc[10, "pairs"] == 4 and pd.isna(out.loc[20, "pairs"]) and np.isnan(out.loc[20, "energy"])
    assert out.loc[20, "note"].startswith("invalid character 'X' at position 4")
    assert "unknown='N'" in out.loc[20, "note"]  # options spelled as this function takes them


def test_probabilities_are_one_array_per_record():
    out = rnalm.fold({"a": "GGGGAAAACCCC", "b": "GGGAAACCC"}, model="vienna", probabilities=True)
    assert [p.shape for p in out["probabilities"]] == [(12, 12), (9, 9)]
    assert out["probabilities"][0][0, 11] > 0.5


def test_strict_raises_and_names_python_keywords():
    with pytest.raises(RnalmError, match=r"record 'seq_2': invalid character 'X'.*unknown='N'"):
        rnalm.fold(["GGGGAAAACCCC", "GGGXAAACCC"], model="vienna", strict=True)
    with pytest.raises(RnalmError, match=r"long= must be one of vienna, skip, error"):
        rnalm.fold(["GGGGAAAACCCC"], model="vienna", long="windows")
    with pytest.raises(RnalmError, match=r"threshold= apply to probability-map predictors; model='vienna'"):
        rnalm.fold(["GGGGAAAACCCC"], model="vienna", threshold=0.3)


def test_records_past_the_models_window_are_folded_by_vienna(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run_info.json").write_text(json.dumps({"task": "structure"}))

    class Ends:
        limit = 8

        def __call__(self, seqs):
            maps = [np.zeros((len(s), len(s)), dtype=np.float32) for s in seqs]
            for m in maps:
                m[0, -1] = m[-1, 0] = 0.9
            return maps

    monkeypatch.setattr(
        RunModel, "load", classmethod(lambda cls, d, device=None, **_kw: Ends() if Path(d) == run else None)
    )
    out = rnalm.fold(["GAAAAC", "GGGGAAAACCCC"], model=run)
    assert list(out["method"]) == ["run", "vienna"]
    assert list(out["note"]) == ["", "longer than the model's 8 nt: ViennaRNA MFE"]


def test_the_docstring_example_runs():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(notebook_fold.fold, "fold", globs={}):
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_every_predictor_of_the_table_is_named_as_on_the_command_line(structure_files, monkeypatch):
    monkeypatch.setenv("RNALM_HOME", str(structure_files.home))
    monkeypatch.setenv("RNALM_OFFLINE", "1")
    seqs = {"hp": "GGGGAAAACCCC", "long": "GGGGAAAACCCC" * 3}
    by_name = rnalm.fold(seqs, model="protrna-ss-head", backbone=str(structure_files.protrna_backbone))
    by_path = rnalm.fold(seqs, model=structure_files.protrna_head, backbone=str(structure_files.protrna_backbone))
    pd.testing.assert_frame_equal(by_name, by_path)
    assert list(by_name["method"]) == ["protrna-ss-head", "vienna"]
    assert by_name["note"][1] == "longer than the model's 20 nt: ViennaRNA MFE"
    fm = rnalm.fold(seqs, model="rna-fm-ss-resnet", threshold=1.0, probabilities=True)
    assert list(fm["method"]) == ["rna-fm-ss-resnet", "vienna"] and fm["pairs"][0] == 0  # 36 nt > 30
    assert [p.shape for p in fm["probabilities"]] == [(12, 12), (36, 36)]
    for name in ("vienna-mea", "vienna-bpp"):
        assert rnalm.fold(seqs, model=name)["structure"][0] == "((((....))))"
    with pytest.raises(RnalmError, match=r"backbone= applies to model='protrna-ss-head' only"):
        rnalm.fold(seqs, model="vienna-bpp", backbone="protrna")
