"""Labels from FASTA headers and table columns; the HTML map escapes ids and labels."""

import numpy as np
import pytest

from rnalm.analysis import read_labelled
from rnalm.analysis.html import render_map
from rnalm.errors import RnalmError

from .data import labelled, write_csv, write_fasta


def test_fasta_labels_by_key_and_by_word_number(tmp_path):
    rows = labelled(2)
    fa = tmp_path / "x.fasta"
    write_fasta(fa, rows)
    records, labels = read_labelled(fa, label_field="type")
    assert [r.id for r in records] == [r[0] for r in rows] and labels == [r[2] for r in rows]
    assert read_labelled(fa, label_field="1")[1] == ["source=test"] * len(rows)
    with pytest.raises(RnalmError, match=r"no 'kind=\.\.\.' in the header.*label_field="):
        read_labelled(fa, label_field="kind")
    with pytest.raises(RnalmError, match="word 3 after the id"):
        read_labelled(fa, label_field="3")


def test_csv_labels_by_column(tmp_path):
    rows = labelled(2)
    path = tmp_path / "x.csv"
    write_csv(path, rows)
    assert read_labelled(path, label_column="family")[1] == [r[2] for r in rows]
    with pytest.raises(RnalmError, match=r"no column 'famly' for label_column="):
        read_labelled(path, label_column="famly")


def test_html_escapes_ids_and_labels():
    ids = ['<script>alert("x")</script>', "a&b", "plain"]
    labels = np.asarray(['"><img src=x onerror=alert(1)>', "t", "t"])
    page = render_map(ids, labels, np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]), "map <b>", {"ari": "1.0"})
    assert "<script>alert" not in page and "<img src=x" not in page and "map <b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page and "a&amp;b" in page
    assert page.count("<script>") == 1 and "http" not in page.replace("http://www.w3.org", "")  # no CDN
