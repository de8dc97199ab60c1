"""torchrun sharding (ranks simulated with RANK/WORLD_SIZE), the parts reader, and embed-merge."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from rnalm.cli import main
from rnalm.embedding import EmbedOptions, embed_file, merge_parts, open_embeddings
from rnalm.embedding.store import OutputError

from .helpers import random_records, write_fasta

SEQS = random_records(23, 1, 80, seed=13)  # a few need windows


def run_ranks(model, alphabet, inp, out, world, monkeypatch, storage="hdf5"):
    for rank in range(world):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", str(world))
        s = embed_file(
            model,
            inp,
            out,
            EmbedOptions(pools=["per-token", "mean"], output_format=storage, progress=False, tokens_per_batch=256),
            alphabet=alphabet,
        )
        assert s.output.name == f"{out.name}.rank{rank}-of-{world}" and (s.rank, s.world_size) == (rank, world)
        assert s.n_records == len(range(rank, len(SEQS), world))
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")


def read_all(path):
    with open_embeddings(path) as emb:
        return emb.ids, {rid: emb[rid] for rid in emb.ids}, emb.parts


@pytest.mark.parametrize("storage", ["hdf5", "npy"])
def test_ranks_parts_reader_and_merge(tmp_path, tiny_rnafm, monkeypatch, storage):
    model, alphabet = tiny_rnafm
    inp = write_fasta(tmp_path / "in.fa", SEQS)
    single = tmp_path / "single"
    embed_file(
        model,
        inp,
        single,
        EmbedOptions(pools=["per-token", "mean"], output_format=storage, progress=False),
        alphabet=alphabet,
    )
    out = tmp_path / "sharded"
    run_ranks(model, alphabet, inp, out, 3, monkeypatch, storage)
    assert not out.exists()
    for rank in range(3):
        with open_embeddings(tmp_path / f"sharded.rank{rank}-of-3") as part:
            assert [SEQS.index((r, dict(SEQS)[r])) % 3 for r in part.ids] == [rank] * len(part)
    ids, parts_view, n_parts = read_all(out)  # the reader sees all parts as one dataset, in input order
    assert n_parts == 3 and ids == [rid for rid, _ in SEQS]
    ref_ids, ref, _ = read_all(single)
    for rid in ids:
        for k in ref[rid]:
            np.testing.assert_allclose(parts_view[rid][k], ref[rid][k], atol=3e-5, rtol=1e-4)
    res = merge_parts(out)
    assert (res.parts, res.records) == (3, len(SEQS))
    assert out.exists() and not list(tmp_path.glob("sharded.rank*"))
    merged_ids, merged, n = read_all(out)
    assert n == 1 and merged_ids == ids
    for rid in ids:  # merging copies, bit for bit
        assert all(merged[rid][k].tobytes() == parts_view[rid][k].tobytes() for k in merged[rid])
    with open_embeddings(out) as emb:
        assert emb.finished and emb.metadata["world_size"] == 1 and emb.metadata["merged_from"] == 3


def test_merge_refuses_incomplete_sets(tmp_path, tiny_rnafm, monkeypatch, capsys):
    model, alphabet = tiny_rnafm
    inp = write_fasta(tmp_path / "in.fa", SEQS)
    out = tmp_path / "o.h5"
    assert main(["embed-merge", str(out)]) == 2
    assert "no parts" in capsys.readouterr().err
    run_ranks(model, alphabet, inp, out, 2, monkeypatch, storage="npy")
    part1 = tmp_path / "o.h5.rank1-of-2"
    meta = json.loads((part1 / "rnalm_embed.json").read_text())
    (part1 / "rnalm_embed.json").write_text(json.dumps({**meta, "finished": False}))
    with pytest.raises(OutputError, match="rank1-of-2: this rank has not finished"):
        merge_parts(out)
    (part1 / "rnalm_embed.json").write_text(json.dumps(meta))
    part1.rename(tmp_path / "aside")
    with pytest.raises(OutputError, match="parts for ranks \\[1\\] of 2 are missing"):
        merge_parts(out)
    (tmp_path / "aside").rename(part1)
    assert main(["embed-merge", str(out), "--keep-parts"]) == 0
    assert part1.exists() and out.is_dir()
    assert capsys.readouterr().err.strip().endswith(f"rnalm embed-merge: 2 parts, {len(SEQS)} records -> {out}")
    assert main(["embed-merge", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_merge_flag_without_rendezvous_is_refused(tmp_path, tiny_dir, monkeypatch, capsys):
    model_dir, _, _ = tiny_dir
    inp = write_fasta(tmp_path / "in.fa", SEQS[:4])
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    assert (
        main(
            [
                "embed",
                "--model",
                str(model_dir),
                "--input",
                str(inp),
                "--output",
                str(tmp_path / "o.h5"),
                "--merge",
                "--quiet",
            ]
        )
        == 2
    )
    assert "--merge with several ranks needs torchrun" in capsys.readouterr().err
    monkeypatch.setenv("RANK", "2")
    assert main(["embed", "--model", str(model_dir), "--input", str(inp), "--output", str(tmp_path / "o.h5")]) == 2
    assert "invalid RANK=2 for WORLD_SIZE=2" in capsys.readouterr().err


@pytest.mark.slow
def test_real_torchrun_with_merge(tmp_path, tiny_dir):
    """Two real ranks under torchrun (gloo barrier for --merge); slow because of process start-up."""
    model_dir, _, _ = tiny_dir
    inp = write_fasta(tmp_path / "in.fa", SEQS)
    out = tmp_path / "o.h5"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        "29533",
        "-m",
        "rnalm",
        "embed",
        "--model",
        str(model_dir),
        "--input",
        str(inp),
        "--output",
        str(out),
        "--merge",
        "--quiet",
        "--threads",
        "1",
        "--device",
        "cpu",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with open_embeddings(out) as emb:
        assert emb.ids == [rid for rid, _ in SEQS] and emb.metadata["merged_from"] == 2
