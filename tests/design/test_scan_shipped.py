"""A scan with the shipped TE model: each effect is the model's own prediction of the mutant minus the wild type's."""

from __future__ import annotations

import pytest

import rnalm
from rnalm import shipped


@pytest.fixture(autouse=True)
def package_models(monkeypatch):
    monkeypatch.setenv(shipped.ENV_DIR, str(shipped.package_root()))


def test_scan_effects_equal_direct_predictions_of_the_mutants():
    wt = "GGGACAUUUGCUUCUG"
    effects = rnalm.design_scan([("utr", wt)], task="te", progress=False)
    assert len(effects) == 3 * len(wt)
    direct = rnalm.predict(list(effects["mutant"]) + [wt], task="te", progress=False)["te_log"].to_numpy()
    assert effects["te_log"].to_numpy() == pytest.approx(direct[:-1], abs=1e-6)
    assert effects["te_log_effect"].to_numpy() == pytest.approx(direct[:-1] - direct[-1], abs=1e-6)
