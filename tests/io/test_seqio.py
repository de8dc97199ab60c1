"""Streaming sequence readers: formats, detection, errors that name the record, id sets."""

from __future__ import annotations

import gzip

import pytest

from rnalm.errors import RnalmError
from rnalm.io.seqio import DuplicateIdError, IdSet, Record, SequenceFileError, detect_format, iter_records, unique_ids


def write(path, text, compress=False):
    data = text.encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


FASTA = ">a first record\nACGU\nacgu\n\n>b\nGGGG\n;comment line\nCC\n>c  spaced   header\nU\n"


@pytest.mark.parametrize("compress", [False, True])
def test_fasta_multiline_descriptions_and_gzip(tmp_path, compress):
    p = write(tmp_path / ("x.fa.gz" if compress else "x.fa"), FASTA, compress)
    recs = list(iter_records(p))
    assert [(r.id, r.seq, r.description, r.index, r.line) for r in recs] == [
        ("a", "ACGUacgu", "first record", 0, 1),
        ("b", "GGGGCC", "", 1, 5),
        ("c", "U", "spaced   header", 2, 9),
    ]


def test_gzip_detected_by_content_not_name(tmp_path):
    p = write(tmp_path / "seqs.txt", FASTA, compress=True)
    assert detect_format(p) == "fasta"
    assert [r.id for r in iter_records(p)] == ["a", "b", "c"]


def test_csv_and_tsv_with_header_and_column_choice(tmp_path):
    p = write(tmp_path / "x.csv", 'name,label,Sequence\nr1,0.5,ACGU\n\nr2,1.5,"GG CC"\n')
    assert [(r.id, r.seq, r.index, r.line) for r in iter_records(p)] == [("r1", "ACGU", 0, 2), ("r2", "GG CC", 1, 4)]
    t = write(tmp_path / "x.tsv", "id\tutr\tother\nu1\tAAA\tz\n")
    assert [(r.id, r.seq) for r in iter_records(t)] == [("u1", "AAA")]
    # explicit columns, by name and by number; a .txt table is detected from its delimiter
    q = write(tmp_path / "x.txt", "key\tdata\nk1\tCCC\n")
    assert detect_format(q) == "tsv"
    assert [(r.id, r.seq) for r in iter_records(q, id_column="key", seq_column="data")] == [("k1", "CCC")]
    assert [(r.id, r.seq) for r in iter_records(q, id_column=0, seq_column="1")] == [("k1", "CCC")]
    assert [(r.id, r.seq) for r in iter_records(p, fmt="csv", id_column="label")] == [("0.5", "ACGU"), ("1.5", "GG CC")]


@pytest.mark.parametrize(
    "name,text,match",
    [
        ("empty.fa", "", "empty file"),
        ("blank.fa", "\n  \n", "empty file"),
        ("x.fa", "ACGU\n>a\nAC\n", "not FASTA"),
        ("x.dat", "just some words\n", "not FASTA"),
        ("x.fa", ">\nACGU\n", "header without an id"),
        ("x.fa", ">a\nACGU\n>b desc\n>c\nGG\n", "record 'b' \\(line 3\\): empty sequence"),
        ("x.fa", ">a\nACGU\n>last\n", "record 'last' \\(line 3\\): empty sequence"),
        ("x.csv", "id,sequence\nr1,AC\nr2,\n", "record 'r2' \\(line 3\\): empty sequence"),
        ("x.csv", "id,sequence\n,AC\n", "line 2: empty record id"),
        ("x.csv", "id,sequence\n", "no sequence records"),
        ("x.csv", "foo,bar\nr1,AC\n", "which column holds the sequence"),
        ("x.csv", "id,bar\nr1,AC\n", "which column holds the sequence"),
        ("x.csv", "id,sequence,x\nr1\n", "line 2: 1 field"),
    ],
)
def test_errors_name_the_file_and_record(tmp_path, name, text, match):
    p = write(tmp_path / name, text)
    with pytest.raises(SequenceFileError, match=match) as info:
        list(iter_records(p))
    assert str(p) in str(info.value)
    assert isinstance(info.value, RnalmError)


def test_missing_named_column_and_binary_and_missing_file(tmp_path):
    p = write(tmp_path / "x.csv", "id,sequence\nr1,AC\n")
    with pytest.raises(SequenceFileError, match="no column 'nope'"):
        list(iter_records(p, seq_column="nope"))
    b = tmp_path / "x.bin"
    b.write_bytes(b"\x00\x01\x02\xff\xfe")
    with pytest.raises(SequenceFileError, match="binary|not a text"):
        list(iter_records(b))
    with pytest.raises(SequenceFileError, match="cannot read"):
        list(iter_records(tmp_path / "missing.fa"))
    with pytest.raises(SequenceFileError, match="unknown sequence file format"):
        list(iter_records(p, fmt="genbank"))


def test_records_are_streamed(tmp_path):
    """Records come out before the reader reaches a later problem: the file is never read whole."""
    lines = "".join(f">r{i}\nACGU\n" for i in range(1000)) + ">bad\n"
    p = write(tmp_path / "x.fa", lines)
    it = iter_records(p)
    first = [next(it) for _ in range(3)]
    assert [r.id for r in first] == ["r0", "r1", "r2"]
    with pytest.raises(SequenceFileError, match="'bad'"):
        list(it)


def test_unique_ids_names_the_duplicate(tmp_path):
    p = write(tmp_path / "x.fa", ">a\nAC\n>b\nGG\n>a other\nUU\n")
    with pytest.raises(DuplicateIdError, match="duplicate record id 'a' \\(line 5\\), record 3"):
        list(unique_ids(iter_records(p), p))
    assert [r.id for r in unique_ids([Record("x", "A"), Record("y", "C")])] == ["x", "y"]


def test_idset_exact_across_sorted_runs():
    s = IdSet(buffer_size=64)  # small buffer: exercises spills and run merges
    ids = [f"id{i}" for i in range(2000)]
    assert all(s.add(i) for i in ids)
    assert len(s) == 2000 and len(s._runs) > 1
    assert all(i in s for i in ids)
    assert not any(f"other{i}" in s for i in range(2000))
    assert not s.add("id1234") and len(s) == 2000
    assert 1 not in s
    assert s.nbytes < 2000 * 40


def test_a_label_column_is_never_taken_as_the_id(tmp_path):
    # LAMAR's CSVs are seq,label: rows get <stem>_<row> ids, as the training loaders name them
    p = write(tmp_path / "halflife.csv", "seq,label\nACGU,-0.4621123499222085\nGGCC,0.1\n")
    assert [r.id for r in iter_records(p)] == ["halflife_1", "halflife_2"]


def test_row_ids_match_the_training_table_reader(tmp_path):
    from rnalm.runs.table import read_table

    p = write(tmp_path / "t.csv", "seq,label\nACGU,1\nGGCC,2\n")
    assert [r.id for r in iter_records(p)] == read_table(p, ",", "seq", "label").ids
