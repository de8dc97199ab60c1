"""`rnalm predict` on a run made by `rnalm finetune`."""

from __future__ import annotations

import csv

from rnalm.cli import main


def make_run(tmp_path):
    lines = ["id,utr,mrl"] + [f"s{i},{'ACGU' * (i % 5 + 2)}{'G' * (i % 3)},{i % 3}" for i in range(30)]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    run = tmp_path / "run"
    assert (
        main(
            [
                "finetune",
                "-q",
                f"data.train={tmp_path / 'd.csv'}",
                "data.seq_column=utr",
                "data.label_column=mrl",
                "data.id_column=id",
                "head.type=cnn",
                "head.pool=max",
                "head.filters=4",
                "head.dense=4",
                "train.epochs=1",
                "train.threads=1",
                "plots=false",
                f"output_dir={run}",
            ]
        )
        == 0
    )
    return run


def test_predict_cli(tmp_path, capsys):
    run = make_run(tmp_path)
    (tmp_path / "new.fa").write_text(">a\nACGUACGU\n>b\nggggcccc\n")
    assert (
        main(
            [
                "predict",
                "-q",
                "--run",
                str(run),
                "--input",
                str(tmp_path / "new.fa"),
                "--output",
                str(tmp_path / "out.csv"),
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(open(tmp_path / "out.csv")))
    assert [r["id"] for r in rows] == ["a", "b"] and [r["length"] for r in rows] == ["8", "8"]
    assert [r["sequence"] for r in rows] == ["ACGUACGU", "ggggcccc"]
    assert list(rows[0]) == ["id", "sequence", "mrl", "length", "read", "note"]  # named after the label column
    float(rows[0]["mrl"])
    (tmp_path / "bad.fa").write_text(">a\nACGUQ\n")
    bad = ["predict", "--run", str(run), "--input", str(tmp_path / "bad.fa"), "--output", str(tmp_path / "o2.csv")]
    assert main([*bad, "--strict"]) == 2
    err = capsys.readouterr().err
    assert "bad.fa: record 'a' (line 1): invalid letter 'Q' at position 5; pass --unknown mask" in err
    assert "--strict stops at the first record" in err
    assert main(["predict", "--run", str(tmp_path), "--input", str(tmp_path / "new.fa"), "--output", "x.csv"]) == 2
    assert "not a finished fine-tuning run" in capsys.readouterr().err


def test_predict_output_is_replaced_only_with_overwrite_and_only_if_rnalm_wrote_it(tmp_path, capsys, child_lock):
    """`rnalm predict --output` never overwrites an existing file without --overwrite."""
    run = make_run(tmp_path)
    fa = tmp_path / "new.fa"
    fa.write_text(">a\nACGUACGU\n>b\nggggcccc\n")

    def predict(out, *extra):
        return main(["predict", "-q", "--run", str(run), "--input", str(fa), "--output", str(out), *extra])

    mine = tmp_path / "mine.csv"
    mine.write_text("a,b\n1,2\n")
    assert predict(mine) == 2
    assert "mine.csv: already exists; pass --overwrite to replace it" in capsys.readouterr().err
    assert predict(mine, "--overwrite") == 2
    assert "mine.csv: exists and is not a prediction CSV written by rnalm" in capsys.readouterr().err
    assert mine.read_text() == "a,b\n1,2\n"
    assert predict(fa, "--overwrite") == 2
    assert "holds this command's input" in capsys.readouterr().err
    assert fa.read_text().startswith(">a")

    out = tmp_path / "p.csv"
    assert predict(out) == 0
    first = out.read_text()
    assert predict(out) == 2 and "already exists" in capsys.readouterr().err
    out.write_text(first.replace("\na,", "\nstale,"))
    assert predict(out, "--overwrite") == 0 and out.read_text() == first
    with child_lock(out) as pid:
        assert predict(out, "--overwrite") == 2
        assert f"p.csv: process {pid} is writing this output" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.glob(".*")) == []  # no lock, staging or old copies left
