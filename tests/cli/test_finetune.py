"""`rnalm finetune` on the command line: YAML + overrides, resume, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import yaml

from rnalm.cli import main


def write_data(tmp_path):
    rng = np.random.default_rng(0)
    lines = ["seq,label"]
    for _ in range(40):
        s = "".join(rng.choice(list("ACGU"), int(rng.integers(10, 20))))
        lines.append(f"{s},{sum(c in 'GC' for c in s) / len(s):.3f}")
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    return tmp_path / "d.csv"


def test_finetune_cli_config_overrides_and_resume(tmp_path, capsys):
    data = write_data(tmp_path)
    cfg = {
        "data": {"train": str(data)},
        "head": {"type": "cnn", "pool": "mean", "filters": 4, "dense": 4},
        "train": {"epochs": 1, "threads": 1, "lr": "1e-3"},
        "plots": False,
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    run = tmp_path / "run"
    assert (
        main(["finetune", "-q", "--config", str(tmp_path / "c.yaml"), "-o", str(run), "train.epochs=2", "cv.folds=2"])
        == 0
    )
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["train"]["epochs"] == 2 and saved["train"]["lr"] == 1e-3 and saved["cv"]["folds"] == 2
    m = json.loads((run / "metrics.json").read_text())
    assert len(m["cv"]["per_fold"]) == 2
    # resuming a finished run keeps its results
    assert main(["finetune", "-q", "--resume", str(run)]) == 0
    assert json.loads((run / "metrics.json").read_text())["cv"]["mean_std"] == m["cv"]["mean_std"]
    assert "metrics:" in capsys.readouterr().out


def test_finetune_cli_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("sequence,label\nACGU,1\n")
    assert main(["finetune", f"data.train={tmp_path / 'd.csv'}", f"output_dir={tmp_path / 'r'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rnalm finetune: error:") and "no seq column 'seq'" in err and "\n" not in err
    assert main(["finetune", "train.nope=1"]) == 2
    assert "unknown key" in capsys.readouterr().err
