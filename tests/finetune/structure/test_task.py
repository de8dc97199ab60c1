"""``rnalm finetune`` with ``task: structure``: the run directory, batching, learning, CV by family."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from rnalm.finetune import finetune
from rnalm.runs.config import StructureConfig, TrainConfig
from rnalm.runs.errors import DataError
from rnalm.runs.pairwise_head import PAD_LOGIT
from rnalm.runs.structure_task import StructureTask
from rnalm.runs.tasks import get_task
from rnalm.structure.formats import write_bpseq, write_dbn
from rnalm.structure.pairs import Structure

from .conftest import planted_set, quiet, structure_config


def _rows(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_targets_batches_and_outputs_round_trip():
    task = get_task("structure")
    a = Structure("a", "GGGAAAUCCC", ((0, 9), (1, 8), (2, 7)))
    b = Structure("b", "GGAAACC", ((0, 6),))
    y = task.collate_targets([a, b])
    assert y.shape == (2, 10, 10)
    assert (
        y[1, 0, 6] == y[1, 6, 0] == 1
        and y[1, :7, :7].sum() == 2
        and (y[1, 7:] == -1).all()
        and (y[1, :, 7:] == -1).all()
    )
    logits = torch.full((2, 10, 10), -3.0)
    logits[1, 7:] = logits[1, :, 7:] = PAD_LOGIT
    logits[0, 0, 9] = logits[0, 9, 0] = 4.0
    weighted = StructureTask(StructureConfig(pos_weight=2.0))
    loss = weighted.train_loss(type("C", (), {"loss": "auto", "huber_delta": 1.0})())(logits, y)
    assert torch.isfinite(loss)
    out = task.concat_outputs([logits[0:1], logits[1:2]])
    assert [o.shape for o in out] == [(10, 10), (7, 7)]
    cols = task.prediction_columns(np.array([a, b], dtype=object), out, None)
    assert list(cols["prediction"]) == ["(........)", "......."]
    assert cols["recall"][0] == pytest.approx(1 / 3) and cols["f1"][1] == 0
    m = task.metrics(np.array([a, b], dtype=object), out, None)
    assert m["n"] == 2 and m["precision"] == pytest.approx(0.5) and set(m) >= {"f1", "mcc", "f1_shifted"}

    budget = StructureTask(StructureConfig(cells_per_batch=1800))
    plan = budget.batch_plan([10, 30, 20, 30], TrainConfig(batch_size=8), True, 0)
    assert sorted(i for b in plan for i in b) == [0, 1, 2, 3]
    assert all(len(b) * max([10, 30, 20, 30][i] for i in b) ** 2 <= 1800 for b in plan)


def test_tiny_run_writes_every_file(tmp_path, one_thread):
    write_dbn(planted_set(24), tmp_path / "train.dbn")
    (tmp_path / "test").mkdir()
    for s in planted_set(4, seed=9, prefix="t"):
        write_bpseq(s, tmp_path / "test" / f"{s.id}.bpseq")
    cfg = structure_config(tmp_path, tmp_path / "train.dbn", plots=True, data={"test": str(tmp_path / "test")})
    run = finetune(cfg, log=quiet).run_dir
    for name in (
        "config.yaml",
        "run_info.json",
        "label_state.json",
        "model.safetensors",
        "trainer_state.json",
        "metrics.json",
        "predictions.csv",
    ):
        assert (run / name).is_file(), name
    pytest.importorskip("matplotlib")
    for name in ("learning_curves.png", "f1_length_valid.png", "f1_length_test.png"):
        assert (run / name).read_bytes()[:4] == b"\x89PNG", name
    m = json.loads((run / "metrics.json").read_text())
    assert m["task"] == "structure" and m["metric"] == "f1" and m["n_train"] == 19 and m["n_valid"] == 5
    for split in ("valid", "test"):
        assert set(m[split]) >= {"f1", "precision", "recall", "mcc", "f1_shifted", "n"}
    st = json.loads((run / "trainer_state.json").read_text())
    assert st["num_train_epochs"] == 2 and [e["epoch"] for e in st["log_history"] if "eval_f1" in e] == [1.0, 2.0]
    assert json.loads((run / "run_info.json").read_text())["task"] == "structure"
    rows = _rows(run / "predictions.csv")
    assert [r["split"] for r in rows] == ["valid"] * 5 + ["test"] * 4
    assert {"label", "prediction", "f1", "precision", "recall", "mcc", "f1_shifted", "length"} <= set(rows[0])
    assert all(len(r["label"]) == len(r["prediction"]) == int(r["length"]) == len(r["sequence"]) for r in rows)


def test_no_pairs_to_learn_is_an_error(tmp_path):
    write_dbn([Structure(f"u{k}", "GAUACAGAUAC", ()) for k in range(6)], tmp_path / "flat.dbn")
    with pytest.raises(DataError, match="none of the 5 training structures has a base pair"):
        finetune(structure_config(tmp_path, tmp_path / "flat.dbn"), log=quiet)


def test_learns_planted_hairpins_through_finetune(tmp_path, one_thread):
    write_dbn(planted_set(280), tmp_path / "train.dbn")
    cfg = structure_config(
        tmp_path,
        tmp_path / "train.dbn",
        data={"valid_fraction": 0.15},
        head={"channels": 16, "blocks": 2},
        train={
            "epochs": 8,
            "batch_size": 16,
            "lr": 1e-2,
            "weight_decay": 0.0,
            "patience": 0,
            "save_checkpoints": False,
        },
    )
    m = finetune(cfg, log=quiet).metrics
    assert m["valid"]["f1"] > 0.9, m["valid"]


def test_family_cv_tests_on_unseen_families(tmp_path, one_thread):
    lines = ["id,sequence,structure,base_pairs,len"]
    for fam, n, seed in (("5s", 10, 1), ("tRNA", 8, 2), ("srp", 6, 3)):
        for k, s in enumerate(planted_set(n, seed)):
            bp = json.dumps([[i + 1, j + 1] for i, j in s.pairs])
            lines.append(f'{fam}_{k},{s.sequence},{s.dot_bracket()},"{bp}",{len(s)}')
    (tmp_path / "arch.csv").write_text("\n".join(lines) + "\n")
    cfg = structure_config(
        tmp_path,
        tmp_path / "arch.csv",
        data={"options": {"group": "family"}},
        cv={"folds": 3, "inner_valid_grouped": False},
        train={"epochs": 1},
    )
    m = finetune(cfg, log=quiet).metrics
    assert m["cv"]["grouped"] and set(m["cv"]["mean_std"]) >= {"f1", "mcc", "f1_shifted"}
    by_fold = {}
    for r in _rows(tmp_path / "run" / "predictions.csv"):
        by_fold.setdefault(r["fold"], set()).add(r["subset"])
    assert sorted(map(sorted, by_fold.values())) == [["5s"], ["srp"], ["tRNA"]]
    for f in m["cv"]["per_fold"]:
        assert len(f["test"]["by_subset"]) == 1
