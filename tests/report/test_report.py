"""The demo report on its own: the task a record's type picks, the TSV columns, and the HTML template
(every value escaped, missing models named)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rnalm.report.html import render_report
from rnalm.report.results import StructureResult, TaskResult, relevant_task, short, type_of
from rnalm.report.tsv import write_tsv


@dataclass
class Rec:
    id: str
    seq: str
    description: str = ""


def test_record_type_picks_the_task():
    assert [relevant_task(t) for t in ("5'UTR", "utr_3", "IRES", "tRNA", "")] == [
        "te",
        "halflife",
        "ires",
        "family",
        None,
    ]
    assert type_of("x type=5UTR len=3") == "5UTR" and type_of("no type") == ""
    assert short("first\nsecond") == "first" and short("x" * 400).endswith("…") and len(short("x" * 400)) == 300


def _results(tmp_path: Path):
    records = [Rec("<b>a</b>", "ACGU", "type=5UTR"), Rec("b", "GGGAAACCC", "type=tRNA")]
    te = TaskResult("te", entry=None, missing="no shipped task model 'te' in this installation")
    vienna = StructureResult(
        "vienna",
        "ViennaRNA (MFE)",
        tmp_path / "structures" / "vienna",
        rows={"b": {"pairs": 3, "energy": "-1.20", "file": "b"}},
        dbn={"b": "(((...)))"},
        notes={"<b>a</b>": "not <folded>"},
    )
    return records, [te], [vienna]


def test_tsv_columns_follow_the_tasks_and_structures(tmp_path):
    records, tasks, structures = _results(tmp_path)
    written = {}
    write_tsv(tmp_path / "p.tsv", records, tasks, structures, lambda p, text: written.update({p: text}))
    lines = written[tmp_path / "p.tsv"].splitlines()
    assert lines[0].split("\t") == [
        "id",
        "type",
        "length",
        "relevant_task",
        "te",
        "vienna_pairs",
        "vienna_dot_bracket",
        "vienna_mfe_kcal_mol",
        "notes",
    ]
    assert lines[2].split("\t") == ["b", "tRNA", "9", "family", "", "3", "(((...)))", "-1.20", ""]
    assert lines[1].split("\t")[-1] == "ViennaRNA (MFE) structure: not <folded>"


def test_html_escapes_every_value_and_names_what_is_missing(tmp_path, monkeypatch):
    records, tasks, structures = _results(tmp_path)
    page = render_report("in<put>.fa", records, tasks, structures, None, {}, emb_error="no <model>")
    assert "<b>a</b>" not in page and "&lt;b&gt;a&lt;/b&gt;" in page
    assert "in&lt;put&gt;.fa" in page and "Embeddings skipped: no &lt;model&gt;" in page
    assert "Not available in this installation: no shipped task model" in page
    assert "(((...)))" in page and "-1.20 kcal/mol" in page and "<h2>Secondary structures</h2>" in page
    assert "vienna: not &lt;folded&gt;" in page  # the record without a structure is still shown, with why
