"""Pickles planted in a fine-tuning run: an error naming the bad file, never a traceback or code.

A pickle planted as ``model.safetensors`` or as a checkpoint's
``optimizer.pt`` gave a raw traceback instead of an error that says which file is bad.
"""

from __future__ import annotations

import os
import shutil

import pytest
import torch

from rnalm.cli import main
from rnalm.errors import CheckpointError
from rnalm.finetune import finetune
from rnalm.runs.errors import RunDirError
from rnalm.runs.predict import Predictor

from .conftest import base_config
from .test_runner import Interrupt


class RunsCode:
    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def quiet(_msg: str) -> None:
    pass


KW = dict(head={"type": "cnn", "pool": "mean", "filters": 4, "dense": 4}, train={"epochs": 3, "patience": 0})


def test_pickle_planted_in_a_checkpoint_is_named_on_resume(tmp_path, regression_files):
    train, valid = regression_files
    cfg = base_config(tmp_path, train, valid, **KW)
    with pytest.raises(KeyboardInterrupt):
        finetune(cfg, callbacks=[Interrupt(2)], log=quiet)
    run = tmp_path / "run"
    checkpoints = sorted(run.glob("checkpoint-*"))
    assert checkpoints
    marker = tmp_path / "ran"
    for name in ("optimizer.pt", "model.safetensors"):
        saved = {ck: (ck / name).read_bytes() for ck in checkpoints}
        for ck in checkpoints:
            torch.save({"state": RunsCode(marker)}, ck / name)
        with pytest.raises(RunDirError) as info:
            finetune(run, resume=True, log=quiet)
        msg = str(info.value)
        assert f"/{name}: " in msg and str(run / "checkpoint-") in msg, msg
        assert ("refused to unpickle" if name == "optimizer.pt" else "not a readable safetensors file") in msg
        assert "weights_only" not in msg and not marker.exists()
        for ck, data in saved.items():
            (ck / name).write_bytes(data)
    assert finetune(run, resume=True, log=quiet).metrics["valid"]  # the genuine files resume


def test_pickle_planted_as_model_safetensors_is_named_by_predict(tmp_path, regression_files, capsys):
    train, valid = regression_files
    run = finetune(base_config(tmp_path, train, valid, **KW), log=quiet).run_dir
    marker = tmp_path / "ran"
    torch.save({"w": RunsCode(marker)}, run / "model.safetensors")
    (tmp_path / "new.fa").write_text(">a\nACGUACGU\n")
    assert (
        main(["predict", "--run", str(run), "--input", str(tmp_path / "new.fa"), "--output", str(tmp_path / "out.csv")])
        == 2
    )
    err = capsys.readouterr().err
    assert f"{run / 'model.safetensors'}: not a readable safetensors file" in err and "Traceback" not in err
    with pytest.raises(CheckpointError, match="model.safetensors: not a readable safetensors file"):
        Predictor(run, log=quiet).predict(["ACGUACGU"])
    assert not marker.exists() and not (tmp_path / "out.csv").exists()
    shutil.rmtree(run)


def test_hostile_json_in_a_run_is_named(tmp_path, regression_files, capsys):
    """JSON cannot run code, but a run's JSON files are untrusted too: 100,000 nested arrays (a
    RecursionError in json) or a list where an object belongs must end in an error naming the file."""
    train, valid = regression_files
    run = finetune(base_config(tmp_path, train, valid, **KW), log=quiet).run_dir
    (tmp_path / "new.fa").write_text(">a\nACGUACGU\n")
    argv = ["predict", "--run", str(run), "--input", str(tmp_path / "new.fa"), "--output", str(tmp_path / "o.csv")]
    info = (run / "run_info.json").read_text()
    (run / "run_info.json").write_text("[" * 100_000 + "]" * 100_000)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{run / 'run_info.json'}: not a readable JSON file" in err and "Traceback" not in err
    (run / "run_info.json").write_text(info)
    (run / "label_state.json").write_text("[1, 2]")
    assert main(argv) == 2
    assert f"{run / 'label_state.json'}: expected a JSON object, found list" in capsys.readouterr().err


def test_files_planted_under_the_old_temporary_names_are_never_written_through(tmp_path, regression_files):
    """A fine-tuning run rewrites metrics.json, predictions.csv and trainer_state.json in place;
    it once did so through fixed ``NAME.tmp`` files, so a link planted under such a name made it
    write into (and then replace) whatever the link pointed to. Writes now go through private
    ``mkstemp`` names: the planted links and their targets stay as they were."""
    train, valid = regression_files
    cfg = base_config(tmp_path, train, valid, **KW)
    run = tmp_path / "run"
    victim = tmp_path / "victim.txt"
    victim.write_text("not rnalm's\n")
    names = ("metrics.json.tmp", "predictions.csv.tmp", "trainer_state.json.tmp", "run_info.json.tmp")

    class Plant:  # once the run has claimed its folder (it refuses a non-empty one it did not make)
        def on_epoch_end(self, trainer, epoch, logs):
            for name in names:
                if not (run / name).is_symlink():
                    (run / name).symlink_to(victim)

    finetune(cfg, callbacks=[Plant()], log=quiet)
    assert (run / "metrics.json").is_file() and (run / "predictions.csv").is_file()
    assert victim.read_text() == "not rnalm's\n"
    for name in names:
        assert (run / name).is_symlink() and (run / name).resolve() == victim
