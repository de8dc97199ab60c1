"""Fine-tuning run directories: marked as rnalm's, overwrite=true never deletes the data, one writer at a time."""

from __future__ import annotations

import shutil

import pytest

from rnalm.finetune import finetune
from rnalm.io.output_guard import OutputLockedError, read_marker
from rnalm.runs.errors import RunDirError

from .conftest import base_config

FAST = dict(head={"type": "cnn", "pool": "mean", "filters": 4, "dense": 4}, train={"epochs": 1})


def quiet(_msg: str) -> None:
    pass


def test_overwrite_refuses_a_run_directory_that_holds_the_data(tmp_path, regression_files):
    train, valid = regression_files
    run = finetune(base_config(tmp_path, train, valid, **FAST), log=quiet).run_dir
    assert read_marker(run) == "finetune"
    moved = shutil.copy(train, run / "train.csv")
    cfg = base_config(tmp_path, moved, valid, overwrite=True, **FAST)
    with pytest.raises(RunDirError, match=r"holds the data file .*train\.csv; refusing to delete it with overwrite"):
        finetune(cfg, log=quiet)
    assert (run / "train.csv").is_file() and (run / "config.yaml").is_file()
    extra = dict(base_config(tmp_path, train, valid, overwrite=True, **FAST))
    extra["data"] = {**extra["data"], "extra_train": [str(moved)]}  # an extra training file counts too
    with pytest.raises(RunDirError, match=r"holds the data file .*train\.csv; refusing to delete it with overwrite"):
        finetune(extra, log=quiet)
    assert (run / "train.csv").is_file()


def test_a_second_run_on_the_same_directory_is_refused(tmp_path, regression_files, child_lock):
    train, valid = regression_files
    cfg = base_config(tmp_path, train, valid, **FAST)
    with child_lock(tmp_path / "run") as pid:
        with pytest.raises(OutputLockedError, match=f"run: process {pid} is writing this output"):
            finetune(cfg, log=quiet)
    assert not (tmp_path / "run").exists()
    finetune(cfg, log=quiet)
    with pytest.raises(RunDirError, match="already exists and is not empty"):
        finetune(cfg, log=quiet)
