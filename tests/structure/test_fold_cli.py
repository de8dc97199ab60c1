"""``rnalm fold``: bad input gives one clear error naming the record; good input gives every file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rnalm.cli import main
from rnalm.runs.structure_model import RunModel
from rnalm.structure.formats import read_bpseq, read_ct, read_dbn


def _fa(tmp_path, text, name="in.fa"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def _fold(capsys, *argv):
    rc = main(["fold", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize(
    "fasta,extra,msg",
    [
        (">ok\nACGU\n>bad rec\nACXGU\n", [], r"record 'bad': invalid character 'X' at position 3"),
        (">ok\nACGU\n>gap\nAC-GU\n", [], r"record 'gap': invalid character '-' at position 3"),
        (">ok\nACGU\n>empty\n>next\nACGU\n", [], r"record 'empty' \(line 3\): empty sequence"),
        (
            ">ok\nACGU\n>long\n" + "A" * 30 + "\n",
            ["--max-length", "20"],
            r"record 'long': 30 nt is longer than the maximum length 20",
        ),
        (">a\nACGU\n>a\nACGU\n", [], r"duplicate record id 'a'"),
        (">a/b\nACGU\n>a_b\nACGU\n", [], r"records 'a/b' and 'a_b' would both be written as 'a_b'"),
        ("ACGU\n", [], r"not FASTA"),
    ],
)
def test_bad_input_is_one_clear_error_and_writes_nothing(tmp_path, capsys, fasta, extra, msg):
    out = tmp_path / "out"
    rc, _, err = _fold(capsys, "--input", _fa(tmp_path, fasta), "--output", str(out), "--method", "vienna", *extra)
    assert rc == 2
    assert err.startswith("rnalm fold: error: ") and err.count("\n") == 1
    import re

    assert re.search(msg, err), err
    assert not out.exists() or not any(out.iterdir())


def test_option_errors(tmp_path, capsys):
    fa = _fa(tmp_path, ">a\nGGGGAAAACCCC\n")
    o = str(tmp_path / "o")
    assert "--run RUN_DIR" in _fold(capsys, "-i", fa, "-o", o)[2]
    assert "exclude each other" in _fold(capsys, "-i", fa, "-o", o, "--method", "vienna", "--run", o)[2]
    assert (
        "--threshold apply to --run" in _fold(capsys, "-i", fa, "-o", o, "--method", "vienna", "--threshold", "0.3")[2]
    )
    assert (
        "--max-length must be positive"
        in _fold(capsys, "-i", fa, "-o", o, "--method", "vienna", "--max-length", "0")[2]
    )


def test_run_dir_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(RunModel, "load", classmethod(lambda cls, run_dir, device=None: None))
    fa = _fa(tmp_path, ">a\nGGGGAAAACCCC\n")
    o = str(tmp_path / "o")
    run = tmp_path / "run"
    rc, _, err = _fold(capsys, "-i", fa, "-o", o, "--run", str(run))
    assert rc == 2 and f"run directory {run} does not exist" in err
    run.mkdir()
    assert (
        "is not a trained `rnalm finetune` run (no run_info.json)"
        in _fold(capsys, "-i", fa, "-o", o, "--run", str(run))[2]
    )
    (run / "run_info.json").write_text(json.dumps({"task": "regression"}))
    assert (
        "is a 'regression' run, not a secondary-structure model"
        in _fold(capsys, "-i", fa, "-o", o, "--run", str(run))[2]
    )
    (run / "run_info.json").write_text(json.dumps({"task": "structure"}))
    assert "no structure model could be loaded" in _fold(capsys, "-i", fa, "-o", o, "--run", str(run))[2]


def test_run_dir_with_registered_loader(tmp_path, capsys, monkeypatch):
    """The plug-in point: a loader turns a run directory into a probability model."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "run_info.json").write_text(json.dumps({"task": "structure"}))
    calls = []

    def model(seqs):  # pairs the first and last base, with a sharp hairpin candidate as a decoy
        calls.append(len(seqs))
        out = []
        for s in seqs:
            p = np.zeros((len(s), len(s)), dtype=np.float32)
            p[0, -1] = p[-1, 0] = 0.9
            p[1, 2] = p[2, 1] = 0.99
            out.append(p)
        return out

    monkeypatch.setattr(RunModel, "load", classmethod(lambda cls, d, device=None: model if d == run else None))
    fa = _fa(tmp_path, ">a\nGAAAAC\n>b\nGAAAAAAA\n>c\nCAAAAG\n")
    out = tmp_path / "o"
    rc, stdout, _ = _fold(capsys, "-i", fa, "-o", str(out), "--run", str(run), "--batch-size", "2")
    assert rc == 0 and calls == [2, 1] and "3 record(s) folded" in stdout
    assert read_dbn(out / "a.dbn")[0].dot_bracket() == "(....)"
    rc, _, _ = _fold(
        capsys, "-i", fa, "-o", str(out), "--run", str(run), "--canonical-only", "--threshold", "0.95", "--overwrite"
    )
    assert rc == 0
    assert read_dbn(out / "a.dbn")[0].pairs == () and read_dbn(out / "b.dbn")[0].pairs == ()
    rc, _, _ = _fold(capsys, "-i", fa, "-o", str(out), "--run", str(run), "--canonical-only", "--overwrite")
    assert [read_dbn(out / f"{k}.dbn")[0].pairs for k in "abc"] == [((0, 5),), (), ((0, 5),)]
    assert np.load(out / "b.npy")[0, 7] == pytest.approx(0.9)


def test_vienna_writes_every_file(tmp_path, capsys):
    pytest.importorskip("RNA")
    fa = _fa(tmp_path, ">hp one\nGGGGAAAACCCC\n>x|2\nacgtacgtagctagctagcatcgatcgatgc\n")
    out = tmp_path / "o"
    rc, stdout, err = _fold(capsys, "-i", fa, "-o", str(out), "--method", "vienna")
    assert rc == 0, err
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "hp.ct",
            "hp.bpseq",
            "hp.dbn",
            "hp.npy",
            "x_2.ct",
            "x_2.bpseq",
            "x_2.dbn",
            "x_2.npy",
            "summary.tsv",
            "rnalm_output.json",
        ]
    )
    ct = read_ct(out / "hp.ct")[0]
    assert ct == read_bpseq(out / "hp.bpseq") == read_dbn(out / "hp.dbn")[0]
    assert ct.id == "hp" and ct.dot_bracket() == "((((....))))"
    assert "ENERGY =" in (out / "hp.ct").read_text().splitlines()[0]
    assert read_dbn(out / "x_2.dbn")[0].sequence == "ACGUACGUAGCUAGCUAGCAUCGAUCGAUGC"
    p = np.load(out / "hp.npy")
    assert p.shape == (12, 12) and np.array_equal(p, p.T)
    rows = (out / "summary.tsv").read_text().splitlines()
    assert rows[0].split("\t") == ["id", "file", "length", "pairs", "pseudoknot_pairs", "energy"]
    assert rows[1].split("\t")[:4] == ["hp", "hp", "12", "4"]
    assert not [q for q in out.iterdir() if q.name.startswith(".")]  # no temporary files left


def test_plots(tmp_path, capsys):
    pytest.importorskip("RNA")
    pytest.importorskip("matplotlib")
    fa = _fa(tmp_path, ">hp\nGGGGAAAACCCC\n")
    out = tmp_path / "o"
    assert _fold(capsys, "-i", fa, "-o", str(out), "--method", "vienna", "--plots")[0] == 0
    for name in ("hp.arc.png", "hp.dotplot.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_existing_output_needs_overwrite_and_overwrite_replaces_only_fold_output(tmp_path, capsys, child_lock):
    """`rnalm fold --output` follows finetune's rule (error unless --overwrite)."""
    pytest.importorskip("RNA")
    fa = _fa(tmp_path, ">hp\nGGGGAAAACCCC\n>b\nGGGAAACCC\n")
    out = tmp_path / "o"
    assert _fold(capsys, "-i", fa, "-o", str(out), "--method", "vienna")[0] == 0
    rc, _, err = _fold(capsys, "-i", fa, "-o", str(out), "--method", "vienna")
    assert rc == 2 and "o: already exists; pass --overwrite to replace it" in err
    (out / "b.dbn").write_text("stale\n")
    one = _fa(tmp_path, ">hp\nGGGGAAAACCCC\n", "one.fa")
    assert _fold(capsys, "-i", one, "-o", str(out), "--method", "vienna", "--overwrite")[0] == 0
    assert not (out / "b.dbn").exists() and (out / "hp.dbn").is_file()  # replaced as a whole
    assert not [q for q in tmp_path.iterdir() if q.name.startswith(".")]  # no staging, old copy or lock left
    with child_lock(out) as pid:
        rc, _, err = _fold(capsys, "-i", one, "-o", str(out), "--method", "vienna", "--overwrite")
        assert rc == 2 and f"o: process {pid} is writing this output" in err

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("x")
    rc, _, err = _fold(capsys, "-i", one, "-o", str(mine), "--method", "vienna", "--overwrite")
    assert rc == 2 and "mine: exists and is not an rnalm fold output folder" in err
    inside = _fa(mine, ">hp\nGGGGAAAACCCC\n")
    rc, _, err = _fold(capsys, "-i", inside, "-o", str(mine), "--method", "vienna", "--overwrite")
    assert rc == 2 and "holds this command's input" in err
    assert sorted(p.name for p in mine.iterdir()) == sorted(["notes.txt", Path(inside).name])
