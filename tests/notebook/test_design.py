"""rnalm.design_optimize and rnalm.design_scan: DataFrames out, errors in Python spelling."""

from __future__ import annotations

import pytest

import rnalm
from rnalm import shipped


@pytest.fixture(autouse=True)
def package_models(monkeypatch):
    monkeypatch.setenv(shipped.ENV_DIR, str(shipped.package_root()))


def test_design_optimize_returns_the_ranked_designs():
    df = rnalm.design_optimize(
        "te",
        length=(24, 28),
        count=4,
        gc=(0.4, 0.6),
        no_uaug=True,
        suffix="GCCACC",
        seed=2,
        population=8,
        generations=2,
        device="cpu",
        progress=False,
    )
    assert list(df["rank"]) == [1, 2, 3, 4] and all(df["constraints"] == "ok")
    assert all(s.endswith("GCCACC") and 24 <= len(s) <= 28 for s in df["sequence"])


def test_contradictions_name_the_keywords():
    with pytest.raises(rnalm.RnalmError, match="no_uaug= contradicts prefix="):
        rnalm.design_optimize("te", length=20, prefix="AUGCC", no_uaug=True, device="cpu")


def test_design_scan_takes_a_dataframe():
    import pandas as pd

    df = rnalm.design_scan(pd.DataFrame({"id": ["a"], "sequence": ["ACGUACGU"]}), task="te", progress=False)
    assert len(df) == 24 and set(df["id"]) == {"a"} and "te_log_effect" in df.columns


def test_progress_ends_with_the_closing_line(capsys):
    rnalm.design_optimize("te", length=20, count=2, population=4, generations=1, device="cpu", progress=True)
    assert "1 generation in" in capsys.readouterr().err
    rnalm.design_optimize("te", length=20, count=2, population=4, generations=1, device="cpu", progress=False)
    assert capsys.readouterr().err == ""
