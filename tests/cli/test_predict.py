"""`rnalm predict` on a run made by `rnalm finetune`."""
from __future__ import annotations

import csv

from rnalm.cli import main


def test_predict_cli(tmp_path, capsys):
    lines = ["id,utr,y"] + [f"s{i},{'ACGU' * (i % 5 + 2)}{'G' * (i % 3)},{i % 3}" for i in range(30)]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    run = tmp_path / "run"
    assert main(["finetune", "-q", f"data.train={tmp_path / 'd.csv'}", "data.seq_column=utr", "data.label_column=y",
                 "data.id_column=id", "head.type=cnn", "head.pool=max", "head.filters=4", "head.dense=4",
                 "train.epochs=1", "train.threads=1", "plots=false", f"output_dir={run}"]) == 0
    (tmp_path / "new.fa").write_text(">a\nACGUACGU\n>b\nggggcccc\n")
    assert main(["predict", "-q", "--run", str(run), "--input", str(tmp_path / "new.fa"),
                 "--output", str(tmp_path / "out.csv")]) == 0
    rows = list(csv.DictReader(open(tmp_path / "out.csv")))
    assert [r["id"] for r in rows] == ["a", "b"] and [r["length"] for r in rows] == ["8", "8"]
    float(rows[0]["prediction"])
    (tmp_path / "bad.fa").write_text(">a\nACGUQ\n")
    assert main(["predict", "--run", str(run), "--input", str(tmp_path / "bad.fa"), "--output",
                 str(tmp_path / "o2.csv")]) == 2
    err = capsys.readouterr().err
    assert "bad.fa:1: record 'a': invalid character 'Q' at position 5" in err
    assert main(["predict", "--run", str(tmp_path), "--input", str(tmp_path / "new.fa"), "--output", "x.csv"]) == 2
    assert "not a finished fine-tuning run" in capsys.readouterr().err
