"""ViennaRNA baseline wrapper (skipped where ViennaRNA is not installed)."""

from __future__ import annotations

import numpy as np
import pytest

from rnalm.errors import RnalmError

RNA = pytest.importorskip("RNA")

from rnalm.structure.vienna import vienna_fold  # noqa: E402


def test_mfe_and_bpp_of_a_hairpin():
    r = vienna_fold("ggggAAtACCCC", "hp", bpp=True)  # lower case and T accepted
    assert r.structure.sequence == "GGGGAAUACCCC"
    assert r.structure.dot_bracket() == "((((....))))"
    assert r.energy == pytest.approx(RNA.fold("GGGGAAUACCCC")[1])
    p = r.probs
    assert p.shape == (12, 12) and p.dtype == np.float32
    assert np.array_equal(p, p.T) and (np.diag(p) == 0).all()
    assert (p >= 0).all() and (p.sum(1) <= 1 + 1e-5).all()
    assert p[0, 11] > 0.5 and p[3, 8] > 0.5


def test_no_bpp_by_default():
    assert vienna_fold("ACGUACGU").probs is None


def test_empty_sequence():
    with pytest.raises(RnalmError, match="empty"):
        vienna_fold("", "e")


def test_energy_of_a_given_structure_where_viennarna_can_score_it():
    from rnalm.structure.pairs import Structure
    from rnalm.structure.vienna import structure_energy

    hairpin = Structure.from_dot_bracket("hp", "GGGGAAAACCCC", "((((....))))")
    assert structure_energy(hairpin) == pytest.approx(-5.4, abs=1e-4)
    inner = RNA.fold_compound("GGGGAAAACCCC").eval_structure(".(((....))).")
    assert structure_energy(Structure.from_dot_bracket("in", "GGGGAAAACCCC", ".(((....))).")) == pytest.approx(inner)
    assert structure_energy(Structure.from_dot_bracket("ac", "GGGGAAAACCAC", "((((....))))")) is None  # an A-A pair
    assert structure_energy(Structure.from_dot_bracket("pk", "GGGAAACCCAAAGGGAAACCC", "(((..[[[)))...]]]....")) is None
    assert structure_energy(Structure.from_dot_bracket("sharp", "GGGAUCCC", "(((.))).")) is None  # 1-nt hairpin
