"""--dtype in embedding runs (bfloat16 output, metadata, resume) and the threaded batch loop; the
choice itself (auto, float16 on GPU only, preparing a model) is tested in tests/test_precision.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnalm import precision
from rnalm.embedding import EmbedOptions, embed_file, embed_records, open_embeddings
from rnalm.embedding.batching import Preparer, plan_batches
from rnalm.embedding.loop import Collector, Prefetcher, embed_batches
from rnalm.embedding.outputs import Assembler
from rnalm.embedding.plan import rank_work
from rnalm.errors import RnalmError
from rnalm.io.seqio import Record

from .helpers import random_records, write_fasta

CPU = torch.device("cpu")


def with_bf16_units(monkeypatch):
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"amx_bf16"}))


def test_bfloat16_output_is_close_to_float32_and_says_how_it_was_made(tmp_path, tiny_dir, monkeypatch):
    model_dir, _, _ = tiny_dir
    inp = write_fasta(tmp_path / "in.fa", random_records(12, 5, 60, seed=3))
    ref = embed_file(str(model_dir), inp, tmp_path / "a.h5", EmbedOptions(pools=["per-token"], progress=False))
    with_bf16_units(monkeypatch)
    s = embed_file(str(model_dir), inp, tmp_path / "b.h5", EmbedOptions(pools=["per-token"], progress=False))
    assert s.line().endswith("; bfloat16 autocast (auto: CPU has amx_bf16)")
    assert ref.line().endswith("; float32 (auto: CPU lacks amx_bf16 and avx512_bf16)")
    with open_embeddings(tmp_path / "a.h5") as a, open_embeddings(tmp_path / "b.h5") as b:
        assert (b.metadata["dtype"], b.metadata["dtype_mode"]) == ("bfloat16", "autocast")
        assert b.metadata["dtype_reason"] == "auto: CPU has amx_bf16"
        assert a.ids == b.ids
        for rid in a.ids:
            x, y = a[rid]["layer_2/per_token"], b[rid]["layer_2/per_token"]
            assert y.dtype == np.float32
            cos = (x * y).sum(1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)
            assert cos.min() > 0.999


def test_notebook_dtype_keyword(tiny_rnafm):
    import rnalm

    seqs = ["ACGUACGUAG", "GGGCCCAUAU"]
    x = rnalm.embed(seqs, tiny_rnafm, dtype="float32", progress=False)
    y = rnalm.embed(seqs, tiny_rnafm, dtype="bfloat16", progress=False)
    assert x.shape == y.shape and np.abs(x - y).max() < 0.1
    assert {p.dtype for p in tiny_rnafm[0].parameters()} == {torch.float32}


def planned(model, alphabet, n=40):
    records = [Record(rid, seq, index=i) for i, (rid, seq) in enumerate(random_records(n, 1, 60, seed=5))]
    return plan_batches(rank_work(records, Preparer(alphabet), 0, 1), 64, 16, 2)


@pytest.mark.parametrize("done", [set(), {"r3", "r17", "r30"}])
def test_prefetched_loop_equals_the_serial_loop_bit_for_bit(tiny_rnafm, done):
    model, alphabet = tiny_rnafm
    runs = []
    for depth in (0, 1, 3):
        sink = Collector()
        embed_batches(
            model, alphabet, planned(model, alphabet), done, Assembler([2], {"per_token", "mean"}, False, False),
            [2], ["per_token", "mean"], False, False, CPU, sink, None, prefetch=depth,
        )  # fmt: skip
        runs.append(sink.records)
    for other in runs[1:]:
        assert [r.meta.id for r in other] == [r.meta.id for r in runs[0]]  # the order records complete in
        for a, b in zip(runs[0], other):
            assert a.arrays.keys() == b.arrays.keys()
            assert all(a.arrays[k].tobytes() == b.arrays[k].tobytes() for k in a.arrays)
    assert not done & {r.meta.id for r in runs[0]}


def test_prefetcher_raises_where_reading_failed_and_stops_when_left(tiny_rnafm):
    _, alphabet = tiny_rnafm
    batches = list(planned(None, alphabet))

    def failing():
        yield from batches[:2]
        raise ValueError("bad record")

    got = []
    with pytest.raises(ValueError, match="bad record"), Prefetcher(failing(), alphabet) as pre:
        for batch, tokens in pre:
            got.append(batch)
            assert tokens.shape[0] == len(batch.items)
    assert got == batches[:2]
    with Prefetcher(iter(batches), alphabet, depth=1) as pre:
        next(iter(pre))
    assert not pre._t.is_alive()  # the reader thread ended although the batches were not all taken


def test_memory_path_matches_the_file_at_float32(tmp_path, tiny_rnafm):
    model, alphabet = tiny_rnafm
    seqs = random_records(30, 1, 60, seed=8)
    out = tmp_path / "o.h5"
    opts = EmbedOptions(pools=["per-token"], progress=False, tokens_per_batch=64, lookahead=8)
    embed_file(model, write_fasta(tmp_path / "in.fa", seqs), out, opts, alphabet=alphabet)
    mem = embed_records(model, [Record(r, s, index=i) for i, (r, s) in enumerate(seqs)], opts, alphabet=alphabet)
    with open_embeddings(out) as emb:
        assert emb.ids == mem.ids == [r for r, _ in seqs]
        for rid, arr in zip(mem.ids, mem.arrays(-1, "per-token")):
            assert emb[rid]["layer_2/per_token"].tobytes() == arr.tobytes()


def test_resume_with_auto_continues_in_the_interrupted_runs_type(tmp_path, tiny_rnafm, monkeypatch):
    model, alphabet = tiny_rnafm
    seqs = random_records(8, 5, 40, seed=4)
    out = tmp_path / "out.h5"
    first = EmbedOptions(pools=["mean"], progress=False, dtype="float32")
    embed_file(model, write_fasta(tmp_path / "a.fa", seqs[:5]), out, first, alphabet=alphabet)
    with_bf16_units(monkeypatch)  # auto would now pick bfloat16, but the output is float32
    s = embed_file(
        model, write_fasta(tmp_path / "b.fa", seqs), out, EmbedOptions(pools=["mean"], progress=False, resume=True),
        alphabet=alphabet,
    )  # fmt: skip
    assert (s.n_skipped, s.n_embedded) == (5, 3)
    assert s.line().endswith("; 5 of 8 already complete; float32 (auto: as the interrupted run)")
    with open_embeddings(out) as emb:
        assert emb.metadata["dtype"] == "float32" and emb.ids == [rid for rid, _ in seqs]
    with pytest.raises(RnalmError, match="other settings.*dtype"):
        embed_file(
            model, tmp_path / "b.fa", out, EmbedOptions(pools=["mean"], progress=False, resume=True, dtype="bf16"),
            alphabet=alphabet,
        )  # fmt: skip
