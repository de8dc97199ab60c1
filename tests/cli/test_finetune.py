"""`rnalm finetune` on the command line: YAML + overrides, resume, one-line errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
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
    assert main(["finetune", "-q", "--resume", "-o", str(run)]) == 0
    assert json.loads((run / "metrics.json").read_text())["cv"]["mean_std"] == m["cv"]["mean_std"]
    assert capsys.readouterr() == ("", "")


def small_config(tmp_path, **extra):
    cfg = {
        "data": {"train": str(write_data(tmp_path))},
        "head": {"type": "cnn", "pool": "mean", "filters": 4, "dense": 4},
        "train": {"epochs": 2, "threads": 1, "lr": "1e-3", "batch_size": 8},
        "plots": False,
        **extra,
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    return tmp_path / "c.yaml"


def test_finetune_resume_is_a_switch_continuing_the_run_at_output_or_the_configs_output_dir(tmp_path, capsys):
    run = tmp_path / "run"
    config = small_config(tmp_path, output_dir=str(run))
    assert main(["finetune", "-q", "--config", str(config)]) == 0
    first = json.loads((run / "metrics.json").read_text())
    assert main(["finetune", "-q", "--config", str(config), "--resume"]) == 0  # the config's output_dir
    assert main(["finetune", "-q", "--resume", "-o", str(run)]) == 0  # the run named by -o
    assert json.loads((run / "metrics.json").read_text())["valid"] == first["valid"]
    capsys.readouterr()
    assert main(["finetune", "--resume", str(run)]) == 2  # no longer takes a directory
    assert main(["finetune", "--resume"]) == 2
    assert "-o/--output RUN_DIR" in capsys.readouterr().err


def test_finetune_existing_output_names_output_overwrite_and_resume_flags(tmp_path, capsys):
    config = small_config(tmp_path)
    run = tmp_path / "run"
    assert main(["finetune", "-q", "--config", str(config), "-o", str(run), "train.epochs=1"]) == 0
    capsys.readouterr()
    assert main(["finetune", "-q", "--config", str(config), "-o", str(run)]) == 2
    err = capsys.readouterr().err
    assert "choose another --output, pass --overwrite to replace it, or --resume to continue it" in err
    assert main(["finetune", "-q", "--config", str(config), "-o", str(run), "--overwrite"]) == 0
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["epochs"] == 2
    with pytest.raises(SystemExit):
        main(["finetune", "-q", "--config", str(config), "-o", str(run), "--overwrite", "--resume"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_finetune_progress_bar_over_steps_and_closing_line(tmp_path, capsys):
    config = small_config(tmp_path)
    run = tmp_path / "run"
    assert main(["finetune", "--progress", "--config", str(config), "-o", str(run), "--device", "cpu"]) == 0
    cap = capsys.readouterr()
    assert "epoch 1/2" in cap.err and "epoch 2/2" in cap.err and "step/s" in cap.err
    per_epoch = int(re.search(r"epoch 2/2: 100%\S* *\| *(\d+)/\1 ", cap.err).group(1))
    assert re.search(rf"trained {2 * per_epoch} steps in \d+\.\d s \(\d+\.\d steps/s\)", cap.out)
    last = cap.err.strip().splitlines()[-1]
    assert re.fullmatch(
        rf"rnalm finetune: done in \d+\.\d s, \w+ \(.*\) -> {re.escape(str(run))} \(metrics: .*metrics.json\)", last
    )
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["device"] == "cpu"
    # without --progress and not on a terminal: no bar
    assert main(["finetune", "--config", str(config), "-o", str(tmp_path / "r2")]) == 0
    err = capsys.readouterr().err
    assert "step/s" not in err and "rnalm finetune: done in" in err


def test_finetune_cli_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("sequence,label\nACGU,1\n")
    assert main(["finetune", f"data.train={tmp_path / 'd.csv'}", f"output_dir={tmp_path / 'r'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rnalm finetune: error:") and "no seq column 'seq'" in err and "\n" not in err
    assert main(["finetune", "train.nope=1"]) == 2
    assert "unknown key" in capsys.readouterr().err
