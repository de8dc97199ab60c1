"""The ``structure`` data loader: every file layout, the length filter, groups, published splits, errors."""

from __future__ import annotations

import json

import pytest

from rnalm.finetune.data.loader_table import load_data
from rnalm.runs.config_file import load_finetune_config
from rnalm.runs.errors import ConfigError, DataError
from rnalm.runs.splits import kfold
from rnalm.structure.formats import StructureFormatError, write_bpseq, write_ct, write_dbn
from rnalm.structure.pairs import Structure

from .conftest import planted_set


def _data(train, **kw):
    cfg = load_finetune_config(data={"task": "structure", "data": {"train": str(train), **kw}})
    return cfg, load_data(cfg.data, cfg.task)


def _archiveii_csv(path, structs):
    lines = ["id,sequence,structure,base_pairs,len"]
    for s in structs:
        bp = json.dumps([[i + 1, j + 1] for i, j in s.pairs])
        lines.append(f'{s.id},{s.sequence},{s.dot_bracket()},"{bp}",{len(s)}')
    path.write_text("\n".join(lines) + "\n")
    return path


def test_config_defaults_for_structure():
    cfg = load_finetune_config(data={"task": "structure", "data": {"train": "x.dbn"}})
    assert cfg.data.loader == "structure" and cfg.head.type == "pairwise" and cfg.train.metric == "auto"
    with pytest.raises(ConfigError, match="task=structure needs head.type=pairwise"):
        load_finetune_config(data={"task": "structure", "head": {"type": "cnn"}})
    with pytest.raises(ConfigError, match="belongs to task=structure"):
        load_finetune_config(data={"task": "regression", "head": {"type": "pairwise"}})
    with pytest.raises(ConfigError, match="cannot truncate"):
        load_finetune_config(data={"task": "structure", "data": {"truncate": "keep_5prime"}})
    with pytest.raises(ConfigError, match="attention maps"):
        load_finetune_config(data={"task": "structure", "structure": {"attention": True}})
    with pytest.raises(ConfigError, match="does not apply to structure"):
        load_finetune_config(data={"task": "structure", "train": {"loss": "mse"}})
    with pytest.raises(ConfigError, match="set task=structure"):
        cfg = load_finetune_config(data={"task": "regression", "data": {"train": "x", "loader": "structure"}})
        load_data(cfg.data, cfg.task)


def test_folder_of_mixed_files_and_length_filter(tmp_path):
    d = tmp_path / "structs"
    d.mkdir()
    a, b, c = planted_set(3)
    write_bpseq(a, d / "a.bpseq")
    write_ct(b, d / "b.ct")
    long = Structure("long", "G" * 40 + "A" * 4 + "C" * 40, tuple((k, 83 - k) for k in range(40)))
    write_dbn([c, long], d / "c.dbn")
    (d / "notes.txt").write_text("ignored")
    cfg, bundle = _data(d, max_length=30)
    assert bundle.train.ids == ["a", "s1", "s2"]  # a bare .bpseq is named after its file
    assert [len(s) for s in bundle.train.labels] == [len(s) for s in bundle.train.seqs]
    assert bundle.train.labels[0].pairs == a.pairs and bundle.train.labels[2] == c
    assert any("skipped 1 of 4 structures longer than data.max_length=30" in n for n in bundle.notes)


def test_bprna_jsonl_subsets_and_dropped_pairs(tmp_path):
    p = tmp_path / "vl.jsonl"
    rows = [
        {"id": "bpRNA_RFAM_1.ct", "sequence": "GGGGAAAACCCC", "pairs": [[1, 12], [2, 11], [3, 3]]},
        {"id": "bpRNA_SPR_2.ct", "sequence": "GGGAAACCC", "pairs": [[1, 9]]},
        {"id": "other", "sequence": "GGGAAACCC", "pairs": []},
    ]
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    _, bundle = _data(p)
    assert bundle.train.extra["subset"] == ["RFAM", "SPR", "other"]
    assert bundle.train.labels[0].pairs == ((0, 11), (1, 10))
    assert any("impossible pairs dropped in 1 record" in n for n in bundle.notes)
    with pytest.raises(StructureFormatError, match="pairs a base with itself"):
        _data(p, options={"invalid_pairs": "error"})


def test_bad_input_errors_are_clear(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no structure files in this folder"):
        _data(empty)
    (tmp_path / "none.jsonl").write_text("\n")
    with pytest.raises(DataError, match="none.jsonl: no structures found"):
        _data(tmp_path / "none.jsonl")
    with pytest.raises(DataError, match="no such file or folder"):
        _data(tmp_path / "missing.dbn")
    (tmp_path / "bad.dbn").write_text(">x\nGGGGAAAACCCC\n((((....)))\n")
    with pytest.raises(
        StructureFormatError, match=r"bad.dbn:3: record .x.: structure has 11 characters, sequence \(line 2\) has 12"
    ):
        _data(tmp_path / "bad.dbn")
    (tmp_path / "x.txt").write_text("GGGG\n")
    with pytest.raises(StructureFormatError, match="unknown structure file extension"):
        _data(tmp_path / "x.txt")
    with pytest.raises(DataError, match="all 4 structures are longer than data.max_length=5"):
        write_dbn(planted_set(4), tmp_path / "ok.dbn")
        _data(tmp_path / "ok.dbn", max_length=5)
    with pytest.raises(ConfigError, match="options.group"):
        _data(tmp_path / "ok.dbn", options={"group": "clan"})


def test_family_groups_keep_families_apart(tmp_path):
    structs = [
        Structure(f"{fam}_{k}", s.sequence, s.pairs)
        for fam, n in (("5s", 9), ("tRNA", 7), ("srp", 5), ("grp1", 2))
        for k, s in enumerate(planted_set(n, seed=len(fam)))
    ]
    path = _archiveii_csv(tmp_path / "arch.csv", structs)
    _, bundle = _data(path, options={"group": "family"})
    recs = bundle.train
    assert recs.groups[:2] == ["5s", "5s"] and recs.extra["subset"] == recs.groups
    folds = kfold(len(recs), 3, 0, None, recs.groups)
    for _train, test in folds:
        fams = {recs.groups[i] for i in test}
        assert all(recs.groups[i] not in fams for i in _train)
    _, plain = _data(path)
    assert not plain.train.has_groups and plain.train.extra["subset"][0] == "5s"


def test_published_archiveii_splits(tmp_path):
    structs = [Structure(f"tRNA_{k}", s.sequence, s.pairs) for k, s in enumerate(planted_set(6))]
    path = _archiveii_csv(tmp_path / "arch.csv", structs)
    sp = tmp_path / "splits.csv"
    sp.write_text(
        "fold_number,partition,id\n"
        + "".join(f"0,{part},tRNA_{k}\n" for k, part in enumerate(["train", "train", "train", "valid", "test", "test"]))
        + "0,test,tRNA_gone\n1,train,tRNA_0\n1,test,tRNA_1\n"
    )
    _, bundle = _data(path, options={"splits": str(sp), "fold": 0})
    assert bundle.train.ids == ["tRNA_0", "tRNA_1", "tRNA_2"]
    assert bundle.valid.ids == ["tRNA_3"] and bundle.test.ids == ["tRNA_4", "tRNA_5"]
    assert any("1 of 3 ids not in data.train" in n for n in bundle.notes)
    with pytest.raises(ConfigError, match="is not a fold"):
        _data(path, options={"splits": str(sp), "fold": 7})
