"""An earlier version: `rnalm pretrain` into an existing output replaced the final model, kept the old
run's later checkpoints and appended to its metrics.jsonl. Now: an error unless --resume or
--overwrite, --overwrite only for rnalm's own pretraining output, one writer at a time."""

from __future__ import annotations

import json

import pytest

from rnalm.cli import main
from rnalm.errors import RnalmError
from rnalm.io.output_guard import MARKER_FILE, OutputLockedError, read_marker
from rnalm.pretrain.checkpoints import latest_checkpoint
from rnalm.pretrain.config import OptimConfig
from rnalm.pretrain.trainer import pretrain

from .test_pretrain import tiny_cfg, write_corpus


def short(tmp_path, corpus, steps, **kw):
    return tiny_cfg(
        tmp_path, corpus, optim=OptimConfig(lr=3e-3, warmup_steps=1, max_steps=steps, tokens_per_batch=300), **kw
    )


def steps_logged(run):
    return [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()]


def test_existing_output_needs_resume_or_overwrite_and_overwrite_starts_over(tmp_path):
    corpus = write_corpus(tmp_path / "c.fa", n=30)
    run = tmp_path / "run"
    pretrain(short(tmp_path, corpus, 4, save_every=2, keep_checkpoints=5))
    assert read_marker(run) == "pretrain"
    assert latest_checkpoint(run).name == "step-00000004"
    (run / "notes.txt").write_text("mine\n")
    final = (run / "final" / "model.safetensors").read_bytes()
    with pytest.raises(RnalmError, match="run: already exists; pass resume= to complete it or overwrite="):
        pretrain(short(tmp_path, corpus, 2, seed=7))
    assert (run / "final" / "model.safetensors").read_bytes() == final and max(steps_logged(run)) == 4

    pretrain(short(tmp_path, corpus, 2, seed=7, save_every=1000), overwrite=True)
    # the old run's later step-4 checkpoint is gone (a --resume would have picked it up)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-00000002"]
    assert max(steps_logged(run)) == 2 and json.loads((run / "final_metrics.json").read_text())["step"] == 2
    assert (run / "final" / "model.safetensors").read_bytes() != final
    assert (run / "notes.txt").read_text() == "mine\n"  # not rnalm's: left alone
    assert not list(tmp_path.glob(".run*"))  # no lock or temporary left beside the output


def test_overwrite_refuses_what_rnalm_did_not_write(tmp_path, capsys):
    folder = tmp_path / "run"
    folder.mkdir()
    corpus = write_corpus(folder / "c.fa", n=30)
    (folder / "notes.txt").write_text("mine\n")
    with pytest.raises(RnalmError, match="run: holds this command's input .*c.fa"):
        pretrain(short(tmp_path, corpus, 2), overwrite=True)
    moved = write_corpus(tmp_path / "c.fa", n=30)
    with pytest.raises(RnalmError, match="run: exists and is not an rnalm pretraining output"):
        pretrain(short(tmp_path, moved, 2), overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == ["c.fa", "notes.txt"]
    assert main(["pretrain", "--overwrite", f"output={folder}", f"data.paths=[{moved}]"]) == 2
    assert "is not an rnalm pretraining output" in capsys.readouterr().err
    assert not (folder / MARKER_FILE).exists()


def test_a_second_run_on_the_same_output_is_refused(tmp_path, child_lock):
    corpus = write_corpus(tmp_path / "c.fa", n=30)
    with child_lock(tmp_path / "run") as pid:
        with pytest.raises(OutputLockedError, match=f"run: process {pid} is writing this output"):
            pretrain(short(tmp_path, corpus, 2), resume=True)
    assert not (tmp_path / "run").exists()
