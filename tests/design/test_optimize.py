"""The optimiser: every design satisfies every constraint, seeded runs repeat, unscored never ranked."""

from __future__ import annotations

import numpy as np
import pytest

from rnalm.design.constraints import ConstraintError, Constraints, edit_distance
from rnalm.design.jobs import run_optimize
from rnalm.design.objective import Objective, make_term
from rnalm.design.optimize import Settings, optimize

SMALL = Settings(population=12, generations=4)


def objective(*models, goal="max", target=None):
    return Objective([make_term([(f"m{i}", m) for i, m in enumerate(models)], goal=goal, target=target)])


ALL_KINDS = dict(
    prefix="GG",
    suffix="GCCACC",
    gc=(0.4, 0.6),
    no_uaug=True,
    no_oof_uorf=True,
    motif_forbid=("CUCU", "GAAUUC"),
    max_homopolymer=3,
    mfe_range=(-15.0, 0.0),
)


@pytest.mark.parametrize("seed", range(12))
def test_every_design_satisfies_every_constraint(toy, seed):
    c = Constraints((24, 30), **ALL_KINDS)
    designs = optimize(objective(toy()), c, 15, seed, settings=SMALL)
    assert len(designs) == 15 and len({d.seq for d in designs}) == 15
    for d in designs:
        assert c.failures(d.seq) == [], d.seq
        assert 24 <= len(d.seq) <= 30 and d.seq.startswith("GG") and d.seq.endswith("GCCACC") and "AUG" not in d.seq


def test_the_search_improves_on_its_random_starts(toy):
    c = Constraints((30, 30), gc=(0.3, 0.7))
    t = toy()
    designs = optimize(objective(t), c, 5, 1, settings=Settings(population=16, generations=15))
    starts = [t.value(d.origin) for d in designs]
    assert t.value(designs[0].seq) > max(starts)
    assert t.value(designs[0].seq) >= t.value(designs[-1].seq)


def test_minimise_and_target(toy):
    c = Constraints((20, 20))
    t = toy()
    lo = optimize(objective(t, goal="min"), c, 3, 0, settings=SMALL)
    hi = optimize(objective(t), c, 3, 0, settings=SMALL)
    assert t.value(lo[0].seq) < t.value(hi[0].seq)
    near = optimize(objective(t, goal="target", target=0.5), c, 3, 0, settings=SMALL)
    assert abs(t.value(near[0].seq) - 0.5) < 0.2


def test_seeded_runs_give_identical_csv_files(toy, tmp_path):
    c = Constraints((24, 24), **{**ALL_KINDS, "mfe_range": None})
    a = run_optimize(objective(toy()), c, 10, 7, settings=SMALL, output=tmp_path / "a.csv")
    b = run_optimize(objective(toy()), c, 10, 7, settings=SMALL, output=tmp_path / "b.csv")
    other = run_optimize(objective(toy()), c, 10, 8, settings=SMALL)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert list(a["sequence"]) == list(b["sequence"]) and list(a["sequence"]) != list(other["sequence"])


def test_unscored_sequences_are_never_designs(toy):
    t = toy(refuse="GC")  # the toy's best sequences hold GC; it refuses to score them
    designs = optimize(objective(t), Constraints((20, 20)), 20, 0, settings=SMALL)
    assert designs and all("GC" not in d.seq for d in designs)


def test_table_columns_ensemble_spread_and_edit_distance(toy):
    c = Constraints((20, 20), gc=(0.4, 0.6))
    a, b = toy(), toy(weights=(0.5, 1.0, 1.0, -0.5), name="toy")
    table = run_optimize(objective(a, b), c, 5, 0, settings=SMALL)
    assert list(table.columns) == [
        "rank",
        "sequence",
        "objective",
        "toy",
        "toy_spread",
        "toy@m0",
        "toy@m1",
        "uncertainty",
        "constraints",
        "edit_distance",
        "seed_id",
        "seed",
        "length",
        "gc",
        "note",
    ]
    row = table.iloc[0]
    va, vb = a.value(row["sequence"]), b.value(row["sequence"])
    assert row["toy@m0"] == pytest.approx(va) and row["toy"] == pytest.approx((va + vb) / 2)
    assert row["toy_spread"] == pytest.approx(np.std([va, vb])) and row["uncertainty"] == pytest.approx(
        row["toy_spread"]
    )
    assert all(table["constraints"] == "ok") and list(table["rank"]) == [1, 2, 3, 4, 5]
    assert all(table["edit_distance"] == [edit_distance(s, o) for s, o in zip(table["sequence"], table["seed"])])


def test_a_cross_validated_member_reports_its_fold_spread(toy):
    table = run_optimize(objective(toy(folds=5)), Constraints((20, 20)), 3, 0, settings=SMALL)
    assert "toy_std" in table.columns and np.allclose(table["uncertainty"], 0.1)
    single = run_optimize(objective(toy()), Constraints((20, 20)), 3, 0, settings=SMALL)
    assert single["uncertainty"].isna().all()  # one model: no spread to report, not a spread of 0


def test_seeds_start_the_search_and_are_repaired_into_the_rules(toy):
    c = Constraints((20, 20), no_uaug=True)
    seeds = [("s1", "AUGAUGAUGAUGAUGAUGAU"), ("s2", "CCCCCAAAAAGGGGGUUUUU")]
    designs = optimize(objective(toy()), c, 5, 0, seeds, SMALL)
    assert {d.origin_id for d in designs} <= {"s1", "s2"} and all(c.ok(d.seq) for d in designs)


def test_designs_longer_than_the_models_window_are_refused(toy):
    with pytest.raises(ConstraintError, match="length.*toy model.*window"):
        optimize(objective(toy(max_nt=30)), Constraints((20, 40)), 3, 0, settings=SMALL)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100))
def test_every_design_satisfies_every_constraint_over_many_seeds(toy, seed):
    c = Constraints((20, 40), **ALL_KINDS)
    for d in optimize(objective(toy()), c, 20, seed, settings=SMALL):
        assert c.failures(d.seq) == [], d.seq
