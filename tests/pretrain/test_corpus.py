"""`rnalm corpus --output`: an existing output is never overwritten without asking (an earlier version did)."""

from __future__ import annotations

import gzip

import pytest

from rnalm.cli import main
from rnalm.errors import RnalmError
from rnalm.pretrain.corpus import build_corpus, is_corpus_fasta


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    (d / "ires").mkdir(parents=True)
    (d / "ires" / "train.csv").write_text("seq,label\nACGTACGTACGT,1\nGGGGCCCCAAAA,0\nACGTACGTACGT,1\n")
    return d


@pytest.mark.parametrize("name", ["corpus.fa", "corpus.fa.gz"])
def test_existing_corpus_needs_overwrite(tmp_path, data_dir, name):
    out = tmp_path / name
    assert build_corpus(data_dir, out)["ires/train.csv"] == 2
    assert is_corpus_fasta(out)
    first = out.read_bytes()
    with pytest.raises(RnalmError, match=f"{name}: already exists; pass --overwrite to replace it"):
        build_corpus(data_dir, out, min_length=20)
    assert out.read_bytes() == first
    assert build_corpus(data_dir, out, min_length=20, overwrite=True)["ires/train.csv"] == 0
    opener = gzip.open if name.endswith(".gz") else open
    with opener(out, "rt") as fh:
        assert fh.read() == ""
    assert {p.name for p in tmp_path.iterdir()} == {"data", name}


def test_overwrite_refuses_a_file_rnalm_did_not_write(tmp_path, data_dir, capsys, child_lock):
    mine = tmp_path / "seqs.fa"
    mine.write_text(">my_seq\nACGU\n")
    with pytest.raises(RnalmError, match="seqs.fa: exists and is not a corpus FASTA written by rnalm"):
        build_corpus(data_dir, mine, overwrite=True)
    assert main(["corpus", "--data", str(data_dir), "--output", str(mine)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert mine.read_text() == ">my_seq\nACGU\n"
    out = tmp_path / "c.fa"
    assert main(["corpus", "--data", str(data_dir), "--output", str(out)]) == 0
    assert main(["corpus", "--data", str(data_dir), "--output", str(out), "--overwrite"]) == 0
    with child_lock(out) as pid:
        assert main(["corpus", "--data", str(data_dir), "--output", str(out), "--overwrite"]) == 2
        assert f"c.fa: process {pid} is writing this output" in capsys.readouterr().err


def test_gzip_fasta_sources_are_read_and_their_validation_split_left_out(tmp_path, data_dir):
    (data_dir / "rnastralign").mkdir()
    with gzip.open(data_dir / "rnastralign" / "train.fasta.gz", "wt") as fh:
        fh.write(">./RNAStrAlign/tRNA/a.ct\nGCGGAUUUAGCUCAG\n>./b.ct\nACGTACGTACGT\n")
    with gzip.open(data_dir / "rnastralign" / "val.fasta.gz", "wt") as fh:
        fh.write(">./c.ct\nUUUUUAAAAACCCCC\n")
    out = tmp_path / "corpus.fa"
    counts = build_corpus(data_dir, out)
    # the second training record repeats an IRES sequence (T -> U), so only the first is new
    assert counts["rnastralign/train.fasta.gz"] == 1
    assert "rnastralign/val.fasta.gz" not in counts
    text = out.read_text()
    assert ">rnastralign:train.fasta.gz:0\nGCGGAUUUAGCUCAG\n" in text
    assert "UUUUUAAAAACCCCC" not in text
    assert build_corpus(data_dir, tmp_path / "with_valid.fa", include_valid=True)["rnastralign/val.fasta.gz"] == 1
