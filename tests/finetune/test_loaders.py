"""Each loader on small files in the published layouts, and bad input with clear errors."""

from __future__ import annotations

import gzip
import math

import pytest

from rnalm.finetune.data.loader_table import load_data
from rnalm.finetune.data.loaders import CAO_PREFIX, CAO_SUFFIX
from rnalm.runs.config import DataConfig
from rnalm.runs.errors import ConfigError, DataError
from rnalm.runs.tasks import get_task


def cfg(**kw) -> DataConfig:
    c = DataConfig(**kw)
    c.validate()
    return c


# ------------------------------------------------------------------------------------ generic
def test_generic_csv_tsv_fasta_with_named_columns(tmp_path):
    (tmp_path / "a.csv").write_text("name,utr,te,grp\nx1,ACGU,1.5,g1\nx2,GGCC,2.5,g1\n")
    b = load_data(
        cfg(train=str(tmp_path / "a.csv"), seq_column="utr", label_column="te", id_column="name", group_column="grp"),
        "regression",
    )
    assert b.train.ids == ["x1", "x2"] and b.train.seqs == ["ACGU", "GGCC"]
    assert b.train.labels == ["1.5", "2.5"] and b.train.groups == ["g1", "g1"]
    assert b.train.where == ["a.csv:2", "a.csv:3"]

    (tmp_path / "a.tsv").write_text("seq\tlabel\nACGU\t0\nUUUU\t1\n")
    with gzip.open(tmp_path / "b.fa.gz", "wt") as fh:
        fh.write(">s1 classA extra\nACG\nUUU\n>s2 classB\nGGG\n")
    b = load_data(cfg(train=str(tmp_path / "a.tsv"), test=str(tmp_path / "b.fa.gz")), "classification")
    assert b.train.labels == ["0", "1"]
    assert b.test.ids == ["s1", "s2"] and b.test.seqs == ["ACGUUU", "GGG"] and b.test.labels == ["classA", "classB"]
    assert b.test.where[1] == "b.fa.gz:4"


def test_lamar_and_nrc_layouts(tmp_path):
    (tmp_path / "train.csv").write_text("seq,label\nACGTACGT,0.5\nGGGG,1.0\n")
    b = load_data(cfg(loader="lamar", train=str(tmp_path / "train.csv")), "regression")
    assert b.train.seqs == ["ACGTACGT", "GGGG"] and b.train.labels == ["0.5", "1.0"]

    (tmp_path / "n.fasta").write_text(">RF00001_AF1 5S_rRNA\nGCGUAC\n>RF00005_X tRNA\nGGGA\nCCU\n")
    b = load_data(cfg(loader="nrc", train=str(tmp_path / "n.fasta")), "classification")
    assert b.train.labels == ["5S_rRNA", "tRNA"] and b.train.seqs[1] == "GGGACCU"
    with pytest.raises(ConfigError, match="task=classification"):
        load_data(cfg(loader="nrc", train=str(tmp_path / "n.fasta")), "regression")


# ------------------------------------------------------------------------------------ Sample 2019
def test_sample2019_random50_split_by_reads(tmp_path):
    rows = ["utr,total_reads,rl"] + [
        f"{'ACGU'[i % 4] * 50},{r},{i / 10}" for i, r in enumerate([5, 100, 50, 7, 300, 1, 80])
    ]
    p = tmp_path / "GSM3130435_egfp_unmod_1.csv.gz"
    with gzip.open(p, "wt") as fh:
        fh.write(",".join(["", *rows[0].split(",")]) + "\n")  # GEO files carry an unnamed index column
        for i, r in enumerate(rows[1:]):
            fh.write(f"{i},{r}\n")
    b = load_data(cfg(loader="sample2019_gsm3130435", train=str(p), options={"keep": 6, "n_test": 2}), "regression")
    # reads sorted: 300 (i=4), 100 (1), 80 (6), 50 (2), 7 (3), 5 (0); keep 6 drops reads=1; 2 most-read are test
    assert b.test.labels == ["0.4", "0.1"]
    assert b.train.labels == ["0.6", "0.2", "0.3", "0.0"]
    assert b.force_standardize
    with pytest.raises(DataError, match="nothing left to train"):
        load_data(cfg(loader="sample2019_gsm3130435", train=str(p), options={"n_test": 20_000}), "regression")


def test_sample2019_varying_length_split(tmp_path):
    lines = ["utr,set,total_reads,rl"]
    reads = {}
    k = 0
    for s in ("random", "human", "snv"):
        for length in (25, 26):
            for r in (5, 12, 40, 30, 20):
                lines.append(f"{'A' * length},{s},{r},{k}")
                reads[str(k)] = (s, length, r)
                k += 1
    p = tmp_path / "GSM4084997_varying_length_25to100.csv"
    p.write_text("\n".join(lines) + "\n")
    b = load_data(cfg(loader="sample2019_gsm4084997", train=str(p), options={"n_test_per_length": 2}), "regression")
    # reads < 10 dropped everywhere; per (set, length) the 2 most-read (40, 30) of random/human are test.
    assert all(reads[lab][2] >= 10 for lab in b.train.labels + b.test.labels)
    assert sorted(reads[lab][2] for lab in b.test.labels) == [30] * 4 + [40] * 4
    assert {reads[lab][0] for lab in b.test.labels} == {"random", "human"}
    assert b.test.extra["subset"].count("random") == 4
    assert len(b.train) == 6 * 4 - 8  # 24 kept rows, 8 in test; snv rows all train
    assert b.force_standardize


def test_sample2019_snv_groups_by_wild_type(tmp_path):
    p = tmp_path / "snv.csv"
    p.write_text(
        ",utr,hrl,id,mother,info4\n0,AAAA,5.0,wt1,AAAA,normal\n1,AAAC,4.0,v1,AAAA,variant\n2,CCCC,6.0,wt2,CCCC,normal\n"
    )
    b = load_data(cfg(loader="sample2019_snv", train=str(p)), "regression")
    assert b.train.groups == ["AAAA", "AAAA", "CCCC"] and b.train.ids == ["wt1", "v1", "wt2"]
    assert b.train.extra["subset"] == ["normal", "variant", "normal"]
    assert b.train.labels == ["5.0", "4.0", "6.0"]


# ------------------------------------------------------------------------------------ Cao et al.
def _cao_line(insert: str, ann: str) -> str:
    return f"{CAO_PREFIX}{insert}{CAO_SUFFIX}\t{ann}"


def test_cao_cell_line_tables(tmp_path):
    ins = ["A" * 100, "C" * 100, "G" * 100, "U" * 100]
    p = tmp_path / "final_endogenous.txt"
    p.write_text(
        "\n".join(
            [
                _cao_line(ins[0], "ENST1.1|HEK293|rnaseq_rpkm=10.0|te=2.0|geneName=G1|1"),
                _cao_line(ins[1], "ENST1.1|HEK293|rnaseq_rpkm=10.0|te=2.0|geneName=G1|2"),
                _cao_line(ins[2], "ENST2.1|PC3|rnaseq_rpkm=20.0|te=0.5|geneName=G2|1"),
                _cao_line(ins[3], "DVL1|>uc001aer.4|-"),  # designed, unmeasured: skipped
            ]
        )
        + "\n"
    )
    b = load_data(cfg(loader="cao", train=str(p), options={"cell_line": "hek"}), "regression")
    assert b.train.seqs == ins[:2]
    assert [float(x) for x in b.train.labels] == pytest.approx([math.log(2.0)] * 2)
    assert b.train.groups == ["ENST1.1", "ENST1.1"]  # fragments of one transcript stay together
    b = load_data(
        cfg(
            loader="cao",
            train=str(p),
            options={"cell_line": "PC3", "target": "rnaseq", "region": "construct", "log": False},
        ),
        "regression",
    )
    assert b.train.seqs == [CAO_PREFIX + ins[2] + CAO_SUFFIX] and b.train.labels == [repr(20.0)]
    b = load_data(cfg(loader="cao", train=str(p), options={"cell_line": "PC3", "log": 2}), "regression")
    assert [float(x) for x in b.train.labels] == [-1.0]  # log2(0.5): the scale of LAMAR's HEK293 labels
    for bad in (1, 0.5, "two"):
        with pytest.raises(ConfigError, match="data.options.log"):
            load_data(cfg(loader="cao", train=str(p), options={"log": bad}), "regression")
    with pytest.raises(ConfigError, match="cell_line"):
        load_data(cfg(loader="cao", train=str(p), options={"cell_line": "HeLa"}), "regression")
    with pytest.raises(ConfigError, match="not options of loader"):
        load_data(cfg(loader="cao", train=str(p), options={"cellline": "HEK293"}), "regression")
    with pytest.raises(DataError, match="no measured constructs"):
        load_data(cfg(loader="cao", train=str(p), options={"cell_line": "MUSCLE"}), "regression")


# ------------------------------------------------------------------------------------ bad input
def test_missing_columns_name_the_alternatives(tmp_path):
    (tmp_path / "a.csv").write_text("sequence,y\nACGU,1\n")
    with pytest.raises(DataError, match=r"no seq column 'seq'; the columns are \['sequence', 'y'\]"):
        load_data(cfg(train=str(tmp_path / "a.csv")), "regression")
    with pytest.raises(DataError, match="no label column 'label'"):
        load_data(cfg(train=str(tmp_path / "a.csv"), seq_column="sequence"), "regression")


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "empty file"),
        ("seq,label\n", "no data rows"),
        (">only a header\n", None),
        ("ACGU,1\n", "no seq column"),
    ],
)
def test_empty_and_headerless_files(tmp_path, content, message):
    name = "x.fa" if content.startswith(">") else "x.csv"
    (tmp_path / name).write_text(content)
    if message is None:  # a FASTA record without sequence is read; its empty sequence fails validation later
        b = load_data(cfg(train=str(tmp_path / name)), "classification")
        assert b.train.seqs == [""]
        return
    with pytest.raises(DataError, match=message):
        load_data(cfg(train=str(tmp_path / name)), "regression")


def test_missing_file_and_unknown_extension(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_data(cfg(train=str(tmp_path / "nope.csv")), "regression")
    (tmp_path / "x.dat").write_text("seq,label\nA,1\n")
    with pytest.raises(DataError, match="data.format"):
        load_data(cfg(train=str(tmp_path / "x.dat")), "regression")


@pytest.mark.parametrize(
    "value, message",
    [
        ("abc", "'abc' in column 'label' is not a number"),
        ("nan", "is missing"),
        ("", "is missing"),
        ("inf", "not finite"),
    ],
)
def test_bad_regression_labels_name_the_row(tmp_path, value, message):
    (tmp_path / "a.csv").write_text(f"seq,label\nACGU,1.0\nGGCC,{value}\nUUAA,2\n")
    b = load_data(cfg(train=str(tmp_path / "a.csv")), "regression")
    with pytest.raises(DataError, match=rf"a\.csv:3: .*{message}"):
        get_task("regression").fit(b.train, "label", "none", False)


def test_label_problems_for_the_task(tmp_path):
    (tmp_path / "one.csv").write_text("seq,label\nACGU,pos\nGGCC,pos\n")
    b = load_data(cfg(train=str(tmp_path / "one.csv")), "classification")
    with pytest.raises(DataError, match="single class"):
        get_task("classification").fit(b.train, "label", "none", False)
    (tmp_path / "const.csv").write_text("seq,label\nACGU,3\nGGCC,3\n")
    b = load_data(cfg(train=str(tmp_path / "const.csv")), "regression")
    with pytest.raises(DataError, match="constant"):
        get_task("regression").fit(b.train, "label", "none", False)
    (tmp_path / "neg.csv").write_text("seq,label\nACGU,3\nGGCC,-1\n")
    b = load_data(cfg(train=str(tmp_path / "neg.csv")), "regression")
    with pytest.raises(DataError, match="neg.csv:3: .*log"):
        get_task("regression").fit(b.train, "label", "log", False)


def test_short_rows_are_reported(tmp_path):
    (tmp_path / "a.csv").write_text("id,seq,label\nx,ACGU,1\ny,GG\n")
    with pytest.raises(DataError, match=r"a\.csv:3: row has 2 fields"):
        load_data(cfg(train=str(tmp_path / "a.csv"), id_column="id"), "regression")
