"""Homology groups (``data.homology_kmer``) and the grouped, stratified splits they feed."""

from __future__ import annotations

import numpy as np
import pytest

from rnalm.finetune.data.homology import kmer_codes, shared_kmer_groups
from rnalm.finetune.data.loader_table import load_data
from rnalm.runs.config import ConfigError, DataConfig
from rnalm.runs.errors import DataError
from rnalm.runs.splits import holdout, kfold


def _random(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(list("ACGT"), n))


def test_kmer_codes_normalise_and_skip_ambiguous_letters():
    assert np.array_equal(kmer_codes("acgu", 4), kmer_codes("ACGT", 4))
    assert kmer_codes("ACGNACG", 4).size == 0  # every 4-mer touches the N
    assert kmer_codes("ACG", 4).size == 0
    assert kmer_codes("AAAAAAAA", 4).size == 1  # distinct k-mers only
    assert kmer_codes("ACGTACGT", 4).dtype == np.uint64


def test_groups_are_connected_components_of_shared_kmers():
    rng = np.random.default_rng(0)
    core, other = _random(rng, 30), _random(rng, 30)
    a = _random(rng, 10) + core[:20] + _random(rng, 10)
    b = core[10:] + _random(rng, 20)  # shares core[10:20] with a, core[10:30] with c
    c = _random(rng, 5) + core + _random(rng, 5)
    d = other  # unrelated
    e = other[::-1].lower().replace("t", "u")  # reversed: no shared 12-mer with d (random)
    f = other[:12]  # shares exactly one 12-mer with d
    g = shared_kmer_groups([a, b, c, d, e, f], 12)
    assert g[0] == g[1] == g[2] == "h0"
    assert g[3] == g[5] == "h3" and g[4] == "h4"
    # a 13-mer is longer than f: f is alone
    g13 = shared_kmer_groups([a, b, c, d, e, f], 13)
    assert g13[5] == "h5" and g13[3] == "h3"


def test_existing_groups_are_merged_and_k_is_checked():
    rng = np.random.default_rng(1)
    seqs = [_random(rng, 40) for _ in range(4)]
    assert len(set(shared_kmer_groups(seqs, 20))) == 4
    merged = shared_kmer_groups(seqs, 20, groups=["x", None, "x", None])
    assert merged[0] == merged[2] and len(set(merged)) == 3
    for bad in (4, 33, "20"):
        with pytest.raises(DataError, match="homology_kmer"):
            shared_kmer_groups(seqs, bad)
    for bad in (4, 40):
        with pytest.raises(ConfigError, match="homology_kmer"):
            DataConfig(train="x.csv", homology_kmer=bad).validate()


def test_grouped_holdout_is_stratified_by_the_groups_majority_class():
    # 40 groups of 3: groups 0-29 class a, 30-39 class b (one mixed row in group 30)
    groups = [i // 3 for i in range(120)]
    labels = ["a"] * 90 + ["a"] + ["b"] * 29
    for seed in range(5):
        tr, va = holdout(120, 0.2, seed, strata=labels, groups=groups)
        assert not {groups[i] for i in tr} & {groups[i] for i in va}
        held = [labels[i] for i in va]
        assert held.count("b") in (5, 6) and held.count("a") in (18, 19)  # 20 % of each class's groups
    folds = kfold(120, 5, 3, strata=labels, groups=groups)
    for tr, te in folds:
        assert not {groups[i] for i in tr} & {groups[i] for i in te}
        assert sum(labels[i] == "b" for i in te) in (5, 6, 7) and len(te) == 24


def test_unstratified_grouped_splits_are_unchanged_by_stratification_support():
    """Regression recipes (grouped by wild type / transcript) keep their published folds."""
    groups = [f"g{i // 4}" for i in range(60)]
    tr, va = holdout(60, 0.25, 11, groups=groups)
    # recorded with the splitter before stratified grouping existed
    assert va.tolist() == [8, 9, 10, 11, 24, 25, 26, 27, 36, 37, 38, 39, 48, 49, 50, 51]
    folds = kfold(60, 3, 2, groups=groups)
    assert [te.tolist()[:8] for _, te in folds] == [
        [16, 17, 18, 19, 36, 37, 38, 39],
        [8, 9, 10, 11, 20, 21, 22, 23],
        [0, 1, 2, 3, 4, 5, 6, 7],
    ]


def test_load_data_groups_training_rows_and_notes_it(tmp_path):
    rng = np.random.default_rng(2)
    fam = _random(rng, 60)
    rows = [(fam[:40] + _random(rng, 20), 1), (_random(rng, 10) + fam[20:], 1), (_random(rng, 60), 0)]
    p = tmp_path / "d.csv"
    p.write_text("seq,label\n" + "".join(f"{s},{y}\n" for s, y in rows))
    bundle = load_data(DataConfig(loader="lamar", train=str(p), homology_kmer=20), "classification")
    assert bundle.train.groups == ["h0", "h0", "h2"]
    assert any("20-mers" in n and "2 groups" in n for n in bundle.notes)
    plain = load_data(DataConfig(loader="lamar", train=str(p)), "classification")
    assert not plain.train.has_groups
