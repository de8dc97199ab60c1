"""The models shipped in this package: files match manifest and cards, and each model reproduces
the check metric recorded when it was packaged (on its ``check.csv``, a fixed validation subset)."""

from __future__ import annotations

import json

import pytest

from rnalm import shipped
from rnalm.io.digest import sha256_file
from rnalm.packaging.check import recheck
from rnalm.packaging.deflate import is_deflated

ROOT = shipped.package_root()
ENTRIES = shipped.entries(ROOT)
#: everything shipped together stays small.
MAX_TOTAL_BYTES = 30_000_000


def test_manifest_parses_and_is_consistent():
    data = json.loads((ROOT / shipped.MANIFEST).read_text())
    assert data["format"] == shipped.FORMAT and data["version"] <= shipped.VERSION
    names = [e.name for e in ENTRIES]
    aliases = [e.task for e in ENTRIES if e.task]
    assert len(set(names)) == len(names) and len(set(aliases)) == len(aliases)
    assert all(e.kind in shipped.KINDS for e in ENTRIES)
    assert all(a in shipped.TASK_ALIASES for a in aliases)
    backbones = {e.name: e for e in ENTRIES if e.kind == "backbone"}
    for e in ENTRIES:
        assert e.path.is_dir(), e.path
        assert "card.md" in e.files and e.check.get("file") in e.files, e.name
        if e.backbone:  # task models name a shipped backbone, verified by its weights' sha256
            assert e.backbone in backbones and e.backbone_sha256 == backbones[e.backbone].backbone_sha256
            info = json.loads((e.path / "run_info.json").read_text())
            assert info["backbone"]["path"] == shipped.ref(e.backbone)
    assert sum(e.size for e in ENTRIES) < MAX_TOTAL_BYTES
    # the package-data rules ship the manifest and every entry's files
    from pathlib import Path

    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    for pattern in ("*.json", "*/*.safetensors", "*/*.json", "*/*.yaml", "*/*.md", "*/*.csv", "*/fold_*/*"):
        assert f'"shipped/{pattern}"' in pyproject, pattern
    for e in ENTRIES:  # no shipped file outside those patterns
        for name in e.files:
            assert name.endswith((".safetensors", ".json", ".yaml", ".md", ".csv", ".skops")), name


def test_shipped_feature_trees_are_deflated():
    """Feature models' skops archives are stored deflated (python -m rnalm.packaging --deflate-trees):
    the same trees in a third of the bytes, which the budget above needs."""
    trees = [e.path / "model.skops" for e in ENTRIES if (e.path / "model.skops").is_file()]
    for path in trees:
        assert is_deflated(path), path


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.kind != "backbone"], ids=lambda e: e.name)
def test_each_task_model_beats_the_one_hot_baseline_of_its_recipe(entry):
    """Every shipped task model, from the manifest: the first baseline (the recipe's one-hot run, validated
    on the same rows -- the packager checks the ids) is beaten; others are listed on the card."""
    from rnalm.metrics import greater_is_better

    rows = entry.raw.get("baselines") or []
    assert rows, f"{entry.name}: no baseline recorded (package with --baseline NAME=RUN)"
    value = entry.metric["value"]
    for b in rows:
        assert b["metric"] == entry.metric["name"]
        assert b["beaten"] == (value > b["value"] if greater_is_better(b["metric"]) else value < b["value"])
    assert rows[0]["beaten"], (
        f"{entry.name}: {entry.metric_text()} does not beat {rows[0]['name']} {rows[0]['value']:.4f}"
    )


@pytest.mark.parametrize(
    "entry",
    ENTRIES
    or [
        pytest.param(
            None, marks=pytest.mark.skip(reason="no models shipped yet: src/rnalm/shipped/manifest.json lists none")
        )
    ],
    ids=[e.name for e in ENTRIES] or ["none"],
)
def test_shipped_model_matches_card_and_reproduces_check_metric(entry):
    for name, sha in entry.files.items():
        assert sha256_file(entry.path / name) == sha, f"{entry.name}/{name}"
    card = entry.card.read_text()
    for name, sha in entry.files.items():
        if name != "card.md":
            assert sha in card, f"{entry.name}: card.md does not list the sha256 of {name}"
    listed = {str(p.relative_to(entry.path)) for p in entry.path.rglob("*") if p.is_file()}
    assert listed == set(entry.files), f"{entry.name}: files on disk and in the manifest differ"
    results = recheck(entry)
    assert entry.check["metric"] in results
    for metric, (recorded, value) in results.items():  # the check metric and every other recorded number
        assert value == pytest.approx(recorded, abs=1e-4), f"{entry.name}: {metric}"


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.kind != "backbone"], ids=lambda e: e.name)
def test_each_task_card_names_its_published_anchors(entry):
    """The held-out test figures are measured elsewhere: every task and structure card says which
    published figures anchor its task, and that rnalm's own test figures are not on the card."""
    from rnalm.packaging.anchors import HEADING, STATEMENT, anchor_section

    card = entry.card.read_text()
    assert HEADING in card and STATEMENT in card, f"{entry.name}: run python -m rnalm.packaging --update-anchors"
    assert anchor_section(entry.task) in card, f"{entry.name}: the anchors section is out of date"
    assert "rnalm's own figures on those tests are measured elsewhere" in card
    assert card.index(HEADING) < card.index("## Model")
