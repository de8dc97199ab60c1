"""The commands with shipped models: predict --task, fold and embed without a model, models, demo."""

from __future__ import annotations

import csv
import json
import re
import shutil
from html import unescape
from pathlib import Path

import numpy as np
import pytest

import rnalm
from rnalm import examples, shipped
from rnalm.cli import main
from rnalm.packaging.check import check_entry

EXAMPLES = examples.path()
FASTA = (
    ">a type=5UTR\nACGUACGUAGGAGCGC\n>b type=3UTR\nggggaaaccccAAUUGCGC\n>c type=tRNA\nGCGGAUUUAGCUCAGUUGGGAGAGCGCCAGA\n"
)


@pytest.fixture
def fasta(tmp_path) -> Path:
    p = tmp_path / "in.fa"
    p.write_text(FASTA)
    return p


def test_every_entry_reproduces_its_check_metric(shipped_root):
    for entry in shipped.entries(shipped_root):
        recorded, value = check_entry(entry)
        assert value == pytest.approx(recorded, abs=1e-4), entry.name


def test_load_by_shipped_name_offline(use_shipped, monkeypatch):
    monkeypatch.setenv("RNALM_OFFLINE", "1")
    model, alphabet = rnalm.load("tiny-bb")
    same, _ = rnalm.load("shipped:tiny-bb")
    assert alphabet.name == "utr-lm" and model.config.num_layers == 2
    assert all((a == b).all() for a, b in zip(model.state_dict().values(), same.state_dict().values()))
    with pytest.raises(rnalm.RnalmError, match="no backbone 'shipped:nope' is shipped.*tiny-bb"):
        rnalm.load("shipped:nope")


def test_predict_task_matches_the_run_it_was_packaged_from(use_shipped, tiny_models, fasta, tmp_path, capsys):
    from rnalm.runs.prediction_table import predict_run_file

    out = tmp_path / "te.csv"
    assert main(["predict", "--task", "te", "--input", str(fasta), "--output", str(out), "--dtype", "float32"]) == 0
    assert "shipped model tiny-te" in capsys.readouterr().err
    rows = list(csv.DictReader(open(out)))
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    ref = tmp_path / "ref.csv"
    predict_run_file(tiny_models["te"], fasta, ref)
    assert [float(r["te_log"]) for r in rows] == [float(r["prediction"]) for r in csv.DictReader(open(ref))]

    # no --output: the CSV goes to stdout, messages to stderr; a float16 binary classifier gives
    # the probability of its positive class, named after the task
    assert main(["predict", "--task", "ires", "--input", str(fasta)]) == 0
    cap = capsys.readouterr()
    lines = cap.out.splitlines()
    assert lines[0] == "id,description,sequence,ires_probability,length,read,note" and len(lines) == 4
    assert "tiny-ires" in cap.err and "3 records in" in cap.err
    assert all(0 <= float(x.split(",")[3]) <= 1 for x in lines[1:])
    assert shipped.task_entry("ires").prediction["columns"] == ["ires_probability"]


def test_predict_task_errors(use_shipped, fasta, capsys):
    assert main(["predict", "--task", "halflife", "--input", str(fasta)]) == 2
    err = capsys.readouterr().err
    assert "no shipped task model 'halflife'" in err and "te (tiny-te)" in err and err.count("\n") == 1
    assert main(["predict", "--task", "fold", "--input", str(fasta)]) == 2
    assert "use `rnalm fold`" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["predict", "--input", str(fasta)])  # --task or --run is required
    assert "one of the arguments --task --run is required" in capsys.readouterr().err


def test_tampered_files_are_refused(shipped_root, tmp_path, monkeypatch, fasta, capsys):
    root = tmp_path / "copy"
    shutil.copytree(shipped_root, root)
    monkeypatch.setenv(shipped.ENV_DIR, str(root))
    w = root / "tiny-te" / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-1] ^= 1
    w.write_bytes(bytes(data))
    assert main(["predict", "--task", "te", "--input", str(fasta)]) == 2
    assert "does not match the sha256" in capsys.readouterr().err
    with pytest.raises(shipped.ShippedModelError, match="does not match"):
        check_entry(shipped.get("tiny-te"))


def test_fold_defaults_to_the_shipped_structure_model(use_shipped, fasta, tmp_path, capsys):
    out = tmp_path / "fold"
    assert main(["fold", "--input", str(fasta), "--output", str(out), "--files", "dbn"]) == 0
    cap = capsys.readouterr()
    assert "structure model: tiny-fold (shipped" in cap.err and "3 records in" in cap.err
    for rid in "abc":
        db = (out / f"{rid}.dbn").read_text().splitlines()[-1]
        assert re.fullmatch(r"[.()\[\]{}]+", db)
    assert (
        main(
            [
                "fold",
                "--input",
                str(fasta),
                "--output",
                str(out),
                "--model",
                "shipped",
                "-q",
                "--threshold",
                "0.99",
                "--overwrite",
                "--files",
                "dbn",
            ]
        )
        == 0
    )
    assert "(" not in (out / "a.dbn").read_text().splitlines()[-1]  # the option overrides the shipped threshold


def test_fold_without_shipped_model_says_what_to_do(tmp_path, monkeypatch, fasta, capsys):
    monkeypatch.setenv(shipped.ENV_DIR, str(tmp_path / "empty"))
    assert main(["fold", "--input", str(fasta), "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert (
        "no structure model is shipped" in err
        and "--model RUN_DIR (a trained structure model)" in err
        and "--model vienna" in err
    )


def test_embed_defaults_to_the_shipped_backbone(use_shipped, fasta, tmp_path, capsys):
    out = tmp_path / "emb"
    assert main(["embed", "--input", str(fasta), "--output", str(out), "--output-format", "npy", "-q"]) == 0
    files = sorted(p.name for p in out.rglob("*.npy"))
    assert len(files) == 3
    vec = np.load(next(out.rglob("a.npy")))
    assert vec.shape == (16,)


def test_embed_without_any_model(tmp_path, monkeypatch, fasta, capsys):
    monkeypatch.setenv(shipped.ENV_DIR, str(tmp_path / "empty"))
    assert main(["embed", "--input", str(fasta), "--output", str(tmp_path / "e"), "--output-format", "npy"]) == 2
    assert "no --model given and no backbone is shipped" in capsys.readouterr().err


def test_models_lists_shipped_entries(use_shipped, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    shipped_part, downloadable = out.split("Downloadable")
    rows = {line.split()[0]: line.split() for line in shipped_part.splitlines()[2:] if line.strip()}
    assert rows["tiny-bb"][1:3] == ["backbone", "-"] and rows["tiny-te"][1:3] == ["task", "te"]
    assert rows["tiny-fold"][1:3] == ["structure", "fold"] and "spearman" in rows["tiny-te"]
    assert "rna-fm" in downloadable
    assert main(["models", "--json"]) == 0
    listed = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert listed["tiny-ires"]["source"] == "shipped" and listed["tiny-ires"]["metric"].startswith("auroc")
    assert main(["models", "-v"]) == 0
    assert "rnalm predict --task te" in capsys.readouterr().out


def test_demo_report_ties_predictions_structures_and_cards(use_shipped, tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "--input", str(EXAMPLES), "--output", str(out), "--no-vienna"]) == 0
    n = sum(1 for line in EXAMPLES.read_text().splitlines() if line.startswith(">"))
    rows = list(csv.DictReader(open(out / "predictions.tsv"), delimiter="\t"))
    assert len(rows) == n
    utr5 = [r for r in rows if r["type"] == "5UTR"]
    assert utr5 and all(r["relevant_task"] == "te" and float(r["te"]) == float(r["te"]) for r in utr5)
    assert all(r["halflife"] == "" and r["family"] == "" for r in rows)  # not shipped in this folder
    assert all(len(r["rnalm_dot_bracket"]) == int(r["length"]) for r in rows)
    html = (out / "report.html").read_text()
    assert "tiny-te" in html and "tiny-fold" in html and "class='hl'" in html
    assert "no shipped task model 'halflife'" in unescape(html)
    refs = re.findall(r"(?:src|href)='([^']+)'", html)
    pngs = [r for r in refs if r.endswith(".arc.png")]
    assert len(pngs) == n
    for ref in refs:  # every link is relative and points at a file the demo wrote
        assert not ref.startswith(("/", "http")) and (out / ref).is_file(), ref
    assert {"cards/tiny-te.md", "cards/tiny-ires.md", "cards/tiny-fold.md", "cards/tiny-bb.md"} <= set(refs)
    assert np.load(out / "embeddings.npy").shape == (n, 16) and "Cosine similarity" in html
