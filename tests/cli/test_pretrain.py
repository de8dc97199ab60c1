"""`rnalm pretrain` on the command line: -o/--output, --resume as a switch, the step bar and closing line."""

from __future__ import annotations

import random
import re

import pytest
import yaml

from rnalm.cli import main

TINY = [
    "seed=3",
    "log_every=2",
    "eval_every=1000",
    "save_every=2",
    "model.size=tiny",
    "model.alphabet=rna-fm",
    "model.overrides={max_positions: 128}",
    "data.valid_fraction=0.1",
    "data.min_length=5",
    "optim.tokens_per_batch=300",
    "optim.warmup_steps=1",
]


def corpus(tmp_path):
    rng = random.Random(0)
    path = tmp_path / "c.fa"
    path.write_text("".join(f">s{i}\n{''.join(rng.choice('ACGU') for _ in range(30))}\n" for i in range(40)))
    return path


def test_pretrain_output_flag_step_bar_and_closing_line(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["pretrain", "-o", str(out), "--device", "cpu", f"data.paths=[{corpus(tmp_path)}]", *TINY]
    assert main([*args, "optim.max_steps=4", "--progress"]) == 0
    err = capsys.readouterr().err
    assert "4/4" in err and "step/s" in err  # the bar, forced although stderr is not a terminal
    last = err.strip().splitlines()[-1]
    steps = r"rnalm pretrain: 4 steps in \d+\.\d s \(\d+\.\d steps/s\)"
    assert re.fullmatch(rf"{steps}, (float32|bfloat16) \(.*\) -> {re.escape(str(out))}", last)
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["output"] == str(out) and saved["device"] == "cpu"
    # --resume is a switch: it continues the run at -o; -q: no bar and no closing line
    assert main([*args, "optim.max_steps=6", "--resume", "-q"]) == 0
    err = capsys.readouterr().err
    assert "resumed from" in err and "steps in" not in err and "step/s" not in err
    assert (out / "final").is_dir()
    # without --progress and not on a terminal: the closing line only
    assert main([*args, "optim.max_steps=8", "--resume"]) == 0
    err = capsys.readouterr().err
    assert "step/s" not in err and re.search(r"rnalm pretrain: 2 steps in .* -> ", err)


def test_pretrain_existing_output_names_resume_and_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["pretrain", "-q", "-o", str(out), f"data.paths=[{corpus(tmp_path)}]", *TINY, "optim.max_steps=2"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2
    assert "pass --resume to complete it or --overwrite to replace it" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    with pytest.raises(SystemExit):
        main([*args, "--overwrite", "--resume"])
