"""Saturation mutagenesis: every mutant once, effects equal to direct predictions of the mutants."""

from __future__ import annotations

import numpy as np
import pytest

from rnalm.design.objective import Objective, make_term
from rnalm.design.report import write_scan
from rnalm.design.scan import effect_matrix, mutants, scan


def test_every_single_substitution_and_distinct_indel_once():
    subs = mutants("ACG")
    assert len(subs) == 9 and {m.seq for m in subs} == {b + "CG" for b in "CGU"} | {"A" + b + "G" for b in "AGU"} | {
        "AC" + b for b in "ACU"
    }
    both = mutants("AAC", indels=True)
    seqs = [m.seq for m in both]
    assert len(seqs) == len(set(seqs)) and "AAC" not in seqs
    assert {m.seq for m in both if m.kind == "del"} == {"AC", "AA"}
    assert "AAAC" in seqs and "AACU" in seqs


def test_effects_equal_the_toy_models_direct_predictions(toy, tmp_path):
    t = toy(refuse="UUU")
    obj = Objective([make_term([("toy", t)])])
    effects = scan([("r1", "GACUUGCA"), ("r2", "CCGGA")], obj, indels=True, show=False)
    for _, row in effects.iterrows():
        if "UUU" in row["mutant"]:
            assert np.isnan(row["toy_effect"]) and row["note"].startswith("not scored")
        else:
            wt = "GACUUGCA" if row["id"] == "r1" else "CCGGA"
            assert row["toy_effect"] == pytest.approx(t.value(row["mutant"]) - t.value(wt))
    wt, m = effect_matrix(effects, "r1", "toy")
    assert wt == "GACUUGCA" and m.shape == (4, 8) and m[0, 0] == pytest.approx(t.value("AACUUGCA") - t.value(wt))
    out = write_scan(effects, "toy", tmp_path / "scan")
    assert sorted(p.name for p in out.iterdir()) == [
        "effects.csv",
        "heatmap_r1.png",
        "heatmap_r2.png",
        "rnalm_output.json",
    ]
