"""ct / bpseq / dbn readers and writers, and the dataset layouts, on hand-written files."""

from __future__ import annotations

import json

import pytest

from rnalm.structure.formats import (
    StructureFormatError,
    archiveii_family,
    read_archiveii_csv,
    read_archiveii_splits,
    read_bprna_jsonl,
    read_bpseq,
    read_ct,
    read_dbn,
    read_structures,
    write_bpseq,
    write_ct,
    write_dbn,
)
from rnalm.structure.pairs import Structure

# H-type pseudoknot: stem 1 (0-3 with 12-15), stem 2 (7-9 with 19-21) crosses stem 1
PK = Structure("pk1", "GGGGAAACCCAAUUCCCCAAGGGA", ((0, 15), (1, 14), (2, 13), (3, 12), (7, 21), (8, 20), (9, 19)))
NESTED = Structure("hp", "GGGAAAUCCC", ((0, 9), (1, 8), (2, 7)))
EMPTY = Structure("empty", "ACGU", ())


@pytest.mark.parametrize("s", [PK, NESTED, EMPTY])
def test_round_trips(tmp_path, s):
    write_ct(s, tmp_path / "a.ct")
    write_bpseq(s, tmp_path / "a.bpseq", header=True)
    write_dbn(s, tmp_path / "a.dbn")
    assert read_ct(tmp_path / "a.ct") == [s]
    assert read_bpseq(tmp_path / "a.bpseq") == s
    assert read_dbn(tmp_path / "a.dbn") == [s]
    for ext in ("ct", "bpseq", "dbn"):
        assert read_structures(tmp_path / f"a.{ext}") == [s]


def test_dbn_uses_round_then_square_brackets(tmp_path):
    write_dbn(PK, tmp_path / "pk.dbn")
    lines = (tmp_path / "pk.dbn").read_text().splitlines()
    assert lines == [">pk1", PK.sequence, "((((...[[[..))))...]]].."]


def test_multi_record_files(tmp_path):
    write_ct([PK, NESTED], tmp_path / "m.ct")
    write_dbn([PK, NESTED, EMPTY], tmp_path / "m.dbn")
    assert read_ct(tmp_path / "m.ct") == [PK, NESTED]
    assert read_dbn(tmp_path / "m.dbn") == [PK, NESTED, EMPTY]


def test_reads_foreign_flavours(tmp_path):
    # RNAstructure-style ct header with energy; RNA STRAND-style bpseq header; RNAfold and bpRNA dbn
    (tmp_path / "e.ct").write_text(
        "5  ENERGY = -1.2  myrna\n1 G 0 2 5 1\n2 A 1 3 0 2\n3 A 2 4 0 3\n4 A 3 5 0 4\n5 C 4 0 1 5\n"
    )
    assert read_ct(tmp_path / "e.ct") == [Structure("myrna", "GAAAC", ((0, 4),))]
    (tmp_path / "s.bpseq").write_text(
        "Filename: strand1.ct\nOrganism: x\n# comment\n1 G 5\n2 A 0\n3 A 0\n4 A 0\n5 C 1\n"
    )
    assert read_bpseq(tmp_path / "s.bpseq") == Structure("strand1.ct", "GAAAC", ((0, 4),))
    (tmp_path / "v.dbn").write_text(
        ">v1 some description\nGGGAAAUCCC\n(((....))) (-1.20)\n#Name: bprna_1\n#Length: 4\nACGU\n....\n"
    )
    assert read_dbn(tmp_path / "v.dbn") == [
        Structure("v1", "GGGAAAUCCC", ((0, 9), (1, 8), (2, 7))),
        Structure("bprna_1", "ACGU", ()),
    ]


@pytest.mark.parametrize(
    "name,text,msg",
    [
        ("a.ct", "3 x\n1 G 0 2 3 1\n2 A 1 3 0 2\n", r"a\.ct:3: .*ends after 2 of 3"),
        (
            "b.ct",
            "3 x\n1 G 0 2 3 1\n2 A 1 3 0 2\n3 C 2 0 2 3\n",
            r"b\.ct:2: .*position 1 names partner 3, but position 3 names 2",
        ),
        ("c.ct", "2 x\n1 G 0 2 0 1\n3 A 1 0 0 2\n", r"c\.ct:3: .*expected position 2, got 3"),
        ("d.ct", "x y\n", r"d\.ct:1: expected a ct header"),
        ("e.bpseq", "1 G 3\n2 A 0\n3 C 1\n4 U\n", r"e\.bpseq:4: a bpseq line"),
        ("f.bpseq", "1 G 9\n2 C 0\n", r"f\.bpseq:1: partner 9 is past"),
        ("g.bpseq", "1 G 1\n", r"g\.bpseq:1: .*paired with itself"),
        ("h.dbn", ">x\nGGGAAACCC\n(((...))\n", r"h\.dbn:3: .*8 characters.*9"),
        ("i.dbn", ">x\nGGGAAACCC\n((....)))\n", r"i\.dbn:3: .*unbalanced"),
        ("j.dbn", ">x\nGGGAAACCC\n", r"j\.dbn:1: .*got 1 data line"),
        ("k.dbn", ">x\nGGG\nCCC\n...\n", r"k\.dbn:4: .*multi-line"),
        ("l.dbn", "", r"l\.dbn: no dot-bracket record"),
    ],
)
def test_malformed_files_name_file_and_line(tmp_path, name, text, msg):
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(StructureFormatError, match=msg):
        read_structures(p)


def test_unknown_extension_and_missing_file(tmp_path):
    with pytest.raises(StructureFormatError, match="unknown structure file extension"):
        read_structures(tmp_path / "x.txt")
    with pytest.raises(StructureFormatError, match="no such file"):
        read_ct(tmp_path / "missing.ct")


def test_bprna_jsonl(tmp_path):
    p = tmp_path / "v.jsonl"
    p.write_text(
        json.dumps({"id": "a", "sequence": "GGGAAACCC", "pairs": [[1, 9], [2, 8]]})
        + "\n\n"
        + json.dumps({"id": "b", "sequence": "GGGAAACCC", "pairs": [[5, 5], [1, 9]]})
        + "\n"
    )
    with pytest.warns(UserWarning, match=r"v\.jsonl:3: record 'b': dropped 1 .*itself"):
        recs = read_bprna_jsonl(p)
    assert recs == [Structure("a", "GGGAAACCC", ((0, 8), (1, 7))), Structure("b", "GGGAAACCC", ((0, 8),))]
    with pytest.raises(StructureFormatError, match=r"v\.jsonl:3: record 'b': pair \[5, 5\]"):
        read_bprna_jsonl(p, invalid_pairs="error")
    p.write_text('{"id": "a", "sequence": "GGG"}\n')
    with pytest.raises(StructureFormatError, match=r":1: expected an object"):
        read_bprna_jsonl(p)
    p.write_text('{"id": "a", "sequence": "GGG", "pairs": [[1, 2, 3]]}\n')
    with pytest.raises(StructureFormatError, match="malformed pair"):
        read_bprna_jsonl(p)
    p.write_text("{not json\n")
    with pytest.raises(StructureFormatError, match=r":1: invalid JSON"):
        read_bprna_jsonl(p)


def test_archiveii_csv_and_splits(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text(
        "id,sequence,structure,base_pairs,len\n"
        '5s_X-1,GGGGAAACCCAAUUCCCCAAGGGA,((((...<<<..))))...>>>..,"'
        + json.dumps([[1, 16], [2, 15], [3, 14], [4, 13], [8, 22], [9, 21], [10, 20]])
        + '",24\n'
        'tRNA_y,GAAAC,(...),"[[1, 5]]",5\n'
    )
    recs = read_archiveii_csv(p)
    assert recs[0] == Structure("5s_X-1", PK.sequence, PK.pairs)
    assert recs[1].pairs == ((0, 4),)
    assert [archiveii_family(r.id) for r in recs] == ["5s", "tRNA"]
    p.write_text('id,sequence,structure,base_pairs,len\ntRNA_y,GAAAC,.....,"[[1, 5]]",5\n')
    with pytest.raises(StructureFormatError, match=r"a\.csv:2: .*disagree"):
        read_archiveii_csv(p)
    assert read_archiveii_csv(p, check_structure=False)[0].pairs == ((0, 4),)
    p.write_text('id,sequence,structure,base_pairs,len\ntRNA_y,GAAAC,(...),"[[1, 5]]",6\n')
    with pytest.raises(StructureFormatError, match="len says 6"):
        read_archiveii_csv(p)
    p.write_text("id,sequence\nx,ACGU\n")
    with pytest.raises(StructureFormatError, match="missing column"):
        read_archiveii_csv(p)
    s = tmp_path / "s.csv"
    s.write_text("fold_number,partition,id,min_train_dist\n0,train,a,0.0\n0,test,b,0.1\n1,train,b,0\n")
    assert read_archiveii_splits(s) == {0: {"train": ["a"], "test": ["b"]}, 1: {"train": ["b"]}}
    s.write_text("fold_number,partition,id\nzero,train,a\n")
    with pytest.raises(StructureFormatError, match=r"s\.csv:2: fold_number 'zero'"):
        read_archiveii_splits(s)


def test_writers_are_atomic(tmp_path, monkeypatch):
    target = tmp_path / "x.ct"
    write_ct(NESTED, target)
    before = target.read_text()
    import rnalm.io.atomic as atomic

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_ct(PK, target)
    assert target.read_text() == before
    assert [q.name for q in tmp_path.iterdir()] == ["x.ct"]  # no temporary left behind
