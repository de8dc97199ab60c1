"""Pretraining: masking, labels, loss decrease, DDP equivalence, exact resume, transfer, bad input."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from rnalm.errors import InvalidSequenceError, RnalmError
from rnalm.models.rnafm.alphabet import RNA_FM_ALPHABET
from rnalm.pretrain.config import ModelSpec, ObjectiveConfig, OptimConfig, PretrainConfig
from rnalm.pretrain.data import CorpusConfig, load_corpus
from rnalm.pretrain.labels import LabelCache, LabelStats, StructureLabel, compute_labels, fold_one, parse_header
from rnalm.pretrain.masking import IGNORE_INDEX, mask_tokens
from rnalm.pretrain.trainer import pretrain
from rnalm.training.batching import Budget, budget_batches

MOTIFS = ["GGGAAACCC", "AUGCAUGCA", "UUUUCCCCGGGGAAAA", "ACACACAC"]


def write_corpus(path: Path, n: int = 80, seed: int = 0, extra: str = "") -> Path:
    rng = random.Random(seed)
    with open(path, "w") as fh:
        for i in range(n):
            seq = "".join(rng.choice(MOTIFS) for _ in range(rng.randint(2, 5)))
            fh.write(f">s{i}\n{seq}\n")
        fh.write(extra)
    return path


def tiny_cfg(tmp: Path, corpus: Path, **kw) -> PretrainConfig:
    cfg = PretrainConfig(
        output=str(tmp / "run"),
        seed=3,
        progress=False,
        log_every=2,
        eval_every=1000,
        save_every=1000,
        model=ModelSpec(size="tiny", alphabet="rna-fm", overrides={"max_positions": 128}),
        data=CorpusConfig(paths=[str(corpus)], valid_fraction=0.1, min_length=5),
        objective=ObjectiveConfig(),
        optim=OptimConfig(lr=3e-3, warmup_steps=2, max_steps=6, tokens_per_batch=400),
    )
    for k, v in kw.items():
        section, _, key = k.partition("__")
        if key:
            setattr(getattr(cfg, section), key, v)
        else:
            setattr(cfg, section, v)
    return cfg


def test_masking_proportions_and_specials():
    a = RNA_FM_ALPHABET
    tokens = a.get_batch_converter()([("x", "ACGU" * 500)])[2].repeat(8, 1)
    inputs, targets = mask_tokens(tokens, a, torch.Generator().manual_seed(0))
    sel = targets != IGNORE_INDEX
    assert 0.13 < sel.float()[:, 1:-1].mean() < 0.17
    assert not sel[:, 0].any() and not sel[:, -1].any()  # <cls>, <eos> never selected
    frac_mask = (inputs[sel] == a.mask_idx).float().mean()
    frac_same = (inputs[sel] == tokens[sel]).float().mean()
    assert 0.75 < frac_mask < 0.85 and 0.08 < frac_same < 0.16  # 10% kept + random hits of same letter
    assert torch.equal(inputs[~sel], tokens[~sel])


def test_token_budget_batches_cover_and_respect_budget():
    lengths = [random.Random(i).randint(5, 100) for i in range(300)]
    batches = budget_batches(lengths, Budget(tokens=500, max_rows=512), shuffle=True, seed=1)
    assert sorted(i for b in batches for i in b) == list(range(300))
    assert all(max(lengths[i] for i in b) * len(b) <= 500 for b in batches)
    assert batches == budget_batches(lengths, Budget(tokens=500, max_rows=512), shuffle=True, seed=1)


def test_header_labels_agree_with_vienna(tmp_path):
    seqs = ["GGGGAAACCCCAUAUAGGGAAACCC", "ACGUACGUUUCGACGUACGU", "GCGCUUCGGCGC"]
    computed = compute_labels(seqs, LabelCache(tmp_path / "c.sqlite"))
    for s, lab in zip(seqs, computed):
        st, mfe = fold_one(s)
        header = parse_header(f"id|{st}|{mfe}")
        assert header == lab == StructureLabel(st, mfe)


def test_label_cache_hits_and_invalid_labels_masked(tmp_path):
    cache = LabelCache(tmp_path / "c.sqlite")
    seqs = ["GGGGAAACCCC", "ACGUACGUAC"]
    compute_labels(seqs, cache)
    stats = LabelStats()
    labels = compute_labels(
        seqs + ["GGGAAACCC"],
        cache,
        header_labels=[None, None, StructureLabel("((..", -1.0)],
        stats=stats,
        ids=["a", "b", "bad"],
    )
    assert stats.cache_hits == 2 and stats.folded == 0 and stats.invalid == 1
    assert labels[2] is None and "bad" in stats.invalid_examples[0]


def test_loss_goes_down(tmp_path):
    corpus = write_corpus(tmp_path / "c.fa", n=120)
    cfg = tiny_cfg(
        tmp_path, corpus, optim=OptimConfig(lr=5e-3, warmup_steps=5, max_steps=60, tokens_per_batch=600), log_every=10
    )
    pretrain(cfg)
    import json

    recs = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["mlm_loss"] for r in recs if "mlm_loss" in r]
    assert losses[-1] < 0.75 * losses[0]
    import rnalm

    model, alphabet = rnalm.load(tmp_path / "run" / "final")
    assert model.config.num_layers == 2 and alphabet.name == "rna-fm"


def test_structure_and_mfe_objectives_run_and_report(tmp_path):
    corpus = write_corpus(tmp_path / "c.fa", n=40)
    cfg = tiny_cfg(tmp_path, corpus, objective=ObjectiveConfig(mfe_weight=1.0, structure_weight=1.0))
    metrics = pretrain(cfg)
    assert {"mlm_acc", "mfe_mse", "structure_acc"} <= set(metrics)
    import rnalm

    model, _ = rnalm.load(tmp_path / "run" / "final")
    assert model.mfe_head is not None and model.structure_head is not None
    # second run: every label is a cache hit (no folding)
    cache = LabelCache(tmp_path / "run" / "labels.sqlite")
    assert len(cache) > 0


def _final_state(run: Path) -> dict:
    return load_file(str(run / "final" / "model.safetensors"))


def torchrun_pretrain(output: Path, corpus: Path, *overrides: str) -> None:
    """``rnalm pretrain`` on the tiny model under ``torchrun`` with 2 CPU processes (gloo)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(port),
        "-m",
        "rnalm",
        "pretrain",
        f"output={output}",
        "seed=3",
        "progress=false",
        "log_every=2",
        "eval_every=1000",
        "model.size=tiny",
        "model.alphabet=rna-fm",
        "model.overrides={max_positions: 128}",
        f"data.paths=[{corpus}]",
        "data.valid_fraction=0.1",
        "data.min_length=5",
        "optim.max_steps=4",
        "optim.tokens_per_batch=300",
        "optim.warmup_steps=1",
        "optim.lr=0.003",
        *overrides,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert res.returncode == 0, res.stderr[-3000:]


def test_ddp_two_processes_equal_one_process_with_accumulation(tmp_path):
    corpus = write_corpus(tmp_path / "c.fa", n=60)
    single = tiny_cfg(
        tmp_path / "one",
        corpus,
        optim=OptimConfig(max_steps=4, grad_accum=2, tokens_per_batch=300, warmup_steps=1, lr=3e-3),
    )
    pretrain(single)
    run2 = tmp_path / "two" / "run"
    torchrun_pretrain(run2, corpus, "save_every=1000", "optim.grad_accum=1")
    a, b = _final_state(tmp_path / "one" / "run"), _final_state(run2)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5), k


@pytest.mark.parametrize("dtype", ["float32", pytest.param("bfloat16", marks=pytest.mark.slow)])
def test_resume_after_kill_equals_uninterrupted(tmp_path, dtype):
    corpus = write_corpus(tmp_path / "c.fa", n=60)
    common = [
        f"dtype={dtype}",
        "seed=3",
        "progress=false",
        "log_every=1",
        "eval_every=1000",
        "save_every=2",
        "keep_checkpoints=5",
        "model.size=tiny",
        "model.alphabet=rna-fm",
        "model.overrides={max_positions: 128}",
        f"data.paths=[{corpus}]",
        "data.valid_fraction=0.1",
        "data.min_length=5",
        "optim.max_steps=40",
        "optim.tokens_per_batch=300",
        "optim.warmup_steps=2",
    ]
    ref = tmp_path / "ref"
    subprocess.run(
        [sys.executable, "-m", "rnalm", "pretrain", f"output={ref}", *common],
        check=True,
        capture_output=True,
        timeout=300,
    )
    run = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnalm", "pretrain", f"output={run}", *common],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 240
    while time.time() < deadline and not list((run / "checkpoints").glob("step-0000001[0-9]")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run / "final").exists(), "run finished before it could be killed"
    res = subprocess.run(
        [sys.executable, "-m", "rnalm", "pretrain", "--resume", f"output={run}", *common],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "resumed from" in res.stderr
    a, b = _final_state(ref), _final_state(run)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    import json

    recs = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in recs if "lr" in r]  # training records; eval records share their step
    assert steps == list(range(1, 41))


def test_bad_corpus_inputs(tmp_path):
    a = RNA_FM_ALPHABET
    empty = tmp_path / "empty.fa"
    empty.write_text("")
    with pytest.raises(RnalmError):
        load_corpus(CorpusConfig(paths=[str(empty)]), a, 100)
    bad = write_corpus(tmp_path / "bad.fa", n=10, extra=">weird\nACGUZZACGUACGU\n>long\n" + "A" * 300 + "\n")
    with pytest.raises(InvalidSequenceError, match="weird"):
        load_corpus(CorpusConfig(paths=[str(bad)], min_length=5), a, 100)
    train, valid, rep = load_corpus(
        CorpusConfig(paths=[str(bad)], min_length=5, invalid="skip", valid_fraction=0.0), a, 100
    )
    assert rep.invalid_skipped == 1 and rep.too_long_skipped == 1 and rep.read == 12
    assert rep.kept_train + rep.duplicates == 10
    with pytest.raises(RnalmError, match="long"):
        load_corpus(CorpusConfig(paths=[str(bad)], min_length=5, invalid="skip", long="error"), a, 100)
    _, _, rep = load_corpus(CorpusConfig(paths=[str(bad)], min_length=5, invalid="skip", long="truncate"), a, 100)
    assert rep.truncated == 1


def test_fsdp_two_processes_equal_one_process_with_accumulation(tmp_path):
    """FSDP2 (fully_shard, gloo on CPU) computes the same update as one process accumulating the
    same global batch, and writes full (unsharded) tensors that rnalm.load reads back."""
    corpus = write_corpus(tmp_path / "c.fa", n=60)
    single = tiny_cfg(
        tmp_path / "one",
        corpus,
        save_every=2,
        optim=OptimConfig(max_steps=4, grad_accum=4, tokens_per_batch=300, warmup_steps=1, lr=3e-3),
    )
    pretrain(single)
    run2 = tmp_path / "two" / "run"
    torchrun_pretrain(run2, corpus, "distributed=fsdp", "save_every=2", "optim.grad_accum=2")
    a, b = _final_state(tmp_path / "one" / "run"), _final_state(run2)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].shape == b[k].shape, k  # full, not sharded
        assert torch.allclose(a[k], b[k], atol=1e-5), k
    import rnalm

    model, alphabet = rnalm.load(run2 / "final")
    assert model.config.num_layers == 2 and alphabet.name == "rna-fm"
    # the checkpoint has the single-process format: full model + name-keyed full optimizer state
    from rnalm.io.safe_torch import safe_torch_load

    ck1 = safe_torch_load(tmp_path / "one" / "run" / "checkpoints" / "step-00000004" / "state.pt")
    ck2 = safe_torch_load(run2 / "checkpoints" / "step-00000004" / "state.pt")
    s1, s2 = ck1["optimizer"]["state"], ck2["optimizer"]["state"]
    assert s1.keys() == s2.keys() and s1
    for k in s1:
        assert torch.allclose(s1[k]["exp_avg_sq"], s2[k]["exp_avg_sq"], atol=1e-6), k
    rnalm.load(run2 / "checkpoints" / "step-00000004" / "model")
