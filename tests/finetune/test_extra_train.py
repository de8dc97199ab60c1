"""``data.extra_train``: rows that only ever train, added after the hold-out or folds are drawn, less
the held-out sequences and (``data.extra_train_kmer``) their relatives."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnalm.finetune import finetune
from rnalm.finetune.data.homology import shares_kmer
from rnalm.finetune.data.loader_table import load_data
from rnalm.runs.config import ConfigError, DataConfig
from rnalm.runs.errors import DataError
from rnalm.runs.splits import holdout
from rnalm.runs.table import Records

from .conftest import base_config, gc_label, random_seq, write_csv
from .test_runner import quiet, read_csv

HEAD = {"type": "cnn", "pool": "max", "filters": 4, "dense": 4, "conv_layers": 1}


def _files(tmp_path):
    """40 training rows, and 12 extra rows: 8 new, 2 copies of rows the hold-out of ``_run`` takes
    (U/T and case changed) and 2 that hold a 15-mer of such a row."""
    rng = np.random.default_rng(3)
    seqs = [random_seq(rng, 24, 30) for _ in range(40)]
    train = write_csv(tmp_path / "train.csv", [(s, f"{gc_label(s):.4f}") for s in seqs])
    new = [random_seq(rng, 24, 30) for _ in range(8)]
    _, held = holdout(len(seqs), 0.25, 42, None, None)  # the runner's split of _run's config
    copies = [seqs[i].lower().replace("u", "t") for i in held[:2]]
    relatives = [random_seq(rng, 6, 7) + seqs[i][3:18] + random_seq(rng, 6, 7) for i in held[2:4]]
    extra = new + copies + relatives
    extra_file = write_csv(tmp_path / "extra.csv", [(s, f"{gc_label(s):.4f}") for s in extra])
    return train, extra_file, seqs, extra


def _run(tmp_path, name, train, **data):
    cfg = base_config(tmp_path, train, head=HEAD, train={"epochs": 1})
    cfg["output_dir"] = str(tmp_path / name)
    cfg["data"].update({"valid_fraction": 0.25, **data})
    return finetune(cfg, log=quiet)


def _split_ids(run_dir, split):
    return sorted(r["id"] for r in read_csv(run_dir / "predictions.csv") if r["split"] == split)


def test_extra_rows_train_only_and_leave_the_hold_out_unchanged(tmp_path):
    train, extra_file, _, extra = _files(tmp_path)
    plain = _run(tmp_path, "plain", train)
    more = _run(tmp_path, "more", train, extra_train=[str(extra_file)])
    assert _split_ids(more.run_dir, "valid") == _split_ids(plain.run_dir, "valid")
    valid_seqs = {
        r["sequence"].upper().replace("U", "T")
        for r in read_csv(plain.run_dir / "predictions.csv")
        if r["split"] == "valid"
    }
    same = sum(s.upper().replace("U", "T") in valid_seqs for s in extra)
    assert same == 2  # the two copies of held-out rows
    assert plain.metrics["n_train"] == 30
    assert more.metrics["n_train"] == 30 + len(extra) - same
    note = json.loads((more.run_dir / "run_info.json").read_text())["valid_split"]
    assert f"{len(extra) - same} of {len(extra)} data.extra_train rows added to training ({same} same sequence" in note


def test_extra_train_kmer_also_leaves_out_relatives_of_held_out_rows(tmp_path):
    train, extra_file, seqs, extra = _files(tmp_path)
    plain = _run(tmp_path, "plain", train)
    valid_seqs = [r["sequence"] for r in read_csv(plain.run_dir / "predictions.csv") if r["split"] == "valid"]
    related = shares_kmer(extra, valid_seqs, 12)
    assert related[-4:].all()  # the copies and the relatives of held-out rows
    run = _run(tmp_path, "k12", train, extra_train=[str(extra_file)], extra_train_kmer=12)
    assert run.metrics["n_train"] == 30 + int((~related).sum())
    note = json.loads((run.run_dir / "run_info.json").read_text())["valid_split"]
    assert "sharing a 12-mer with one" in note


def test_cross_validation_adds_extra_rows_to_every_fold_but_never_tests_them(tmp_path):
    train, extra_file, seqs, extra = _files(tmp_path)
    cfg = base_config(tmp_path, train, head=HEAD, train={"epochs": 1}, cv={"folds": 2})
    cfg["data"]["extra_train"] = [str(extra_file)]
    res = finetune(cfg, log=quiet)
    rows = read_csv(res.run_dir / "predictions.csv")
    assert len(rows) == 40  # only data.train rows are tested
    for fold in res.metrics["cv"]["per_fold"]:
        # 20 training rows of the fold (its test half also validates), plus every extra row whose
        # sequence is not one of the fold's test rows
        assert 20 < fold["n_train"] <= 20 + len(extra)


def test_an_extra_file_of_another_layout_is_read_by_its_own_loader_and_options(tmp_path):
    """LAMAR-style CSV training, Cao et al.'s library as extra rows: the entry's loader and options
    read its file, the section's read data.train, and the hold-out is the plain run's."""
    train, _, seqs, _ = _files(tmp_path)
    inserts = [random_seq(np.random.default_rng(i), 30, 31) for i in range(3)]
    prefix, suffix = "TAAACTTAAGCTTGGTACCG", "GCCACCATGGTGAGCAAGGG"
    lines = [
        f"{prefix}{inserts[0]}{suffix}\tENST1.1|PC3|rnaseq_rpkm=1.0|te=4.0|geneName=A|1",
        f"{prefix}{inserts[1]}{suffix}\tENST2.1|PC3|rnaseq_rpkm=1.0|te=0.25|geneName=B|1",
        f"{prefix}{inserts[2]}{suffix}\tENST3.1|HEK293|rnaseq_rpkm=1.0|te=2.0|geneName=C|1",
    ]
    cao = tmp_path / "final_endogenous.txt"
    cao.write_text("\n".join(lines) + "\n")
    entry = {"path": str(cao), "loader": "cao", "options": {"cell_line": "PC3", "log": 2}}
    plain = _run(tmp_path, "plain", train)
    more = _run(tmp_path, "more", train, extra_train=[entry])
    assert _split_ids(more.run_dir, "valid") == _split_ids(plain.run_dir, "valid")
    assert more.metrics["n_train"] == 30 + 2  # the two PC3 inserts
    extra = load_data(DataConfig(train=str(train), loader="lamar", extra_train=[entry]), "regression").extra_train
    assert extra.seqs == inserts[:2] and [float(x) for x in extra.labels] == [2.0, -2.0]


def test_extra_train_entries_are_checked():
    ok = DataConfig(
        train="x.csv", loader="lamar", options={}, extra_train=["y.csv", {"path": "z.txt", "loader": "cao"}]
    )
    sources = ok.extra_sources()
    assert [(s.path, s.loader, s.options) for s in sources] == [("y.csv", "lamar", {}), ("z.txt", "cao", {})]
    for bad, message in [
        ({"loader": "cao"}, r"data.extra_train\[0\].*'path'"),
        ({"path": "z", "cell_line": "PC3"}, r"unknown keys \['cell_line'\]"),
        ({"path": "z", "options": ["PC3"]}, "options"),
        (3, "must be a path"),
    ]:
        with pytest.raises(ConfigError, match=message):
            DataConfig(train="x.csv", extra_train=[bad]).validate()


def test_shares_kmer_and_config_checks():
    assert shares_kmer(["AAAACCCCGGGGTTTT", "ACGUACGUACGU"], ["ccccgggguu"], 8).tolist() == [True, False]
    assert shares_kmer(["ACGT" * 4], [], 8).tolist() == [False]
    with pytest.raises(DataError, match="extra_train_kmer"):
        shares_kmer(["ACGT"], ["ACGT"], 4)
    with pytest.raises(ConfigError, match="names no file"):
        DataConfig(train="x.csv", extra_train_kmer=12).validate()
    for bad in (4, 40):
        with pytest.raises(ConfigError, match="extra_train_kmer"):
            DataConfig(train="x.csv", extra_train=["y.csv"], extra_train_kmer=bad).validate()


def test_records_join_fills_missing_extra_columns():
    a = Records(ids=["a"], seqs=["AC"], labels=[1], groups=[None], where=["f:2"], extra={"subset": ["s"]})
    b = Records(ids=["b"], seqs=["GU"], labels=[2], groups=["g"], where=["h:2"])
    j = Records.join([a, b])
    assert j.ids == ["a", "b"] and j.groups == [None, "g"] and j.extra == {"subset": ["s", None]}
