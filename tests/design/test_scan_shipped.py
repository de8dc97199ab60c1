"""Design with the shipped models: a TE scan (each effect is the model's own prediction of the mutant minus the
wild type's) and an MRL optimisation."""

from __future__ import annotations

import pandas as pd
import pytest

import rnalm
from rnalm import shipped
from rnalm.cli import main


@pytest.fixture(autouse=True)
def package_models(monkeypatch):
    monkeypatch.setenv(shipped.ENV_DIR, str(shipped.package_root()))


@pytest.mark.parametrize("dtype", ["float32", "auto"])
def test_scan_effects_equal_direct_predictions_of_the_mutants(dtype):
    wt = "GGGACAUUUGCUUCUG"
    effects = rnalm.design_scan([("utr", wt)], task="te", progress=False, dtype=dtype)
    assert len(effects) == 3 * len(wt)
    direct = rnalm.predict(list(effects["mutant"]) + [wt], task="te", progress=False, dtype=dtype)
    direct = direct["te_log"].to_numpy()
    assert effects["te_log"].to_numpy() == pytest.approx(direct[:-1], abs=1e-6)
    assert effects["te_log_effect"].to_numpy() == pytest.approx(direct[:-1] - direct[-1], abs=1e-6)


def test_optimize_for_the_shipped_mrl_model_offline(tmp_path):
    """``design optimize --objective mrl`` with the shipped MRL model: every design meets its
    constraints and carries the model's own prediction as its objective."""
    out = tmp_path / "designs.csv"
    argv = ["design", "optimize", "--objective", "mrl", "--length", "50", "--count", "4", "--gc", "0.4-0.6"]
    argv += ["--no-uaug", "--seed", "1", "--population", "16", "--generations", "3", "-o", str(out), "-q"]
    assert main(argv) == 0
    designs = pd.read_csv(out)
    assert len(designs) == 4 and "mrl" in designs.columns
    assert all(len(s) == 50 and "AUG" not in s for s in designs["sequence"])
    assert all(0.4 <= (s.count("G") + s.count("C")) / 50 <= 0.6 for s in designs["sequence"])
    direct = rnalm.predict(list(designs["sequence"]), task="mrl", progress=False)["mrl"].to_numpy()
    assert designs["mrl"].to_numpy() == pytest.approx(direct, abs=1e-5)
    assert designs["objective"].to_numpy() == pytest.approx(direct, abs=1e-5)
