"""`rnalm design scan` and `rnalm design optimize` with the shipped TE model, offline."""

from __future__ import annotations

import csv

import pytest

from rnalm import shipped
from rnalm.cli import main

QUICK = ["--population", "8", "--generations", "2", "--device", "cpu"]


@pytest.fixture(autouse=True)
def package_models(monkeypatch):
    monkeypatch.setenv(shipped.ENV_DIR, str(shipped.package_root()))


def test_optimize_writes_a_ranked_valid_table_and_a_report_and_repeats_itself(tmp_path, capsys):
    args = ["design", "optimize", "--objective", "te", "--length", "30", "--count", "6", "--gc", "0.4-0.6"]
    args += ["--no-uaug", "--seed", "1", *QUICK]
    assert main([*args, "-o", str(tmp_path / "a.csv")]) == 0
    err = capsys.readouterr().err
    assert "generations in" in err and "6 designs ->" in err and "not measurements" in err
    rows = list(csv.DictReader(open(tmp_path / "a.csv")))
    assert list(rows[0])[:6] == ["rank", "sequence", "objective", "te_log", "te_log_std", "uncertainty"]
    assert len(rows) == 6 and all(r["constraints"] == "ok" and "AUG" not in r["sequence"] for r in rows)
    assert [float(r["te_log"]) for r in rows] == sorted((float(r["te_log"]) for r in rows), reverse=True)
    assert "model prediction" in (tmp_path / "a.html").read_text()
    assert main([*args, "-q", "-o", str(tmp_path / "b.csv")]) == 0
    assert capsys.readouterr().err == ""
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert main([*args, "-q", "-o", str(tmp_path / "a.csv")]) == 2  # exists
    assert "--overwrite" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, named",
    [
        (["--length", "50", "--prefix", "A" * 60], "--length 50 contradicts --prefix (60 nt)"),
        (["--length", "20", "--prefix", "GGCCGGCCGG", "--gc", "0-0.3"], "--gc 0-0.3 contradicts --prefix"),
        (["--length", "20", "--prefix", "CCAUGC", "--no-uaug"], "--no-uaug contradicts --prefix"),
        (["--length", "150"], "--length up to 150 nt contradicts shipped model utrlm-mini-te"),
        (["--length", "20", "--mfe-range=1..3"], "--mfe-range"),
    ],
)
def test_contradictory_constraints_are_refused_naming_the_options(tmp_path, capsys, extra, named):
    out = tmp_path / "d.csv"
    assert main(["design", "optimize", "--objective", "te", *extra, *QUICK, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "rnalm design: error:" in err and named in err, err
    assert not out.exists()


def test_scan_writes_effects_and_a_heatmap(tmp_path, capsys):
    fa = tmp_path / "x.fa"
    fa.write_text(">utr one\nGGGACAUUUGCUUCUG\n")
    assert main(["design", "scan", "--task", "te", "-i", str(fa), "-o", str(tmp_path / "scan"), "--device", "cpu"]) == 0
    assert "1 record in" in capsys.readouterr().err
    rows = list(csv.DictReader(open(tmp_path / "scan" / "effects.csv")))
    assert len(rows) == 48 and list(rows[0])[:6] == ["id", "kind", "position", "ref", "alt", "mutant"]
    assert "te_log_effect" in rows[0] and (tmp_path / "scan" / "heatmap_utr.png").stat().st_size > 0


def test_any_shipped_task_alias_is_an_objective(tmp_path, monkeypatch, capsys):
    """A task model shipped later (say mrl) is an objective by its alias, with no change to rnalm design."""
    import json
    import shutil

    root = tmp_path / "shipped"
    shutil.copytree(shipped.package_root(), root)
    manifest = json.loads((root / "manifest.json").read_text())
    for e in manifest["models"]:
        if e["task"] == "te":
            e["task"] = "mrl"
    (root / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv(shipped.ENV_DIR, str(root))
    out = tmp_path / "d.csv"
    assert (
        main(
            ["design", "optimize", "--objective", "mrl", "--length", "20", "--count", "2", *QUICK, "-q", "-o", str(out)]
        )
        == 0
    )
    assert len(list(csv.DictReader(open(out)))) == 2
