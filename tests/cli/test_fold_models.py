"""``rnalm fold --model``: every structure predictor by name and by path, on bad and long input as the
fold rules say (a note per record, never a failed file; ``--strict`` stops first), with the
post-processing options, and the ``rnalm models`` table of predictors."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from rnalm.cli import main
from rnalm.structure.vienna import vienna_fold

pytest.importorskip("RNA")

#: 12, 16 and 36 nt (past the small RNA-FM file's 30 and ProtRNA backbone's 20), and a bad letter.
RECORDS = ">hp\nGGGGAAAACCCC\n>n\nGGGGAANACCCCAAAA\n>long\n" + "GGGGAAAACCCC" * 3 + "\n>bad\nGGGGXAAACCCC\n"


@pytest.fixture
def cache(structure_files, monkeypatch):
    monkeypatch.setenv("RNALM_HOME", str(structure_files.home))
    monkeypatch.setenv("RNALM_OFFLINE", "1")
    return structure_files


@pytest.fixture
def fasta(tmp_path):
    path = tmp_path / "in.fa"
    path.write_text(RECORDS)
    return str(path)


def _fold(capsys, *argv):
    rc = main(["fold", *argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _rows(text: str) -> dict[str, dict]:
    return {r["id"]: r for r in csv.DictReader(io.StringIO(text), delimiter="\t")}


def _model_args(cache, name: str, by: str) -> list[str]:
    if name == "rna-fm-ss-resnet":
        return ["--model", name if by == "name" else str(cache.ss_resnet)]
    if name == "protrna-ss-head":
        ref = name if by == "name" else str(cache.protrna_head)
        return ["--model", ref, "--backbone", str(cache.protrna_backbone)]
    return ["--model", name]


PREDICTORS = [
    ("rna-fm-ss-resnet", "name", 30),
    ("rna-fm-ss-resnet", "path", 30),
    ("protrna-ss-head", "name", 20),
    ("protrna-ss-head", "path", 20),
    ("vienna", "name", None),
    ("vienna-mea", "name", None),
    ("vienna-bpp", "name", None),
]


@pytest.mark.parametrize("name,by,limit", PREDICTORS)
def test_every_predictor_folds_good_rows_and_notes_long_and_bad_ones(cache, fasta, capsys, name, by, limit):
    rc, out, err = _fold(capsys, "-i", fasta, *_model_args(cache, name, by), "-q")
    assert rc == 0, err
    rows = _rows(out)
    assert list(rows) == ["hp", "n", "long", "bad"]
    assert rows["hp"]["method"] == rows["n"]["method"] == name
    assert len(rows["hp"]["structure"]) == 12 and len(rows["n"]["structure"]) == 16
    if limit is None:
        assert rows["long"]["method"] == name and rows["long"]["note"] == ""
    else:  # past the model's limit: ViennaRNA MFE, marked
        assert rows["long"]["method"] == "vienna"
        assert rows["long"]["note"] == f"longer than the model's {limit} nt: ViennaRNA MFE"
        assert rows["long"]["structure"] == vienna_fold("GGGGAAAACCCC" * 3).structure.dot_bracket()
    assert rows["bad"]["method"] == "" and rows["bad"]["structure"] == "" and "'X'" in rows["bad"]["note"]


@pytest.mark.parametrize("name,by,limit", [p for p in PREDICTORS if p[2] is not None])
def test_long_error_and_strict_stop_before_writing(cache, fasta, tmp_path, capsys, name, by, limit):
    out = tmp_path / "o"
    rc, _, err = _fold(capsys, "-i", fasta, "-o", str(out), *_model_args(cache, name, by), "--long", "error")
    assert rc == 2 and f"record 'long': 36 nt is longer than the model's window of {limit} nt" in err
    assert "--long vienna" in err and not out.exists()
    rc, _, err = _fold(capsys, "-i", fasta, "-o", str(out), *_model_args(cache, name, by), "--strict")
    assert rc == 2 and "record 'bad'" in err and not out.exists()
    rc, stdout, _ = _fold(capsys, "-i", fasta, *_model_args(cache, name, by), "--long", "skip", "-q")
    assert rc == 0 and _rows(stdout)["long"]["note"] == f"longer than the model's {limit} nt: not folded (--long skip)"


def test_vienna_predictors_are_bounded_by_max_length(fasta, capsys):
    for name in ("vienna", "vienna-mea", "vienna-bpp"):
        rc, out, err = _fold(capsys, "-i", fasta, "--model", name, "--max-length", "20", "-q")
        assert rc == 0, err
        row = _rows(out)["long"]
        assert row["structure"] == "" and "--max-length 20" in row["note"], (name, row)


def test_maps_are_written_for_every_probability_predictor(cache, fasta, tmp_path, capsys):
    for name in ("rna-fm-ss-resnet", "protrna-ss-head", "vienna-bpp", "vienna-mea"):
        out = tmp_path / name
        rc, _, err = _fold(capsys, "-i", fasta, "-o", str(out), *_model_args(cache, name, "name"), "--files", "npy,ct")
        assert rc == 0, err
        p = np.load(out / "n.npy")
        assert p.shape == (16, 16) and np.allclose(p, p.T) and (p >= 0).all() and (p <= 1).all()
        assert (out / "hp.ct").is_file() and not (out / "bad.ct").exists()


def test_post_processing_options_reach_the_published_models(cache, fasta, capsys):
    for name in ("rna-fm-ss-resnet", "protrna-ss-head", "vienna-bpp"):
        args = ("-i", fasta, *_model_args(cache, name, "name"), "-q")
        none = _rows(_fold(capsys, *args, "--threshold", "1.0")[1])
        assert none["hp"]["pairs"] == "0" and none["n"]["pairs"] == "0", name
        loose = _rows(_fold(capsys, *args, "--threshold", "0.0", "--min-loop", "6", "--canonical-only")[1])
        db = loose["n"]["structure"]
        seq = "GGGGAANACCCCAAAA"
        stack = []
        for i, c in enumerate(db):
            if c == "(":
                stack.append(i)
            elif c == ")":
                j = stack.pop()
                assert i - j > 6 and seq[j] + seq[i] in {"GC", "CG", "AU", "UA", "GU", "UG"}, (name, db)


def test_a_path_that_is_no_structure_model_names_what_model_takes(tmp_path, fasta, capsys):
    other = tmp_path / "weights.pth"
    other.write_bytes(b"\x89HDF\r\n\x1a\nnot really")
    rc, _, err = _fold(capsys, "-i", fasta, "--model", str(other))
    assert rc == 2 and "is not a structure model rnalm knows" in err and "--backbone" in err


def test_models_lists_every_structure_predictor_with_what_it_needs(cache, capsys):
    assert main(["models", "--cache-dir", str(cache.home)]) == 0
    out = capsys.readouterr().out
    table = out[out.index("Structure predictors (rnalm fold --model NAME") :].splitlines()[1:]
    assert table[0].split()[:4] == ["--model", "NEEDS", "LIMIT", "POST-PROCESSING"]
    names = [line.split()[0] for line in table[1:]]
    assert names == ["shipped", "RUN_DIR", "rna-fm-ss-resnet", "protrna-ss-head", "vienna", "vienna-mea", "vienna-bpp"]
    resnet = next(line for line in table if line.startswith("rna-fm-ss-resnet"))
    assert "1,022 nt" in resnet and "p > 0.5, min loop 1" in resnet and "rna-fm-ss-resnet: yes" in resnet
    head = next(line for line in table if line.startswith("protrna-ss-head"))
    assert "510 nt" in head and "p > 0.25, min loop 0" in head and "protrna: no" in head
    assert main(["models", "-v", "--cache-dir", str(cache.home)]) == 0
    assert "protrna-ss-head: ProtRNA RotaFormer head" in capsys.readouterr().out
