"""Bad input: a one-line error naming the record, exit status 2, and existing output left as it was."""

from __future__ import annotations

import hashlib

import pytest

from rnalm.cli import main
from rnalm.io.native import save_native

from .helpers import random_records, write_fasta

GOOD = random_records(30, 5, 40, seed=9)


def tree_digest(path):
    """Digest of a file, or of every file (name and bytes) under a directory."""
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for p in files:
        h.update(str(p.relative_to(path.parent)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def embed(model_dir, inp, out, *extra):
    return main(["embed", "--model", str(model_dir), "--input", str(inp), "--output", str(out), "--quiet", *extra])


BAD_INPUTS = {
    "empty": ("in.fa", "", "in.fa: empty file, no sequence records"),
    "not_fasta": ("in.fa", "ACGU\nGGCC\n", "not FASTA"),
    "not_fasta_or_table": ("in.txt", "hello world\n", "not FASTA"),
    "duplicate_ids": (
        "in.fa",
        "".join(f">{r}\n{s}\n" for r, s in GOOD) + ">r4\nACGU\n",
        "duplicate record id 'r4' \\(line 61\\)",
    ),
    "empty_sequence": (
        "in.fa",
        "".join(f">{r}\n{s}\n" for r, s in GOOD) + ">hollow\n>last\nAC\n",
        "record 'hollow' \\(line 61\\): empty sequence",
    ),
    "invalid_character": (
        "in.fa",
        "".join(f">{r}\n{s}\n" for r, s in GOOD) + ">odd\nACJGU\n",
        "record 'odd': invalid character 'J' at position 3",
    ),
    "csv_empty_sequence": ("in.csv", "id,sequence\na,ACGU\nb,\n", "record 'b' \\(line 3\\): empty sequence"),
}


@pytest.mark.parametrize("storage", ["hdf5", "npy"])
@pytest.mark.parametrize("mode", ["--resume", "--overwrite"])
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_fails_cleanly_and_keeps_the_output(tmp_path, tiny_dir, capsys, case, mode, storage):
    model_dir, _, _ = tiny_dir
    out = tmp_path / "out"
    assert embed(model_dir, write_fasta(tmp_path / "good.fa", GOOD), out, "--output-format", storage) == 0
    before = tree_digest(out)
    capsys.readouterr()
    name, text, message = BAD_INPUTS[case]
    bad = tmp_path / name
    bad.write_text(text)
    assert embed(model_dir, bad, out, "--output-format", storage, mode) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rnalm embed: error: ") and len(err.splitlines()) == 1, err
    assert pytest.importorskip("re").search(message, err), err
    assert tree_digest(out) == before


def test_codon_model_refuses_partial_codons(tmp_path, tiny_mrnafm, capsys):
    model, alphabet = tiny_mrnafm
    model_dir = save_native(model, alphabet, tmp_path / "mrna")
    inp = write_fasta(tmp_path / "in.fa", [("ok", "AUGGCC"), ("frameshift", "AUGGCCA")])
    assert embed(model_dir, inp, tmp_path / "out.h5") == 2
    assert "record 'frameshift': length 7 is not a multiple of 3" in capsys.readouterr().err
    assert not (tmp_path / "out.h5").exists()


def test_unwritable_or_foreign_output_paths(tmp_path, tiny_dir, capsys):
    model_dir, _, _ = tiny_dir
    inp = write_fasta(tmp_path / "in.fa", GOOD[:3])
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    assert embed(model_dir, inp, blocker / "out.h5") == 2
    assert "cannot create the output's directory" in capsys.readouterr().err
    foreign = tmp_path / "notes.h5"
    foreign.write_text("my notes")
    assert embed(model_dir, inp, foreign) == 2
    assert "already exists; pass --resume" in capsys.readouterr().err
    assert embed(model_dir, inp, foreign, "--resume") == 2
    assert "is not an rnalm embedding output" in capsys.readouterr().err
    assert foreign.read_text() == "my notes"
    d = tmp_path / "somedir"
    d.mkdir()
    assert embed(model_dir, inp, d, "--output-format", "npy", "--resume") == 2
    assert "not an rnalm embedding output" in capsys.readouterr().err
    assert embed(model_dir, tmp_path / "missing.fa", tmp_path / "o.h5") == 2
    assert "missing.fa: no such input file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args,message",
    [
        (["--dtype", "float16", "--device", "cpu"], "float16 needs a GPU"),
        (["--layers", "7"], "--layers: 7 is out of range for a 2-layer model"),
        (["--pool", "max"], "--pool: 'max' is not one of"),
        (["--tokens-per-batch", "0"], "--tokens-per-batch must be positive"),
        (["--resume", "--output-format", "npy"], None),  # a fresh output with --resume is simply created
    ],
)
def test_bad_options(tmp_path, tiny_dir, capsys, args, message):
    model_dir, _, _ = tiny_dir
    inp = write_fasta(tmp_path / "in.fa", GOOD[:3])
    rc = embed(model_dir, inp, tmp_path / "out", *args)
    err = capsys.readouterr().err
    if message is None:
        assert rc == 0, err
    else:
        assert rc == 2 and message in err, err
        assert not (tmp_path / "out").exists()
