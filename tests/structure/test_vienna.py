"""ViennaRNA baseline wrapper (skipped where ViennaRNA is not installed)."""

from __future__ import annotations

import numpy as np
import pytest

from rnalm.errors import RnalmError

RNA = pytest.importorskip("RNA")

from rnalm.structure.vienna import OPEN_CHAIN_LIMIT, vienna_fold, vienna_pair_probs  # noqa: E402


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


# ---------------------------------------------------------------- energy parameter sets
#: long enough for the parameter sets to disagree on its MFE and its probabilities
MIXED = "GGGAAAUCCCGCGCUUAGCGCAUAUGGCAAGCUAGCUAGCAUGCAUCGAUCGAUGCAGCUAGC"


def test_every_named_parameter_set_is_a_viennarna_loader():
    from rnalm.structure.vienna import DEFAULT_ENERGY_PARAMETERS, ENERGY_PARAMETERS

    assert DEFAULT_ENERGY_PARAMETERS in ENERGY_PARAMETERS
    for name, loader in ENERGY_PARAMETERS.items():
        assert callable(getattr(RNA, loader)), name


def test_parameter_sets_fold_differently_and_the_default_is_restored():
    default = vienna_fold(MIXED, bpp=True)
    explicit = vienna_fold(MIXED, bpp=True, params="turner2004")
    assert explicit.energy == default.energy and np.array_equal(explicit.probs, default.probs)
    others = {name: vienna_fold(MIXED, bpp=True, params=name) for name in ("andronescu2007", "langdon2018")}
    for name, r in others.items():
        assert r.energy != default.energy, name
        assert not np.allclose(r.probs, default.probs, atol=1e-3), name
        assert np.array_equal(r.probs, r.probs.T) and (np.diag(r.probs) == 0).all()
    after = vienna_fold(MIXED, bpp=True)  # a Turner 2004 fold right after the others: the default again
    assert after.energy == default.energy and np.array_equal(after.probs, default.probs)
    assert after.energy == pytest.approx(RNA.fold(MIXED)[1])  # what ViennaRNA itself gives now


def test_the_whole_fold_runs_under_the_named_set():
    """Partition-function parameters are made from the global set when first needed, after the fold
    compound: a set loaded only while the compound is made would mix two models."""
    from rnalm.structure.vienna import energy_parameters

    with energy_parameters("andronescu2007"):
        fc = RNA.fold_compound(MIXED)
        _, mfe = fc.mfe()
        fc.exp_params_rescale(mfe)
        fc.pf()
        ref = np.triu(np.asarray(fc.bpp(), dtype=np.float64)[1:, 1:], 1)
    got = vienna_fold(MIXED, bpp=True, params="andronescu2007")
    assert got.energy == pytest.approx(mfe)
    np.testing.assert_array_equal(got.probs, (ref + ref.T).astype(np.float32))


def test_default_is_restored_after_an_error_and_unknown_sets_are_refused():
    from rnalm.structure.vienna import energy_parameters

    default = vienna_fold(MIXED).energy
    with pytest.raises(RuntimeError, match="inside"):
        with energy_parameters("langdon2018"):
            raise RuntimeError("inside")
    assert vienna_fold(MIXED).energy == default
    with pytest.raises(RnalmError, match=r"'turner2005'.*turner2004.*andronescu2007"):
        vienna_fold(MIXED, params="turner2005")


@pytest.mark.parametrize("params", ["turner2004", "andronescu2007", "langdon2018"])
def test_pair_probabilities_without_the_mfe_equal_rnafold_p(params):
    rng = np.random.default_rng(7)
    for n in (12, 80, 300, 1200):
        seq = "".join(rng.choice(list("ACGU"), n))
        ref = vienna_fold(seq, bpp=True, params=params).probs
        got = vienna_pair_probs(seq, params=params)
        assert got.dtype == np.float32 and got.shape == (n, n)
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9)


def test_pair_probabilities_fall_back_to_the_mfe_scale_on_overflow():
    """A 700-nt GC-only sequence overflows the partition function at ViennaRNA's default scale (the
    ensemble energy comes back as +100000 with all-zero probabilities); the MFE-scaled fold does not."""
    seq = "".join(np.random.default_rng(0).choice(list("GC"), 700))
    _, ensemble = RNA.fold_compound(seq).pf()
    assert ensemble > OPEN_CHAIN_LIMIT  # the overflow this guards against, still in this ViennaRNA
    ref = vienna_fold(seq, bpp=True).probs
    got = vienna_pair_probs(seq)
    assert ref.max() > 0.5
    np.testing.assert_array_equal(got, ref)
    assert np.all(vienna_pair_probs("AAAAAAAAAA") == 0)  # nothing pairs: Z = 1, not an overflow
    with pytest.raises(RnalmError, match="empty"):
        vienna_pair_probs("", "r1")
