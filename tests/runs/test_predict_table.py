"""The prediction table: streamed in chunks, recognised as rnalm's by its trailing columns."""

from __future__ import annotations

import csv
import io
import os

import pytest

from rnalm import shipped
from rnalm.predictors import task
from rnalm.runs.prediction_table import PREDICTIONS, Scorer, Source, write_table


@pytest.fixture
def te(monkeypatch):
    monkeypatch.setenv(shipped.ENV_DIR, str(shipped.package_root()))
    return task.from_shipped(shipped.task_entry("te"), device="cpu", log=lambda _m: None)


class Watched(Scorer):
    """The shipped scorer, recording how many records each call scores, what the output held by then,
    and how many frozen-backbone features the model still holds."""

    def __init__(self, base: Scorer, out: io.StringIO) -> None:
        super().__init__(base.predictor, base.columns, base.unknown, base.strict, base.batch_size)
        self.out, self.calls = out, []

    def score(self, records, where):
        rows = super().score(records, where)
        frozen = self.predictor._frozen_features
        self.calls.append((len(records), self.out.getvalue().count("\n"), len(frozen.tokens)))
        return rows


def test_a_file_is_predicted_chunk_by_chunk_and_each_chunk_written_before_the_next(te, tmp_path):
    p = tmp_path / "many.fa"
    p.write_text("".join(f">s{i}\n{'ACGU' * (3 + i)}\n" for i in range(7)))
    out = io.StringIO()
    scorer = Watched(te.scorer(), out)
    summary = write_table(scorer, Source.open(p), out, chunk_size=3)
    assert [n for n, _, _ in scorer.calls] == [3, 3, 1]
    assert [lines for _, lines, _ in scorer.calls] == [1, 4, 7]  # header, then 3 rows per finished chunk
    assert all(held == 0 for _, _, held in scorer.calls)  # features of a finished chunk are dropped
    assert summary.records == 7 and summary.noted == 0
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["id"] for r in rows] == [f"s{i}" for i in range(7)]
    whole = io.StringIO()
    write_table(te.scorer(), Source.open(p), whole)
    one_chunk = list(csv.DictReader(io.StringIO(whole.getvalue())))
    # chunking changes only which sequences share a padded batch: the same predictions to float precision
    assert [float(r["te_log"]) for r in rows] == pytest.approx([float(r["te_log"]) for r in one_chunk], abs=1e-5)


def test_overwrite_recognises_only_a_table_rnalm_wrote(te, tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("name,seq,length,note\nx,ACGUACGU,8,\n")
    out = tmp_path / "p.csv"
    old = os.umask(0o027)
    try:
        te.predict_file(p, out, show=False)
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o640  # the umask's mode, as for any file the user writes
    header = out.read_text().splitlines()[0]
    assert header == "id,name,seq,length,note,te_log,te_log_std,length_predicted,read,note_predicted"
    assert PREDICTIONS.owns(out) and not PREDICTIONS.owns(p)
    (tmp_path / "old.csv").write_text("id,prediction,prob_0,prob_1,length\na,1,0.5,0.5,8\n")  # earlier rnalm
    assert PREDICTIONS.owns(tmp_path / "old.csv")
    te.predict_file(p, out, overwrite=True, show=False)
    assert out.read_text().splitlines()[0] == header
