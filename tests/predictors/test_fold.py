"""Choosing a structure predictor: the method names, the model's window, the option spellings."""

from __future__ import annotations

import numpy as np
import pytest

from rnalm.errors import RnalmError, cli_spelling, spelled
from rnalm.predictors.fold import Overrides, choose, from_model
from rnalm.structure.predict import PostprocessOptions


def test_a_models_window_is_its_own_limit():
    class Model:
        limit = 1020

        def __call__(self, seqs):
            return [np.zeros((len(s), len(s)), dtype=np.float32) for s in seqs]

    p = from_model("m", Model(), PostprocessOptions(), method="run")
    assert (p.method, p.window) == ("run", 1020)
    assert from_model("f", lambda seqs: [], PostprocessOptions()).window is None


def test_vienna_is_chosen_by_name_and_refuses_post_processing():
    pytest.importorskip("RNA")
    assert choose("vienna").method == "vienna" and choose("vienna").window is None
    with pytest.raises(RnalmError, match=r"threshold=, min_loop= apply to learned models only"):
        choose("vienna", overrides=Overrides(threshold=0.3, min_loop=2))
    with spelled(cli_spelling), pytest.raises(RnalmError, match=r"--run and --method vienna exclude each other"):
        choose("vienna", run="r")
    with pytest.raises(RnalmError, match=r"method='run' needs run="):
        choose("run")
    with pytest.raises(RnalmError, match=r"method= must be one of shipped, run, vienna"):
        choose("rnafold")


def test_overrides_replace_only_what_was_given():
    base = PostprocessOptions(threshold=0.2, min_loop=3, canonical_only=False, one_partner="greedy")
    assert Overrides(threshold=0.4).apply(base) == PostprocessOptions(0.4, 3, False, "greedy")
    assert Overrides(one_partner="none", canonical_only=True).apply(base) == PostprocessOptions(0.2, 3, True, None)
