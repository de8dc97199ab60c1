"""Design outputs: replaced only when rnalm wrote them, with the modes the umask allows."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from rnalm.design.report import write_designs
from rnalm.io.output_guard import OutputError


def test_overwrite_replaces_only_a_designs_table_and_honours_the_umask(tmp_path):
    table = pd.DataFrame({"rank": [1], "sequence": ["ACGU"], "objective": [0.5]})
    foreign = tmp_path / "notes.csv"
    foreign.write_text("mine\n")
    with pytest.raises(OutputError, match="not a designs CSV"):
        write_designs(table, foreign, overwrite=True)
    assert foreign.read_text() == "mine\n"
    old = os.umask(0o027)
    try:
        out = write_designs(table, tmp_path / "d.csv")
        write_designs(table.assign(objective=[0.7]), out, overwrite=True)
    finally:
        os.umask(old)
    assert out.read_text() == "rank,sequence,objective\n1,ACGU,0.7\n" and (out.stat().st_mode & 0o777) == 0o640
