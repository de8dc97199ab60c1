"""Atomic commits and --resume: a run killed with SIGKILL finishes with output identical to an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import h5py
import pytest

from rnalm.cli import main
from rnalm.embedding import EmbedOptions, embed_file, open_embeddings
from rnalm.embedding.metadata import old_model_id
from rnalm.embedding.storage import make_store
from rnalm.embedding.store import OutputError
from rnalm.io.digest import state_sha256

from .helpers import random_records, write_fasta

N = 400


def snapshot(path):
    """Everything a reader sees: ids in order, attributes, arrays (compared bit for bit)."""
    with open_embeddings(path) as emb:
        return {rid: (emb.info(rid), emb[rid]) for rid in emb.ids}, emb.ids


def assert_identical(a, b):
    (recs_a, ids_a), (recs_b, ids_b) = a, b
    assert ids_a == ids_b
    for rid in ids_a:
        info_a, arr_a = recs_a[rid]
        info_b, arr_b = recs_b[rid]
        assert info_a == info_b, rid
        assert arr_a.keys() == arr_b.keys()
        for k in arr_a:
            assert arr_a[k].dtype == arr_b[k].dtype and arr_a[k].shape == arr_b[k].shape
            assert arr_a[k].tobytes() == arr_b[k].tobytes(), (rid, k)


def n_committed(out):
    """Records committed to a directory output, read without disturbing the writer."""
    log = out / "rnalm_embed.done"
    return log.read_bytes().count(b"\n") if log.exists() else 0


def start_and_kill(model_dir, inp, out, storage, extra=()):
    """Start `rnalm embed` in a subprocess and SIGKILL it once some records are on disk."""
    cmd = [
        sys.executable,
        "-m",
        "rnalm",
        "embed",
        "--model",
        str(model_dir),
        "--input",
        str(inp),
        "--output",
        str(out),
        "--output-format",
        storage,
        "--pool",
        "per-token",
        "mean",
        "--tokens-per-batch",
        "64",
        "--quiet",
        "--threads",
        "1",
        "--dtype",
        "float32",  # as the in-process reference (whose auto is float32: see conftest)
        *extra,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = None
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if storage == "hdf5":
            size = out.stat().st_size if out.exists() else 0
            if size and base is None:
                base = size
            if base is not None and size > base + 20_000:
                break
        elif n_committed(out) >= 20:
            break
        time.sleep(0.002)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.communicate()}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("storage", ["hdf5", "npy"])
def test_resume_after_sigkill_is_bit_identical(tmp_path, tiny_dir, storage):
    model_dir, _, _ = tiny_dir
    seqs = random_records(N, 1, 62, seed=21)
    inp = write_fasta(tmp_path / "in.fa", seqs)
    opts = dict(pools=["per-token", "mean"], tokens_per_batch=64, output_format=storage, progress=False)
    ref_out = tmp_path / f"ref.{storage}"
    embed_file(str(model_dir), inp, ref_out, EmbedOptions(**opts))
    reference = snapshot(ref_out)

    out = tmp_path / f"out.{storage}"
    kills = 2 if storage == "hdf5" else 1
    start_and_kill(model_dir, inp, out, storage)
    seen = []
    for k in range(kills):
        if storage == "hdf5" and make_store(out, "hdf5").damage() is not None:
            seen.append(0)  # killed during a flush (rare): HDF5 gives no guarantee; --resume starts over
        else:
            with open_embeddings(out) as emb:  # readable after the kill, and only complete records
                seen.append(len(emb))
                assert 0 < len(emb) < N and not emb.finished
        if k + 1 < kills:
            start_and_kill(model_dir, inp, out, storage, extra=["--resume"])
    # no --tokens-per-batch: a resume adopts the interrupted run's batching, hence the same batches
    if seen[-1]:
        opts.pop("tokens_per_batch")
    summary = embed_file(str(model_dir), inp, out, EmbedOptions(resume=True, **opts))
    assert summary.n_skipped == seen[-1] and summary.n_embedded == N - seen[-1]
    assert_identical(snapshot(out), reference)
    with open_embeddings(out) as emb:
        assert emb.finished


def damage_hdf5(path):
    """What a kill during an HDF5 flush can leave: HDF5's own structures overwritten half-way."""
    with open(path, "r+b") as fh:
        fh.seek(512 + 8)  # the superblock, after rnalm's user block and the HDF5 signature
        fh.write(b"\xff" * 40)


def test_an_hdf5_output_a_kill_left_unreadable_is_started_over_by_resume(tmp_path, tiny_dir, capsys):
    model_dir, _, _ = tiny_dir
    seqs = random_records(40, 1, 62, seed=8)
    inp = write_fasta(tmp_path / "in.fa", seqs)
    reference = tmp_path / "ref.h5"
    assert main(["embed", "--model", str(model_dir), "-i", str(inp), "-o", str(reference), "-q"]) == 0
    out = tmp_path / "out.h5"
    part = write_fasta(tmp_path / "part.fa", seqs[:15])
    assert main(["embed", "--model", str(model_dir), "-i", str(part), "-o", str(out), "-q"]) == 0
    damage_hdf5(out)
    with pytest.raises(OutputError, match="out.h5: cannot open HDF5 output"):
        open_embeddings(out)
    args = ["embed", "--model", str(model_dir), "-i", str(inp), "-o", str(out)]
    assert main([*args, "--resume"]) == 0  # still known as rnalm's output (user block), so resumable
    err = capsys.readouterr().err
    assert "out.h5 cannot be read" in err and "starting it over" in err and "40 records in" in err
    assert_identical(snapshot(out), snapshot(reference))
    damage_hdf5(out)
    assert main([*args, "--overwrite", "-q"]) == 0  # and replaceable
    assert_identical(snapshot(out), snapshot(reference))


def test_half_written_hdf5_group_is_redone(tmp_path, tiny_rnafm):
    model, alphabet = tiny_rnafm
    seqs = random_records(6, 5, 40, seed=2)
    inp = write_fasta(tmp_path / "in.fa", seqs)
    out = tmp_path / "out.h5"
    opts = dict(pools=["per-token"], progress=False)
    embed_file(model, inp, out, EmbedOptions(**opts), alphabet=alphabet)
    reference = snapshot(out)
    with h5py.File(out, "r+") as f:  # what a kill between datasets and the `complete` flag leaves
        del f["r3"].attrs["complete"]
        f["r3/layer_2/per_token"][0, 0] = 12345.0
    with open_embeddings(out) as emb:
        assert "r3" not in emb and len(emb) == 5
    summary = embed_file(model, inp, out, EmbedOptions(resume=True, **opts), alphabet=alphabet)
    assert summary.dropped == 1 and summary.n_embedded == 1 and summary.n_skipped == 5
    assert_identical(snapshot(out), reference)


def test_torn_log_line_and_stale_temp_files_are_cleaned(tmp_path, tiny_rnafm):
    model, alphabet = tiny_rnafm
    inp = write_fasta(tmp_path / "in.fa", random_records(5, 5, 40, seed=3))
    out = tmp_path / "out"
    opts = dict(pools=["mean"], output_format="pt", progress=False)
    embed_file(model, inp, out, EmbedOptions(**opts), alphabet=alphabet)
    reference = snapshot(out)
    log = out / "rnalm_embed.done"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:3]) + lines[3][:10])  # killed while appending the 4th line
    (out / "r4.pt.tmp-999").write_bytes(b"partial")
    with open_embeddings(out) as emb:
        assert len(emb) == 3
    summary = embed_file(model, inp, out, EmbedOptions(resume=True, **opts), alphabet=alphabet)
    assert summary.n_embedded == 2 and not list(out.glob("*.tmp-*"))
    assert all(json.loads(line) for line in log.read_bytes().splitlines())
    assert_identical(snapshot(out), reference)


def test_resume_adds_new_records_and_refuses_changed_ones(tmp_path, tiny_rnafm):
    model, alphabet = tiny_rnafm
    seqs = random_records(8, 5, 40, seed=4)
    out = tmp_path / "out.h5"
    opts = dict(pools=["mean"], progress=False)
    embed_file(model, write_fasta(tmp_path / "a.fa", seqs[:5]), out, EmbedOptions(**opts), alphabet=alphabet)
    s = embed_file(
        model, write_fasta(tmp_path / "b.fa", seqs), out, EmbedOptions(resume=True, **opts), alphabet=alphabet
    )
    assert (s.n_skipped, s.n_embedded) == (5, 3)
    with open_embeddings(out) as emb:
        assert emb.ids == [rid for rid, _ in seqs]
    before = out.read_bytes()
    changed = [(rid, seq + "A") if rid == "r2" else (rid, seq) for rid, seq in seqs]
    with pytest.raises(OutputError, match="record 'r2'.*different sequence"):
        embed_file(
            model, write_fasta(tmp_path / "c.fa", changed), out, EmbedOptions(resume=True, **opts), alphabet=alphabet
        )
    with pytest.raises(OutputError, match="other settings.*pools"):
        embed_file(
            model, tmp_path / "b.fa", out, EmbedOptions(resume=True, pools=["cls"], progress=False), alphabet=alphabet
        )
    with pytest.raises(OutputError, match="already exists; pass resume="):
        embed_file(model, tmp_path / "b.fa", out, EmbedOptions(**opts), alphabet=alphabet)
    assert out.read_bytes() == before
    s = embed_file(model, tmp_path / "b.fa", out, EmbedOptions(overwrite=True, **opts), alphabet=alphabet)
    assert (s.n_skipped, s.n_embedded) == (0, 8)


def _as_written_by_an_earlier_version(out, model_id):
    """Rewrite an npy output's metadata the way versions before ``weights_id`` wrote it."""
    meta_file = out / "rnalm_embed.json"
    meta = json.loads(meta_file.read_text())
    del meta["weights_id"]
    meta["model_id"] = model_id
    meta_file.write_text(json.dumps(meta))


@pytest.mark.parametrize("from_file", [True, False])
def test_an_output_of_an_earlier_version_resumes_with_its_model(tmp_path, tiny_dir, from_file):
    model_dir, model, alphabet = tiny_dir
    seqs = random_records(6, 5, 40, seed=5)
    out = tmp_path / "out"
    opts = dict(pools=["mean"], output_format="npy", progress=False)
    src = (str(model_dir),) if from_file else (model,)
    kw = {} if from_file else {"alphabet": alphabet}
    embed_file(*src, write_fasta(tmp_path / "a.fa", seqs[:4]), out, EmbedOptions(**opts), **kw)
    meta = json.loads((out / "rnalm_embed.json").read_text())
    assert meta["weights_id"] == meta["model_id"] == state_sha256(model)  # the id a fine-tuning run records
    old_id = meta["weights_sha256"] if from_file else old_model_id(model, None)
    _as_written_by_an_earlier_version(out, old_id)
    s = embed_file(*src, write_fasta(tmp_path / "b.fa", seqs), out, EmbedOptions(resume=True, **opts), **kw)
    assert (s.n_skipped, s.n_embedded) == (4, 2)
    assert json.loads((out / "rnalm_embed.json").read_text())["weights_id"] == state_sha256(model)
    _as_written_by_an_earlier_version(out, "state-sha256:" + "0" * 64)  # another model's id
    with pytest.raises(OutputError, match="other settings.*model_id"):
        embed_file(*src, tmp_path / "b.fa", out, EmbedOptions(resume=True, **opts), **kw)
