from __future__ import annotations

import numpy as np
import pytest

from rnalm.finetune.trainer import Trainer
from rnalm.runs.config import HeadConfig, TrainConfig
from rnalm.runs.heads import build_head
from rnalm.runs.model import FeatureSource, SeqDataset, SequenceModel
from rnalm.runs.task_base import LabelState
from rnalm.runs.tasks import get_task
from rnalm.training.schedule import lr_factor


def make_trainer(tmp_path, **train) -> Trainer:
    rng = np.random.default_rng(0)
    seqs = ["A" * int(n) for n in rng.integers(5, 60, 37)]
    head = build_head(HeadConfig(type="cnn", pool="mean", filters=2, dense=2), None, 1)
    cfg = TrainConfig(batch_size=4, **train)
    return Trainer(
        SequenceModel(head),
        get_task("regression"),
        LabelState("regression"),
        cfg,
        SeqDataset(seqs, np.zeros(37, dtype=np.float32)),
        None,
        FeatureSource(head.needs),
        tmp_path,
        "mse",
        log=lambda m: None,
    )


@pytest.mark.parametrize("group", [False, True])
def test_epoch_batches_partition_and_depend_on_seed_and_epoch_only(tmp_path, group):
    t = make_trainer(tmp_path, group_by_length=group)
    b0 = t._epoch_batches(0)
    assert sorted(i for b in b0 for i in b) == list(range(37))
    assert len(b0) == t.steps_per_epoch == 10 and sum(len(b) < 4 for b in b0) == 1
    assert b0 == t._epoch_batches(0) and b0 != t._epoch_batches(1)
    if group:  # one chunk of 50 batches covers everything here: batches are length-sorted runs
        lengths = [len(s) for s in t.train_ds.seqs]
        flat = sorted((lengths[i] for i in range(37)), reverse=True)
        runs = sorted(([lengths[i] for i in b] for b in b0), key=lambda r: -r[0])
        assert [x for r in runs for x in r] == flat


def test_warmup_and_decay_schedules():
    f = lr_factor("linear", 2, 10)
    assert [round(f(s), 3) for s in range(4)] == [0.333, 0.667, 1.0, 0.875]
    assert f(10) == 0.0
    c = lr_factor("cosine", 0, 10)
    assert c(0) == 1.0 and c(5) == pytest.approx(0.5) and c(10) == pytest.approx(0.0)
    assert lr_factor("constant", 3, 10)(8) == 1.0


def test_weight_decay_skips_biases(tmp_path):
    t = make_trainer(tmp_path, weight_decay=0.1)
    for g in t.optimizer.param_groups:
        assert g["weight_decay"] == (0.0 if all(p.ndim < 2 for p in g["params"]) else 0.1)
