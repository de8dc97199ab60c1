"""Each rule alone, and rule sets no sequence can satisfy, refused with the options that clash."""

from __future__ import annotations

import numpy as np
import pytest

from rnalm.design.constraints import ConstraintError, Constraints, edit_distance, out_of_frame_augs, parse_range


def test_each_rule_names_its_option_and_reason():
    c = Constraints(
        (10, 12),
        prefix="GC",
        suffix="ACC",
        gc=(0.4, 0.6),
        no_uaug=True,
        no_oof_uorf=True,
        motif_forbid=("GGGG",),
        max_homopolymer=3,
        mfe_range=(-30, 0),
    )
    assert c.ok("GCAUCUCACC")
    assert c.report("GCAUCUCACC") == "ok"
    bad = c.failures("GCAUGGGGACC")
    assert any(f.startswith("no_uaug: upstream AUG at 3") for f in bad)
    assert any(f.startswith("motif_forbid: forbidden motif GGGG") for f in bad)
    assert any(f.startswith("max_homopolymer: homopolymer of 4") for f in bad)
    assert c.failures("AAAUCUCACC")[0].startswith("prefix:")


def test_out_of_frame_augs_are_those_not_a_multiple_of_three_before_the_start():
    assert out_of_frame_augs("AUGCCC") == []  # in frame: 6 nt before the start codon
    assert out_of_frame_augs("CAUGCC") == [1]


@pytest.mark.parametrize(
    "kwargs, names",
    [
        (dict(length=(50, 50), prefix="A" * 60), ["length", "prefix"]),
        (dict(length=(20, 20), prefix="GGGGCCCCGG", gc=(0.0, 0.3)), ["gc", "prefix"]),
        (dict(length=(20, 20), suffix="AUGAA", no_uaug=True), ["no_uaug", "suffix"]),
        (dict(length=(20, 20), prefix="CCAUG", no_uaug=True), ["no_uaug", "prefix"]),
        (dict(length=(20, 20), prefix="UUUUU", max_homopolymer=3), ["max_homopolymer", "prefix"]),
        (dict(length=(20, 20), suffix="CAUGCC", no_oof_uorf=True), ["no_oof_uorf", "suffix"]),
        (dict(length=(20, 20), prefix="AUG", no_oof_uorf=True), ["no_oof_uorf", "prefix", "length"]),
        (dict(length=(20, 20), motif_forbid=("A", "C", "G", "U")), ["motif_forbid"]),
        (dict(length=(20, 20), prefix="GAAUUC", motif_forbid=("GAAUUC",)), ["motif_forbid", "prefix"]),
        (dict(length=(20, 20), mfe_range=(1, 5)), ["mfe_range"]),
        (dict(length=(4, 4), prefix="GG", suffix="GG", gc=(0, 0.5)), ["gc", "prefix", "suffix"]),
    ],
)
def test_contradictions_are_refused_naming_the_options(kwargs, names):
    with pytest.raises(ConstraintError) as e:
        Constraints(**kwargs)
    for n in names:
        assert f"{n}" in str(e.value)


def test_prefix_aug_in_frame_at_some_length_is_not_a_contradiction():
    c = Constraints((20, 21), prefix="AUG", no_oof_uorf=True)
    rng = np.random.default_rng(0)
    s = c.repair(c.random(rng, 21), rng)
    assert c.ok(s) and len(s) == 21


def test_repair_reaches_every_rule_from_random_starts():
    c = Constraints((30, 30), suffix="GCCACC", gc=(0.45, 0.55), no_uaug=True, max_homopolymer=2, motif_forbid=("CUG",))
    rng = np.random.default_rng(3)
    for _ in range(20):
        s = c.repair(c.random(rng), rng)
        assert c.ok(s) and s.endswith("GCCACC")


def test_ranges_and_edit_distance():
    assert parse_range("0.4-0.6", "gc") == (0.4, 0.6)
    assert parse_range("-30..-10", "mfe_range") == (-30.0, -10.0)
    assert parse_range("50", "length") == (50.0, 50.0)
    with pytest.raises(ConstraintError, match="gc=.*empty"):
        parse_range("0.6-0.4", "gc")
    assert edit_distance("ACGU", "AGU") == 1 and edit_distance("ACGU", "ACGU") == 0 and edit_distance("", "AC") == 2
