"""A real structure run (``rnalm finetune``, ``task: structure``) shipped and used by ``rnalm fold``."""

from __future__ import annotations

import random

import pytest

from rnalm import shipped
from rnalm.cli import main
from rnalm.packaging import Options, package
from rnalm.packaging.check import check_entry

from ..finetune.structure.conftest import planted

pytest.importorskip("rnalm.runs.structure_task", reason="the structure task is not in this tree")


def test_structure_run_ships_and_folds_by_default(tiny_models, tmp_path, monkeypatch, capsys):
    import torch

    from rnalm.finetune import finetune
    from rnalm.structure.formats import write_dbn

    torch.set_num_threads(1)
    rng = random.Random(0)
    write_dbn([planted(rng, f"s{k}") for k in range(40)], tmp_path / "train.dbn")
    run = finetune(
        {
            "task": "structure",
            "output_dir": str(tmp_path / "run"),
            "plots": False,
            "data": {"train": str(tmp_path / "train.dbn"), "valid_fraction": 0.25},
            "backbone": {"name": str(tiny_models["pretrain"] / "final"), "cache_dir": str(tmp_path / "cache")},
            "head": {"channels": 8, "blocks": 1, "reduction_dim": 8, "dropout": 0.0},
            "train": {"epochs": 1, "batch_size": 8, "threads": 1, "lr": 5e-3, "pos_weight": 5.0},
        },
        log=None,
    ).run_dir
    root = tmp_path / "shipped"
    quiet = lambda _m: None  # noqa: E731
    package(tiny_models["pretrain"], Options(name="bb", data_licence="CC0", check_size=16), root, log=quiet)
    entry = package(run, Options(name="bb-fold", data_licence="CC0", backbone="bb", check_size=8), root, log=quiet)
    assert entry.kind == "structure" and entry.task == "fold" and entry.check["n"] == 8
    assert entry.metric["name"] == "f1" and entry.metric["n"] == 10  # the run's own validation split
    recorded, value = check_entry(entry)
    assert value == pytest.approx(recorded, abs=1e-4)

    monkeypatch.setenv(shipped.ENV_DIR, str(root))
    (tmp_path / "in.fa").write_text(">x\nGGGGAAACCCCAUGCAUGC\n>y\nACGUACGUACGUAAAACGUACGU\n")
    assert main(["fold", "-i", str(tmp_path / "in.fa"), "-o", str(tmp_path / "out"), "--files", "dbn,npy"]) == 0
    assert "structure model: bb-fold (shipped" in capsys.readouterr().err
    assert (tmp_path / "out" / "x.dbn").is_file() and (tmp_path / "out" / "y.npy").is_file()
    default = (tmp_path / "out" / "summary.tsv").read_text()
    for name in ("shipped", "bb-fold"):  # named as a predictor, or by the shipped model's own name
        assert (
            main(["fold", "-i", str(tmp_path / "in.fa"), "-o", str(tmp_path / f"out-{name}"), "-q", "--model", name])
            == 0
        )
        assert (tmp_path / f"out-{name}" / "summary.tsv").read_text() == default
