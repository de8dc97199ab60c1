"""Choosing a structure predictor: one table of names, paths recognised by content, each predictor's
limit and its own post-processing, overrides on top, the rows ``rnalm models`` lists."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnalm.errors import RnalmError, cli_spelling, spelled
from rnalm.predictors.fold import (
    NAMES,
    PREDICTORS,
    PROTRNA_POSTPROCESS,
    RNAFM_POSTPROCESS,
    Overrides,
    choose,
    from_model,
    listings,
    spec_for,
)
from rnalm.runs.structure_model import RunModel
from rnalm.structure.folding import FoldPolicy, fold
from rnalm.structure.predict import PostprocessOptions
from rnalm.structure.vienna import vienna_fold

pytest.importorskip("RNA")

HAIRPIN = "GGGGAAAACCCC"


@pytest.fixture
def cache(structure_files, monkeypatch):
    """rnalm's cache holds the small SS-ResNet and ProtRNA head under their registry names; no network."""
    monkeypatch.setenv("RNALM_HOME", str(structure_files.home))
    monkeypatch.setenv("RNALM_OFFLINE", "1")
    return structure_files


def test_a_models_window_is_its_own_limit():
    class Model:
        limit = 1020

        def __call__(self, seqs):
            return [np.zeros((len(s), len(s)), dtype=np.float32) for s in seqs]

    p = from_model("m", Model(), PostprocessOptions(), method="run")
    assert (p.method, p.window) == ("run", 1020)
    assert from_model("f", lambda seqs: [], PostprocessOptions()).window is None


def test_the_table_names_every_predictor_once_with_its_limit_and_post_processing():
    assert NAMES == ("shipped", "rna-fm-ss-resnet", "protrna-ss-head", "vienna", "vienna-mea", "vienna-bpp")
    for spec in PREDICTORS:
        assert spec.limit and spec.postprocess and spec.licence and spec.backbone
    assert RNAFM_POSTPROCESS == PostprocessOptions(0.5, 1, False, "greedy")
    assert PROTRNA_POSTPROCESS.threshold == 0.25 and PROTRNA_POSTPROCESS.min_loop == 0
    assert not PROTRNA_POSTPROCESS.canonical_only


@pytest.mark.parametrize("by", ["name", "path"])
def test_rna_fm_ss_resnet_by_name_and_by_path(cache, by):
    ref = "rna-fm-ss-resnet" if by == "name" else str(cache.ss_resnet)
    p = choose(ref)
    assert (p.method, p.window, p.options) == ("rna-fm-ss-resnet", 30, RNAFM_POSTPROCESS)
    (pred,) = p([("r", "GGGGAAAACCCCAAAA")])
    assert pred.probs.shape == (16, 16) and np.allclose(pred.probs, pred.probs.T)
    assert all(j - i > 1 for i, j in pred.structure.pairs)  # rna-fm's |i - j| <= 1 rule
    assert choose("RNA-FM-ResNet_PDB-All").method == "rna-fm-ss-resnet"  # the registry's alias


@pytest.mark.parametrize("by", ["name", "path"])
def test_protrna_head_by_name_and_by_path_reads_the_backbone_given(cache, by):
    ref = "protrna-ss-head" if by == "name" else str(cache.protrna_head)
    p = choose(ref, backbone=str(cache.protrna_backbone))
    assert (p.method, p.window, p.options) == ("protrna-ss-head", 20, PROTRNA_POSTPROCESS)
    (pred,) = p([("r", "GGGGAAAACCCCNA")])  # N is ProtRNA's x
    assert pred.probs.shape == (14, 14)
    expected = {(i, j) for i, j in zip(*np.nonzero(np.triu(pred.probs, 1) > 0.25))}
    assert set(pred.structure.pairs) <= expected  # ProtRNA's rule: p > 0.25, nothing else but one partner


def test_protrna_backbone_defaults_to_the_registered_protrna(cache):
    with pytest.raises(RnalmError, match=r"protrna is not in the cache and \$RNALM_OFFLINE is set"):
        choose("protrna-ss-head")


def test_a_named_model_not_in_the_cache_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("RNALM_HOME", str(tmp_path))
    monkeypatch.setenv("RNALM_OFFLINE", "1")
    with pytest.raises(RnalmError, match=r"rna-fm-ss-resnet is not in the cache.*RNA-FM-ResNet_PDB-All.pth"):
        choose("rna-fm-ss-resnet")


def test_paths_are_recognised_by_content_not_name(cache, tmp_path):
    assert spec_for(cache.ss_resnet)[0].name == "rna-fm-ss-resnet"  # named .bin
    assert spec_for(cache.protrna_head)[0].name == "protrna-ss-head"  # named .weights
    assert spec_for(tmp_path)[0].name == "RUN_DIR"
    other = tmp_path / "model.pth"
    other.write_text("not a model")
    with spelled(cli_spelling), pytest.raises(RnalmError, match=r"not a structure model rnalm knows.*--backbone"):
        spec_for(other)
    with spelled(cli_spelling), pytest.raises(RnalmError, match=r"--backbone"):
        spec_for(cache.protrna_backbone / "config.json")


def test_post_processing_options_apply_to_every_probability_map_predictor(cache):
    over = Overrides(threshold=0.99, min_loop=5, canonical_only=True, one_partner="matching")
    want = PostprocessOptions(0.99, 5, True, "matching")
    assert choose("rna-fm-ss-resnet", overrides=over).options == want
    assert choose("protrna-ss-head", str(cache.protrna_backbone), over).options == want
    assert choose("vienna-bpp", overrides=over).options == want
    for name in ("vienna", "vienna-mea"):
        with pytest.raises(RnalmError, match=rf"threshold= apply to probability-map predictors; model='{name}'"):
            choose(name, overrides=Overrides(threshold=0.3))


def test_vienna_variants_mfe_mea_and_thresholded_probabilities():
    mfe, mea, bpp = (choose(n, max_length=100) for n in ("vienna", "vienna-mea", "vienna-bpp"))
    assert (mfe.method, mfe.window) == ("vienna", None)  # the fold engine bounds MFE by max_length itself
    assert (mea.window, bpp.window) == (100, 100)
    seq = "GGGGAAAACCCCAUAUGGGAAACCC"
    (m,) = mea([("x", seq)])
    (b,) = bpp([("x", seq)])
    probs = vienna_fold(seq, bpp=True).probs
    assert np.allclose(b.probs, probs) and np.allclose(m.probs, probs)
    assert {p for p in b.structure.pairs} == {(i, j) for i, j in zip(*np.nonzero(np.triu(probs, 4) > 0.5))}
    assert m.structure.dot_bracket() == "((((....))))....(((...)))"


def test_every_predictor_states_a_limit_and_longer_records_fall_back_to_vienna(cache, tmp_path):
    long = "GGGGAAAACCCC" * 3  # 36 nt: past RNA-FM's 30 and ProtRNA's 20 here
    for p in (choose("rna-fm-ss-resnet"), choose("protrna-ss-head", str(cache.protrna_backbone))):
        rows = list(fold([("s", HAIRPIN), ("l", long)], p, FoldPolicy()))
        assert [r.method for r in rows] == [p.method, "vienna"]
        assert rows[1].note == f"longer than the model's {p.window} nt: ViennaRNA MFE"
    rows = list(fold([("s", HAIRPIN), ("l", long)], choose("vienna-bpp", max_length=20), FoldPolicy(max_length=20)))
    assert rows[0].method == "vienna-bpp" and rows[1].method == "" and "not folded" in rows[1].note


def test_shipped_is_the_default_and_says_what_else_to_choose():
    with spelled(cli_spelling), pytest.raises(RnalmError, match=r"no structure model is shipped") as err:
        choose()
    assert "--model RUN_DIR" in str(err.value) and "--model vienna" in str(err.value)


def test_a_run_directory_is_a_predictor_and_takes_no_backbone(tmp_path, monkeypatch):
    (tmp_path / "run_info.json").write_text(json.dumps({"task": "structure"}))

    class Ends:
        limit = 8

        def __call__(self, seqs):
            return [np.zeros((len(s), len(s)), dtype=np.float32) for s in seqs]

    monkeypatch.setattr(RunModel, "load", classmethod(lambda cls, d, device=None, **_kw: Ends()))
    assert (choose(tmp_path).method, choose(tmp_path).window) == ("run", 8)
    with spelled(cli_spelling), pytest.raises(RnalmError, match=r"--backbone applies to --model protrna-ss-head only"):
        choose(tmp_path, backbone="protrna")


def test_listing_has_one_row_per_predictor_with_what_it_needs(cache):
    rows = {r.name: r for r in listings(cache.home)}
    assert list(rows) == [s.name for s in PREDICTORS]
    assert all(r.source == "structure" and r.kind == "structure predictor" for r in rows.values())
    assert rows["rna-fm-ss-resnet"].cached == "rna-fm-ss-resnet: yes" and rows["rna-fm-ss-resnet"].limit == "1,022 nt"
    assert rows["protrna-ss-head"].cached == "protrna-ss-head: yes, protrna: no"
    assert "protrna" in rows["protrna-ss-head"].needs and rows["protrna-ss-head"].limit.startswith("510 nt")
    assert rows["vienna"].downloads == () and rows["shipped"].cached == "not installed"
