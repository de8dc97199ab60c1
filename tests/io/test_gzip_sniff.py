"""Format detection reads a bounded prefix: a gzip "FASTA" of one endless line is not inflated whole."""

from __future__ import annotations

import gzip
import tracemalloc

import pytest

from rnalm.io.seqio import SequenceFileError, detect_format

LINE_MIB = 200


def test_one_line_gzip_bomb_is_sniffed_in_bounded_memory(tmp_path):
    path = tmp_path / "bomb.fa.gz"
    chunk = b"A" * 2**20
    with gzip.open(path, "wb", compresslevel=9) as fh:
        for _ in range(LINE_MIB):
            fh.write(chunk)
    assert path.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(SequenceFileError, match="bomb.fa.gz: not FASTA"):
            detect_format(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20  # reading the line whole would hold 200 MiB (and more as str)
