"""``rnalm embed --overwrite`` / ``--resume`` touch only rnalm's own embedding output, one writer at a time."""

from __future__ import annotations

import numpy as np
import pytest

from rnalm.embedding import EmbedOptions, embed_file, loop, open_embeddings
from rnalm.embedding.dir_store import LOG_FILE
from rnalm.io.output_guard import MARKER_FILE, lock_path, read_marker

from .helpers import random_records, write_fasta
from .test_bad_input import embed, tree_digest

RECORDS = random_records(6, 5, 30, seed=3)


def test_overwrite_refuses_a_folder_that_holds_the_input(tmp_path, tiny_dir, capsys):
    """An earlier version: `--output ud3 --output-format npy --overwrite` removed ud3/in.fa and ud3/notes.txt."""
    model_dir, _, _ = tiny_dir
    ud3 = tmp_path / "ud3"
    ud3.mkdir()
    inp = write_fasta(ud3 / "in.fa", RECORDS)
    (ud3 / "notes.txt").write_text("my notes\n")
    before = tree_digest(ud3)
    assert embed(model_dir, inp, ud3, "--output-format", "npy", "--overwrite") == 2
    err = capsys.readouterr().err
    assert "ud3: holds this command's input" in err and "choose another output path" in err
    assert tree_digest(ud3) == before


def test_overwrite_refuses_a_folder_of_other_files(tmp_path, tiny_dir, capsys):
    model_dir, _, _ = tiny_dir
    inp = write_fasta(tmp_path / "in.fa", RECORDS)
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "data.csv").write_text("a,b\n1,2\n")
    before = tree_digest(folder)
    for storage in ("npy", "pt", "hdf5"):
        assert embed(model_dir, inp, folder, "--output-format", storage, "--overwrite") == 2
        assert "is not an rnalm embedding output" in capsys.readouterr().err
    assert tree_digest(folder) == before
    foreign = tmp_path / "table.h5"
    foreign.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)  # HDF5 magic, but not written by rnalm
    assert embed(model_dir, inp, foreign, "--overwrite") == 2
    assert "table.h5: exists and is not an rnalm embedding output" in capsys.readouterr().err


def test_overwrite_refuses_an_embedding_output_that_now_holds_the_input(tmp_path, tiny_dir, capsys):
    model_dir, _, _ = tiny_dir
    out = tmp_path / "emb"
    assert embed(model_dir, write_fasta(tmp_path / "a.fa", RECORDS), out, "--output-format", "npy") == 0
    inp = write_fasta(out / "b.fa", RECORDS[:2])
    before = tree_digest(out)
    assert embed(model_dir, inp, out, "--output-format", "npy", "--overwrite") == 2
    assert "holds this command's input" in capsys.readouterr().err
    assert tree_digest(out) == before


@pytest.mark.parametrize("old,new", [("npy", "npy"), ("hdf5", "hdf5"), ("npy", "hdf5"), ("hdf5", "pt")])
def test_overwrite_replaces_rnalm_output_and_leaves_nothing_beside_it(tmp_path, tiny_dir, old, new):
    model_dir, _, _ = tiny_dir
    out = tmp_path / "out"
    assert embed(model_dir, write_fasta(tmp_path / "a.fa", RECORDS), out, "--output-format", old) == 0
    # a staging copy left by a killed --overwrite run is rnalm's own and is cleaned up
    stale = tmp_path / ".out.rnalm-new-999999"
    assert embed(model_dir, write_fasta(tmp_path / "s.fa", RECORDS[:1]), stale, "--output-format", "npy") == 0
    assert (
        embed(model_dir, write_fasta(tmp_path / "b.fa", RECORDS[:2]), out, "--output-format", new, "--overwrite") == 0
    )
    with open_embeddings(out) as emb:
        assert emb.ids == [r for r, _ in RECORDS[:2]] and emb.metadata["storage"] == new
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.fa", "b.fa", "out", "s.fa", "tiny_model"]
    if new != "hdf5":
        assert read_marker(out) == "embeddings"


def test_directory_outputs_carry_the_marker(tmp_path, tiny_dir):
    model_dir, _, _ = tiny_dir
    out = tmp_path / "out"
    assert embed(model_dir, write_fasta(tmp_path / "a.fa", RECORDS), out, "--output-format", "pt") == 0
    assert (out / MARKER_FILE).is_file() and read_marker(out) == "embeddings"
    assert not lock_path(out).exists()


@pytest.mark.parametrize(
    "storage,mode", [("hdf5", "--overwrite"), ("npy", "--overwrite"), ("npy", "--resume"), ("hdf5", "--resume")]
)
def test_second_writer_is_refused_with_the_holders_pid(tmp_path, tiny_dir, capsys, child_lock, storage, mode):
    """An earlier version: two concurrent `embed --overwrite` (or `--resume`) runs both exited 0."""
    model_dir, _, _ = tiny_dir
    inp = write_fasta(tmp_path / "in.fa", RECORDS)
    out = tmp_path / "out"
    assert embed(model_dir, inp, out, "--output-format", storage) == 0
    before = tree_digest(out)
    capsys.readouterr()
    with child_lock(out) as pid:
        assert embed(model_dir, inp, out, "--output-format", storage, mode) == 2
        err = capsys.readouterr().err
        assert f"out: process {pid} is writing this output" in err, err
        assert tree_digest(out) == before
    assert embed(model_dir, inp, out, "--output-format", storage, mode) == 0  # free again once the holder is gone


def test_a_journal_with_every_id_twice_reads_back_once(tmp_path, tiny_dir):
    """Two concurrent `--resume` runs of older versions logged every id twice."""
    model_dir, _, _ = tiny_dir
    out = tmp_path / "out"
    assert embed(model_dir, write_fasta(tmp_path / "in.fa", RECORDS), out, "--output-format", "npy") == 0
    with open_embeddings(out) as emb:
        expected = {r: emb[r] for r in emb.ids}
    log = out / LOG_FILE
    log.write_bytes(log.read_bytes() * 2)
    with open_embeddings(out) as emb:
        assert emb.ids == [r for r, _ in RECORDS]
        for r in emb.ids:
            for k, v in expected[r].items():
                np.testing.assert_array_equal(emb[r][k], v)
    assert embed(model_dir, tmp_path / "in.fa", out, "--output-format", "npy", "--resume") == 0


def test_a_failed_overwrite_leaves_the_old_output_as_it_was(tmp_path, tiny_dir, monkeypatch):
    model_dir, _, _ = tiny_dir
    out = tmp_path / "out"
    assert embed(model_dir, write_fasta(tmp_path / "a.fa", RECORDS), out, "--output-format", "npy") == 0
    before = tree_digest(out)

    def crash(*_a, **_k):
        raise RuntimeError("simulated crash mid-run")

    monkeypatch.setattr(loop, "embed_batch", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        embed_file(model_dir, tmp_path / "a.fa", out, EmbedOptions(output_format="npy", overwrite=True, progress=False))
    assert tree_digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.fa", "out", "tiny_model"]
