"""``rnalm fold``: every record folded (long ones by ViennaRNA), rows with notes instead of stops,
one summary table, files only on request, modes from the umask, and a closing line."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import numpy as np
import pytest

from rnalm.cli import main
from rnalm.runs.structure_model import RunModel
from rnalm.structure.formats import read_bpseq, read_ct, read_dbn

pytest.importorskip("RNA")


def _fa(tmp_path, text, name="in.fa"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def _fold(capsys, *argv):
    rc = main(["fold", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _summary(path: Path) -> list[dict]:
    lines = path.read_text().splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:]]


class EndPairs:
    """A probability model reading at most ``limit`` nt: pairs the first and last base, with a sharp
    hairpin decoy that post-processing must drop."""

    def __init__(self, limit=None):
        self.limit = limit
        self.calls = []

    def __call__(self, seqs):
        self.calls.append([len(s) for s in seqs])
        out = []
        for s in seqs:
            p = np.zeros((len(s), len(s)), dtype=np.float32)
            p[0, -1] = p[-1, 0] = 0.9
            p[1, 2] = p[2, 1] = 0.99
            out.append(p)
        return out


@pytest.fixture
def model_run(tmp_path, monkeypatch):
    """A structure run directory whose model is :class:`EndPairs` with a 1,020-nt window."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "run_info.json").write_text(json.dumps({"task": "structure"}))
    model = EndPairs(limit=1020)

    def load(cls, d, device=None, **_kw):
        model.device = device
        return model if Path(d) == run else None

    monkeypatch.setattr(RunModel, "load", classmethod(load))
    return run, model


CIRCULAR = re.compile(r"or split|use 1020|--max-length 1020")


def test_a_2000_nt_record_among_short_ones_is_folded_by_vienna_and_marked(tmp_path, capsys, model_run):
    run, model = model_run
    long = ("GGGGAAAACCCC" + "A" * 38) * 40  # 2,000 nt: past the model's 1,020
    fa = _fa(tmp_path, f">a\nGAAAAC\n>long\n{long}\n>b\nCAAAAG\n")
    rc, out, err = _fold(capsys, "-i", fa, "-o", str(tmp_path / "o"), "--model", str(run))
    assert rc == 0, err
    rows = _summary(tmp_path / "o" / "summary.tsv")
    assert [(r["id"], r["method"]) for r in rows] == [("a", "run"), ("long", "vienna"), ("b", "run")]
    assert rows[0]["structure"] == "(....)" and rows[1]["length"] == "2000"
    assert rows[1]["note"] == "longer than the model's 1020 nt: ViennaRNA MFE"
    assert rows[1]["structure"].count("(") == 160 and float(rows[1]["energy"]) < -100
    assert model.calls == [[6, 6]]  # the long record never reaches the model
    assert "1 via ViennaRNA fallback; 1 with notes" in err
    assert not CIRCULAR.search(err + out)


def test_a_record_beyond_every_limit_gets_a_noted_row_naming_the_one_limit_to_raise(tmp_path, capsys, model_run):
    run, _ = model_run
    fa = _fa(tmp_path, f">a\nGAAAAC\n>long\n{'ACGU' * 500}\n")
    rc, _, err = _fold(capsys, "-i", fa, "-o", str(tmp_path / "o"), "--model", str(run), "--max-length", "1500")
    assert rc == 0, err
    rows = _summary(tmp_path / "o" / "summary.tsv")
    assert rows[1]["structure"] == "" and rows[1]["method"] == ""
    assert rows[1]["note"] == (
        "longer than the model's 1020 nt and than --max-length 1500 for ViennaRNA (time grows as L^3): "
        "not folded; raise --max-length to at least 2000 to fold it with ViennaRNA"
    )
    assert not CIRCULAR.search(err + rows[1]["note"])
    rc, _, err = _fold(capsys, "-i", fa, "--model", str(run), "--max-length", "1500", "--strict")
    assert rc == 2 and "record 'long': longer than the model's 1020 nt" in err
    rc, out, err = _fold(capsys, "-i", fa, "--model", str(run), "--long", "skip")
    assert rc == 0 and "longer than the model's 1020 nt: not folded (--long skip)" in out
    rc, out, err = _fold(capsys, "-i", fa, "--model", str(run), "--long", "error")
    assert rc == 2 and out == ""
    assert "record 'long': 2000 nt is longer than the model's window of 1020 nt; --long vienna folds" in err


def test_vienna_method_names_only_its_own_bound(tmp_path, capsys):
    fa = _fa(tmp_path, ">a\nGGGGAAAACCCC\n>b\n" + "GGGAAACCC" * 3 + "\n")
    rc, out, _ = _fold(capsys, "-i", fa, "--model", "vienna", "--max-length", "20")
    assert rc == 0
    note = out.splitlines()[2].split("\t")[-1]
    assert note == (
        "27 nt is longer than --max-length 20 (ViennaRNA's time grows as L^3): not folded; "
        "raise --max-length to at least 27 to fold it with ViennaRNA"
    )


def test_one_bad_record_does_not_stop_the_file_but_strict_does(tmp_path, capsys):
    fa = _fa(tmp_path, ">ok\nGGGGAAAACCCC\n>bad\nGGGGAXAACCCC\n>ok2\nGGGAAACCC\n")
    rc, out, err = _fold(capsys, "-i", fa, "-o", str(tmp_path / "o"), "--model", "vienna")
    assert rc == 0, err
    rows = _summary(tmp_path / "o" / "summary.tsv")
    assert [r["structure"] for r in rows] == ["((((....))))", "", "(((...)))"]
    assert rows[1]["note"].startswith("invalid character 'X' at position 6 (1-based)")
    assert "--unknown N reads other letters as N" in rows[1]["note"]
    assert "0 via ViennaRNA fallback; 1 with notes" in err
    rc, _, err = _fold(capsys, "-i", fa, "-o", str(tmp_path / "strict"), "--model", "vienna", "--strict")
    assert rc == 2 and "record 'bad': invalid character 'X' at position 6" in err
    assert not (tmp_path / "strict").exists()  # checked before anything was written
    rc, out, _ = _fold(capsys, "-i", fa, "--model", "vienna", "--unknown", "N")
    assert rc == 0 and out.splitlines()[2].split("\t")[3] == "((((....))))"


def test_csv_rows_are_ids_and_ids_become_percent_escaped_file_names(tmp_path, capsys):
    csv = tmp_path / "lamar.csv"
    csv.write_text("seq,label\nGGGGAAAACCCC,-0.4621123499222085\nGGGAAACCC,1.5\n")
    rc, out, err = _fold(capsys, "-i", str(csv), "-o", str(tmp_path / "o"), "--model", "vienna", "--files", "dbn")
    assert rc == 0, err
    assert [r["id"] for r in _summary(tmp_path / "o" / "summary.tsv")] == ["lamar_1", "lamar_2"]
    assert sorted(p.name for p in (tmp_path / "o").glob("*.dbn")) == ["lamar_1.dbn", "lamar_2.dbn"]
    fa = _fa(tmp_path, ">a/b\nGGGGAAAACCCC\n>a_b\nGGGAAACCC\n")
    rc, _, err = _fold(capsys, "-i", fa, "-o", str(tmp_path / "slash"), "--model", "vienna", "--files", "ct")
    assert rc == 0, err
    assert sorted(p.name for p in (tmp_path / "slash").glob("*.ct")) == ["a%2Fb.ct", "a_b.ct"]
    assert read_ct(tmp_path / "slash" / "a%2Fb.ct")[0].id == "a/b"


def test_summary_has_dot_bracket_pairs_and_energy(tmp_path, capsys, model_run):
    rc, out, err = _fold(
        capsys, "-i", _fa(tmp_path, ">hp\nGGGGAAAACCCC\n"), "-o", str(tmp_path / "v"), "--model", "vienna"
    )
    assert rc == 0, err
    (row,) = _summary(tmp_path / "v" / "summary.tsv")
    assert (tmp_path / "v" / "summary.tsv").read_text().splitlines()[
        0
    ] == "id\tlength\tmethod\tstructure\tpairs\tenergy\tnote"
    assert row == {
        "id": "hp",
        "length": "12",
        "method": "vienna",
        "structure": "((((....))))",
        "pairs": "4",
        "energy": "-5.40",
        "note": "",
    }
    run, _ = model_run  # a model's structure gets ViennaRNA's energy where ViennaRNA can score it
    fa = _fa(tmp_path, ">gc\nGAAAAC\n>aa\nAAAAAA\n")
    rc, out, _ = _fold(capsys, "-i", fa, "--model", str(run))
    rows = [line.split("\t") for line in out.splitlines()[1:]]
    assert rows[0][3:6] == ["(....)", "1", "4.50"] and rows[1][3:6] == ["(....)", "1", ""]  # A-A: no energy


def test_per_record_files_only_with_files(tmp_path, capsys):
    fa = _fa(tmp_path, ">hp one\nGGGGAAAACCCC\n>x|2\nacgtacgtagctagctagcatcgatcgatgc\n")
    rc, _, err = _fold(capsys, "-i", fa, "-o", str(tmp_path / "plain"), "--model", "vienna")
    assert rc == 0, err
    assert sorted(p.name for p in (tmp_path / "plain").iterdir()) == ["rnalm_output.json", "summary.tsv"]
    out = tmp_path / "all"
    rc, _, err = _fold(capsys, "-i", fa, "-o", str(out), "--model", "vienna", "--files", "ct,bpseq,dbn,npy")
    assert rc == 0, err
    stems = ("hp", "x|2")
    names = sorted(f"{s}.{k}" for s in stems for k in ("ct", "bpseq", "dbn", "npy"))
    assert sorted(p.name for p in out.iterdir()) == sorted(names + ["summary.tsv", "rnalm_output.json"])
    ct = read_ct(out / "hp.ct")[0]
    assert ct == read_bpseq(out / "hp.bpseq") == read_dbn(out / "hp.dbn")[0]
    assert ct.dot_bracket() == "((((....))))" and "ENERGY = -5.40" in (out / "hp.ct").read_text().splitlines()[0]
    assert read_dbn(out / "x|2.dbn")[0].sequence == "ACGUACGUAGCUAGCUAGCAUCGAUCGAUGC"
    p = np.load(out / "hp.npy")
    assert p.shape == (12, 12) and np.array_equal(p, p.T)
    rc, _, err = _fold(capsys, "-i", fa, "--model", "vienna", "--files", "ct")
    assert rc == 2 and "give -o DIR" in err
    rc, _, err = _fold(capsys, "-i", fa, "-o", str(tmp_path / "x"), "--model", "vienna", "--files", "ct,pdf")
    assert rc == 2 and "--files takes a comma-separated list of ct, bpseq, dbn, npy; got 'pdf'" in err


@pytest.mark.parametrize("umask,file_mode,dir_mode", [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)])
def test_outputs_follow_the_umask(tmp_path, capsys, umask, file_mode, dir_mode):
    pytest.importorskip("matplotlib")
    fa = _fa(tmp_path, ">hp\nGGGGAAAACCCC\n")
    old = os.umask(umask)
    try:
        rc, _, err = _fold(
            capsys, "-i", fa, "-o", str(tmp_path / "o"), "--model", "vienna", "--files", "ct,npy", "--plots"
        )
    finally:
        os.umask(old)
    assert rc == 0, err
    assert stat.S_IMODE((tmp_path / "o").stat().st_mode) == dir_mode
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "o").iterdir()}
    assert set(modes) == {"hp.ct", "hp.npy", "hp.arc.png", "hp.dotplot.png", "summary.tsv", "rnalm_output.json"}
    assert set(modes.values()) == {file_mode}


def test_closing_line_names_records_time_rate_fallbacks_and_notes(tmp_path, capsys):
    fa = _fa(tmp_path, ">a\nGGGGAAAACCCC\n>b\nGGGAAACCC\n")
    rc, out, err = _fold(capsys, "-i", fa, "--model", "vienna")
    assert rc == 0
    assert re.fullmatch(
        r"2 records in \d+\.\d s \(\d+\.\d records/s\); 0 via ViennaRNA fallback; 0 with notes; "
        r"dtype float32 \(ViennaRNA: dtype does not apply\)\n",
        err,
    )
    assert out.splitlines()[0] == "id\tlength\tmethod\tstructure\tpairs\tenergy\tnote" and len(out.splitlines()) == 3
    rc, _, err = _fold(capsys, "-i", fa, "--model", "vienna", "-q")
    assert rc == 0 and err == ""
    rc, _, err = _fold(capsys, "-i", fa, "--model", "vienna", "--progress")
    assert rc == 0 and "2/2" in err  # the bar, even when standard error is not a terminal


def test_a_plot_that_fails_is_a_note_and_the_structures_are_written(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    from rnalm.structure import outputs

    real = outputs.arc_diagram

    def broken(structure, path):
        if structure.id == "b":
            raise ValueError("no room")
        return real(structure, path)

    monkeypatch.setattr(outputs, "arc_diagram", broken)
    fa = _fa(tmp_path, ">a\nGGGGAAAACCCC\n>b\nGGGAAACCC\n")
    rc, _, err = _fold(capsys, "-i", fa, "-o", str(tmp_path / "o"), "--model", "vienna", "--plots")
    assert rc == 0, err
    rows = _summary(tmp_path / "o" / "summary.tsv")
    assert rows[0]["note"] == "" and rows[1]["note"] == "plots not written: ValueError: no room"
    assert rows[1]["structure"] == "(((...)))" and (tmp_path / "o" / "a.arc.png").is_file()


def test_resume_folds_only_missing_records_and_gives_the_same_output(tmp_path, capsys, monkeypatch):
    from rnalm.structure import folding

    fa = _fa(tmp_path, "".join(f">r{i}\n{'GGGGAAAACCCC'[: 9 + i % 4]}\n" for i in range(6)))
    whole = tmp_path / "whole"
    assert _fold(capsys, "-i", fa, "-o", str(whole), "--model", "vienna", "--files", "ct,dbn")[0] == 0
    real, calls = folding.vienna_fold, []

    def stops_after_three(seq, rid, bpp=False):
        calls.append(rid)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(seq, rid, bpp=bpp)

    monkeypatch.setattr(folding, "vienna_fold", stops_after_three)
    out = tmp_path / "o"
    rc, _, err = _fold(capsys, "-i", fa, "-o", str(out), "--model", "vienna", "--files", "ct,dbn")
    assert rc == 130 and "3 of 6 records are kept" in err and "--resume" in err
    assert not out.exists()
    rc, _, err = _fold(capsys, "-i", fa, "-o", str(out), "--model", "vienna", "--files", "ct", "--resume")
    assert rc == 2 and "started with other options (files: ['ct', 'dbn'] then, ['ct'] now)" in err
    calls.clear()
    monkeypatch.setattr(
        folding, "vienna_fold", lambda seq, rid, bpp=False: calls.append(rid) or real(seq, rid, bpp=bpp)
    )
    rc, _, err = _fold(capsys, "-i", fa, "-o", str(out), "--model", "vienna", "--files", "ct,dbn", "--resume")
    assert rc == 0, err
    assert calls == ["r3", "r4", "r5"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in whole.iterdir())
    for p in whole.iterdir():
        assert (out / p.name).read_bytes() == p.read_bytes(), p.name
    assert not [q for q in tmp_path.iterdir() if q.name.startswith(".")]
    rc, _, err = _fold(capsys, "-i", fa, "-o", str(out), "--model", "vienna", "--files", "ct,dbn", "--resume")
    assert rc == 0 and "complete, nothing to resume (--overwrite folds again)" in err


@pytest.mark.parametrize(
    "fasta,msg",
    [
        (">ok\nACGU\n>empty\n>next\nACGU\n", r"record 'empty' \(line 3\): empty sequence"),
        (">a\nACGU\n>a\nACGU\n", r"duplicate record id 'a'"),
        ("ACGU\n", r"not FASTA"),
    ],
)
def test_an_unreadable_file_is_one_clear_error_and_writes_nothing(tmp_path, capsys, fasta, msg):
    out = tmp_path / "out"
    rc, _, err = _fold(capsys, "--input", _fa(tmp_path, fasta), "--output", str(out), "--model", "vienna")
    assert rc == 2 and err.startswith("rnalm fold: error: ") and err.count("\n") == 1
    assert re.search(msg, err), err
    assert not out.exists()


def test_option_errors_name_options_of_fold(tmp_path, capsys):
    fa = _fa(tmp_path, ">a\nGGGGAAAACCCC\n")
    o = str(tmp_path / "o")
    assert "--model names the predictor" in _fold(capsys, "-i", fa, "-o", o, "--model", "vienna", "--run", o)[2]
    assert (
        "--threshold apply to probability-map predictors; --model vienna predicts a structure"
        in _fold(capsys, "-i", fa, "--model", "vienna", "--threshold", "0.3")[2]
    )
    assert "--max-length must be positive" in _fold(capsys, "-i", fa, "--model", "vienna", "--max-length", "0")[2]
    assert "name the run directory: --model RUN_DIR" in _fold(capsys, "-i", fa, "--method", "run")[2]
    assert "--unknown must be N (or mask / unk" in _fold(capsys, "-i", fa, "--model", "vienna", "--unknown", "X")[2]
    assert (
        "--backbone applies to --model protrna-ss-head only"
        in _fold(capsys, "-i", fa, "--model", "vienna", "--backbone", "protrna")[2]
    )
    err = _fold(capsys, "-i", fa, "--model", "rnafold")[2]
    assert "--model rnafold: no such file or directory, and not a structure predictor's name" in err
    assert "vienna-mea" in err and "rnalm models" in err


def test_earlier_spellings_run_and_method_name_the_same_predictors(tmp_path, capsys, model_run):
    run, _ = model_run
    fa = _fa(tmp_path, ">a\nGAAAAC\n")
    by_model = _fold(capsys, "-i", fa, "--model", str(run))[1]
    assert _fold(capsys, "-i", fa, "--run", str(run))[1] == by_model
    assert _fold(capsys, "-i", fa, "--method", "vienna")[1] == _fold(capsys, "-i", fa, "--model", "vienna")[1]


def test_run_dir_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(RunModel, "load", classmethod(lambda cls, run_dir, device=None, **_kw: None))
    fa = _fa(tmp_path, ">a\nGGGGAAAACCCC\n")
    run = tmp_path / "run"
    rc, _, err = _fold(capsys, "-i", fa, "--model", str(run))
    assert rc == 2 and f"--model {run}: no such file or directory, and not a structure predictor's name" in err
    run.mkdir()
    assert "is not a trained `rnalm finetune` run (no run_info.json)" in _fold(capsys, "-i", fa, "--model", str(run))[2]
    (run / "run_info.json").write_text(json.dumps({"task": "regression"}))
    assert "is a 'regression' run, not a secondary-structure model" in _fold(capsys, "-i", fa, "--model", str(run))[2]
    (run / "run_info.json").write_text(json.dumps({"task": "structure"}))
    assert "no structure model could be loaded" in _fold(capsys, "-i", fa, "--model", str(run))[2]


def test_run_models_fold_in_batches_with_their_post_processing(tmp_path, capsys, model_run):
    run, model = model_run
    fa = _fa(tmp_path, ">a\nGAAAAC\n>b\nGAAAAAAA\n>c\nCAAAAG\n")
    out = tmp_path / "o"
    rc, _, err = _fold(capsys, "-i", fa, "-o", str(out), "--model", str(run), "--batch-size", "2", "--files", "dbn,npy")
    assert rc == 0, err
    assert model.calls == [[6, 8], [6]] and model.device is None
    assert _fold(capsys, "-i", fa, "--model", str(run), "--device", "cpu")[0] == 0 and model.device == "cpu"
    assert read_dbn(out / "a.dbn")[0].dot_bracket() == "(....)"
    args = ("-i", fa, "-o", str(out), "--model", str(run), "--files", "dbn,npy", "--overwrite", "--canonical-only")
    assert _fold(capsys, *args, "--threshold", "0.95")[0] == 0
    assert read_dbn(out / "a.dbn")[0].pairs == () and read_dbn(out / "b.dbn")[0].pairs == ()
    assert _fold(capsys, *args)[0] == 0
    assert [read_dbn(out / f"{k}.dbn")[0].pairs for k in "abc"] == [((0, 5),), (), ((0, 5),)]
    assert np.load(out / "b.npy")[0, 7] == pytest.approx(0.9)


def test_existing_output_needs_overwrite_and_overwrite_replaces_only_fold_output(tmp_path, capsys, child_lock):
    fa = _fa(tmp_path, ">hp\nGGGGAAAACCCC\n>b\nGGGAAACCC\n")
    out = tmp_path / "o"
    assert _fold(capsys, "-i", fa, "-o", str(out), "--model", "vienna", "--files", "dbn")[0] == 0
    rc, _, err = _fold(capsys, "-i", fa, "-o", str(out), "--model", "vienna")
    assert rc == 2 and "o: already exists; pass --resume to complete it or --overwrite to replace it" in err
    one = _fa(tmp_path, ">hp\nGGGGAAAACCCC\n", "one.fa")
    assert _fold(capsys, "-i", one, "-o", str(out), "--model", "vienna", "--files", "dbn", "--overwrite")[0] == 0
    assert not (out / "b.dbn").exists() and (out / "hp.dbn").is_file()  # replaced as a whole
    assert not [q for q in tmp_path.iterdir() if q.name.startswith(".")]  # no staging, old copy or lock left
    with child_lock(out) as pid:
        rc, _, err = _fold(capsys, "-i", one, "-o", str(out), "--model", "vienna", "--overwrite")
        assert rc == 2 and f"o: process {pid} is writing this output" in err
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("x")
    rc, _, err = _fold(capsys, "-i", one, "-o", str(mine), "--model", "vienna", "--overwrite")
    assert rc == 2 and "mine: exists and is not an rnalm fold output folder" in err
    inside = _fa(mine, ">hp\nGGGGAAAACCCC\n")
    rc, _, err = _fold(capsys, "-i", inside, "-o", str(mine), "--model", "vienna", "--overwrite")
    assert rc == 2 and "holds this command's input" in err
    assert sorted(p.name for p in mine.iterdir()) == sorted(["notes.txt", Path(inside).name])
