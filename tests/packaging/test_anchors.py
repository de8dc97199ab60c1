"""Published anchors on the cards: the section lists each task's anchors, and ``--update-anchors``
rewrites it in installed cards (and their sha256s in the manifest) idempotently, leaving backbones alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnalm import shipped
from rnalm.io.digest import sha256_file
from rnalm.io.jsonfile import write_json
from rnalm.packaging.anchors import ANCHORS, HEADING, STATEMENT, anchor_section
from rnalm.packaging.cli import main
from rnalm.packaging.recard import update_anchor_sections, with_anchors

CARD = (
    "# {name}\n\nintro\n\n## Baselines (same validation rows)\n\n| a | b |\n\n## Model\n\n| x | y |\n\n## Files\n\nf\n"
)


@pytest.mark.parametrize("alias", sorted(ANCHORS))
def test_section_lists_every_anchor_of_the_alias(alias):
    text = anchor_section(alias)
    assert text.startswith(HEADING + "\n") and STATEMENT in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| test |")]
    assert len(rows) == len(ANCHORS[alias])
    for row, a in zip(rows, ANCHORS[alias]):
        assert row.startswith(f"| {a.test} | {a.metric} |")
        for who, figure in a.published:
            assert f"{who} {figure}" in row


def test_the_facts_of_the_table():
    assert [a.published for a in ANCHORS["te"]] == [
        (("LAMAR", "0.671"), ("UTR-LM", "0.604 (10-fold CV)")),
        (("UTR-LM TE model", "0.190"), ("UTR-LM MRL model", "0.129")),
    ]
    assert ANCHORS["ires"][0].metric == "AUROC" and ANCHORS["family"][0].metric == "accuracy"
    assert dict(ANCHORS["fold"][0].published)["RiNALMo"] == "0.747"
    assert anchor_section(None) == "" and anchor_section("nope") == ""


def _root(tmp_path: Path) -> Path:
    """A shipped folder of card-only entries: a backbone, a task model, a structure model."""
    root = tmp_path / "shipped"
    data = shipped.empty_manifest()
    for name, kind, task in (("bb", "backbone", None), ("m-te", "task", "te"), ("m-fold", "structure", "fold")):
        (root / name).mkdir(parents=True)
        (root / name / "card.md").write_text(CARD.format(name=name))
        (root / name / "check.csv").write_text("id,sequence\n")
        files = {f: sha256_file(root / name / f) for f in ("card.md", "check.csv")}
        size = sum((root / name / f).stat().st_size for f in files)
        data["models"].append({"name": name, "kind": kind, "task": task, "dir": name, "files": files, "size": size})
    write_json(root / shipped.MANIFEST, data)
    return root


def test_update_inserts_before_model_and_records_the_sha256(tmp_path):
    root = _root(tmp_path)
    backbone = (root / "bb" / "card.md").read_bytes()
    assert update_anchor_sections(root, log=lambda _m: None) == ["m-te", "m-fold"]
    card = (root / "m-te" / "card.md").read_text()
    assert card.index("## Baselines") < card.index(HEADING) < card.index("## Model")
    assert anchor_section("te") + "\n## Model\n" in card
    assert (root / "bb" / "card.md").read_bytes() == backbone  # a backbone has no task, so no anchors
    for e in shipped.entries(root):
        e.verify()  # every sha256 in the manifest matches
        assert e.size == sum((e.path / f).stat().st_size for f in e.files)
    assert shipped.get("bb", folder=root).files["card.md"] == sha256_file(root / "bb" / "card.md")


def test_update_is_idempotent(tmp_path):
    root = _root(tmp_path)
    update_anchor_sections(root, log=lambda _m: None)
    first = {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    assert update_anchor_sections(root, log=lambda _m: None) == []
    assert {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()} == first


def test_an_old_section_is_replaced_exactly(tmp_path):
    old = CARD.replace("## Model\n", f"{HEADING}\n\n| old | table |\n\nold words\n\n## Model\n")
    new = with_anchors(old, "ires")
    assert "old" not in new and new == with_anchors(CARD, "ires")
    assert with_anchors(new, "ires") == new
    assert with_anchors(new, None) == CARD  # an alias without anchors loses a stale section


def test_a_card_without_a_model_heading_is_named(tmp_path):
    with pytest.raises(shipped.ShippedModelError, match=r"x/card.md: no '## Model' heading"):
        with_anchors("# x\n\nno sections\n", "te", "x/card.md")


def test_command_line_updates_without_source_or_name(tmp_path, capsys):
    root = _root(tmp_path)
    assert main(["--update-anchors", "--root", str(root)]) == 0
    assert "updated the anchors section" in capsys.readouterr().out
    assert HEADING in (root / "m-fold" / "card.md").read_text()
    manifest = json.loads((root / shipped.MANIFEST).read_text())
    assert all(m["files"]["card.md"] == sha256_file(root / m["dir"] / "card.md") for m in manifest["models"])
    with pytest.raises(SystemExit):
        main(["--update-anchors", "--name", "m-te", "--root", str(root)])
    assert "--update-anchors takes no SOURCE" in capsys.readouterr().err
    assert main(["--update-anchors", "--root", str(tmp_path / "none")]) == 2
    assert "no manifest of shipped models here; name the folder with --root" in capsys.readouterr().err
