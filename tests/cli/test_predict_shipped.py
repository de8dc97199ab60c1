"""`rnalm predict --task` with the models shipped inside the package: what a user types and sees.

These tests read the package's own task models (their windows -- te: the 3'-most 100 nt, halflife:
up to 160 nt, ires/family: the 5'-most 1,020 nt -- are what the checks are about)."""

from __future__ import annotations

import csv
import io
import re

import pytest

from rnalm import shipped
from rnalm.cli import build_parser, main
from rnalm.io import seqio


@pytest.fixture(autouse=True)
def package_models(monkeypatch):
    monkeypatch.setenv(shipped.ENV_DIR, str(shipped.package_root()))


UTR = "GGGACAUUUGCUUCUGACACAACUGUGUUCACUAGCAACCUCAAACAGACACCAUG"


def predict(capsys, *args: str) -> tuple[int, list[dict], str]:
    """Exit code, the CSV rows written to standard output, and standard error."""
    code = main(["predict", *args])
    cap = capsys.readouterr()
    return code, list(csv.DictReader(io.StringIO(cap.out))), cap.err


def predict_options() -> set[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return {s for a in sub.choices["predict"]._actions for s in a.option_strings}


def options_named(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))


@pytest.fixture
def long_utr(tmp_path):
    seq = ("ACGU" * 300)[:1024]
    p = tmp_path / "long.fa"
    p.write_text(f">long\n{seq}\n>short\n{UTR}\n")
    return p


def test_te_on_a_1024_nt_input_reports_the_input_length_and_a_note(capsys, long_utr):
    code, rows, err = predict(capsys, "--task", "te", "-i", str(long_utr))
    assert code == 0 and "reads the 3'-most 100 nt of each sequence" in err
    long, short = rows
    assert (long["length"], long["read"], long["note"]) == ("1024", "100", "read the 3'-most 100 of 1,024 nt")
    assert float(long["te_log"]) == float(long["te_log"])  # scored
    assert (short["length"], short["read"], short["note"]) == (str(len(UTR)), str(len(UTR)), "")


def test_halflife_past_its_window_is_noted_and_its_advice_names_no_option_predict_lacks(capsys, long_utr):
    code, rows, err = predict(capsys, "--task", "halflife", "-i", str(long_utr))
    assert code == 0 and "data.truncate" not in err
    long, short = rows
    assert long["halflife"] == "" and long["read"] == ""
    assert long["note"] == "not scored: 1,024 nt is longer than the 160 nt this model reads"
    assert float(short["halflife"]) > 0
    assert "2 records in" in err and "1 with notes (1 not scored)" in err

    code, rows, err = predict(capsys, "--task", "halflife", "-i", str(long_utr), "--strict")
    assert code == 2 and rows == []
    assert "record 'long' (line 1): 1,024 nt is longer than the 160 nt this model reads" in err
    assert options_named(err) <= predict_options() and "--strict" in err


@pytest.mark.parametrize("alias", ["ires", "family"])
def test_ires_and_family_note_what_they_read_of_a_long_input(capsys, tmp_path, alias):
    p = tmp_path / "l.fa"
    p.write_text(">l\n" + ("GGCAU" * 230) + "\n")
    code, rows, _ = predict(capsys, "--task", alias, "-i", str(p), "-q")
    assert code == 0 and rows[0]["length"] == "1150" and rows[0]["read"] == "1020"
    assert rows[0]["note"] == "read the 5'-most 1,020 of 1,150 nt"


def test_seq_label_csv_gets_the_ids_every_command_gives_it(capsys, tmp_path):
    p = tmp_path / "lamar.csv"
    p.write_text(f"seq,label\n{UTR},-0.4621123499222085\nACGUACGUAGGAGCGC,0.44\n")
    code, rows, _ = predict(capsys, "--task", "te", "-i", str(p), "-q")
    assert code == 0
    assert [r["id"] for r in rows] == [r.id for r in seqio.iter_records(p)] == ["lamar_1", "lamar_2"]


def test_input_columns_are_kept_in_order_with_their_values_as_read(capsys, tmp_path):
    p = tmp_path / "in.tsv"
    p.write_text(f"name\tgene\tsequence\tscore\nu1\tACTB\t{UTR}\t0.50\nu2\t\tACGUACGUAGGAGCGC\t1e3\n")
    code, rows, _ = predict(capsys, "--task", "te", "-i", str(p), "-q")
    assert code == 0
    assert list(rows[0]) == [
        "id",
        "name",
        "gene",
        "sequence",
        "score",
        "te_log",
        "te_log_std",
        "length",
        "read",
        "note",
    ]
    assert [(r["id"], r["name"], r["gene"], r["score"]) for r in rows] == [
        ("u1", "u1", "ACTB", "0.50"),
        ("u2", "u2", "", "1e3"),
    ]
    fa = tmp_path / "in.fa"
    fa.write_text(f">u1 ACTB 5' UTR\n{UTR}\n>u2\nACGUACGUAGGAGCGC\n")
    code, rows, _ = predict(capsys, "--task", "te", "-i", str(fa), "-q")
    assert list(rows[0])[:3] == ["id", "description", "sequence"] and rows[0]["description"] == "ACTB 5' UTR"


def test_class_probability_columns_are_named_by_class(capsys, tmp_path):
    p = tmp_path / "t.fa"
    p.write_text(">trna\nGCGGAUUUAGCUCAGUUGGGAGAGCGCCAGACUGAAGAUCUGGAGGUCCUGUGUUCGAUCCACAGAAUUCGCACCA\n")
    code, rows, _ = predict(capsys, "--task", "family", "-i", str(p), "-q")
    probs = [c for c in rows[0] if c.startswith("prob_")]
    assert code == 0 and {"prob_tRNA", "prob_miRNA", "prob_5S_rRNA"} <= set(probs) and len(probs) == 13
    assert rows[0]["family"] in {c[5:] for c in probs}
    assert abs(sum(float(rows[0][c]) for c in probs) - 1) < 1e-4
    code, rows, _ = predict(capsys, "--task", "ires", "-i", str(p), "-q")
    assert list(rows[0]) == ["id", "sequence", "ires_probability", "length", "read", "note"]
    assert 0 <= float(rows[0]["ires_probability"]) <= 1


def test_an_invalid_letter_gives_a_noted_row_and_strict_stops_naming_the_record(capsys, tmp_path):
    p = tmp_path / "bad.fa"
    p.write_text(f">ok\n{UTR}\n>bad\nACGU*ACGU\n>ok2\nACGUACGUAGGAGCGC\n")
    code, rows, err = predict(capsys, "--task", "te", "-i", str(p))
    assert code == 0 and [r["id"] for r in rows] == ["ok", "bad", "ok2"]
    assert rows[1]["te_log"] == "" and rows[1]["length"] == "9" and rows[1]["read"] == ""
    assert (
        rows[1]["note"] == "not scored: invalid letter '*' at position 5; pass --unknown mask (or a letter) to read it"
    )
    assert rows[0]["te_log"] and rows[2]["te_log"] and "3 records in" in err and "1 with notes (1 not scored)" in err

    code, rows, err = predict(capsys, "--task", "te", "-i", str(p), "--strict")
    assert code == 2 and rows == []  # nothing is written when --strict finds a record it cannot score
    assert "bad.fa: record 'bad' (line 3): invalid letter '*' at position 5; pass --unknown mask" in err
    assert options_named(err) <= predict_options()


def test_unknown_mask_reads_letters_the_model_cannot(capsys, tmp_path):
    p = tmp_path / "n.fa"
    p.write_text(">n\nACGUNNACGU*AC\n")
    code, rows, _ = predict(capsys, "--task", "te", "-i", str(p), "-q", "--unknown", "mask")
    assert code == 0 and rows[0]["te_log"] and rows[0]["read"] == "13"
    assert rows[0]["note"] == "3 letters read as <mask> (first 'N' at 5)"
    code, rows, _ = predict(capsys, "--task", "te", "-i", str(p), "-q", "--unknown", "A")
    assert code == 0 and rows[0]["note"] == "3 letters replaced by A (first 'N' at 5)"
    code, _, err = predict(capsys, "--task", "te", "-i", str(p), "--unknown", "unk")
    assert code == 2 and "--unknown mask" in err and options_named(err) <= predict_options()


def test_predict_writes_csv_to_standard_output_and_messages_to_standard_error(capsys, tmp_path):
    p = tmp_path / "a.fa"
    p.write_text(f">a\n{UTR}\n")
    code = main(["predict", "--task", "te", "-i", str(p)])
    cap = capsys.readouterr()
    assert code == 0 and cap.out.splitlines()[0] == "id,sequence,te_log,te_log_std,length,read,note"
    assert "shipped model utrlm-mini-te" in cap.err and "id,sequence" not in cap.err


def test_progress_closing_line_counts_records_and_notes(capsys, long_utr, tmp_path):
    out = tmp_path / "o.csv"
    code = main(["predict", "--task", "te", "-i", str(long_utr), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 0
    assert re.search(
        r"^2 records in \d+\.\d s \(\d+\.\d records/s\); 1 with notes; dtype \w+ \(.*\) -> .*o\.csv$", err, re.M
    )
    code = main(["predict", "--task", "te", "-i", str(long_utr), "-o", str(tmp_path / "q.csv"), "-q"])
    assert code == 0 and capsys.readouterr().err == ""


def test_an_input_column_named_like_a_prediction_keeps_its_name(capsys, tmp_path):
    p = tmp_path / "c.csv"
    p.write_text(f"id,seq,te_log,note\na,{UTR},1.5,mine\n")
    code, rows, err = predict(capsys, "--task", "te", "-i", str(p))
    assert code == 0 and list(rows[0]) == [
        "id",
        "seq",
        "te_log",
        "note",
        "te_log_predicted",
        "te_log_std",
        "length",
        "read",
        "note_predicted",
    ]
    assert rows[0]["te_log"] == "1.5" and rows[0]["note"] == "mine" and rows[0]["te_log_predicted"]
    assert err.count("the input already has column(s) te_log (the prediction is te_log_predicted)") == 1


def test_models_v_states_what_each_task_model_reads_and_its_columns(capsys):
    assert main(["models", "-v"]) == 0
    out = capsys.readouterr().out
    assert "reads the 3'-most 100 nt; columns te_log, te_log_std;" in out
    assert "reads up to 160 nt (longer inputs are not scored); columns halflife, halflife_std;" in out
    assert "reads the 5'-most 1,020 nt; columns ires_probability;" in out


def test_a_row_with_more_fields_than_the_header_says_what_was_left_out(capsys, tmp_path):
    p = tmp_path / "r.csv"
    p.write_text(f"id,seq\na,{UTR},extra\nb,ACGUACGU\n")
    code, rows, _ = predict(capsys, "--task", "te", "-i", str(p), "-q")
    assert code == 0 and rows[0]["note"] == "1 field(s) past the header's 2 columns left out" and rows[1]["note"] == ""
