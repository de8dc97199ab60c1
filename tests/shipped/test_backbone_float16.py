"""``python -m rnalm.packaging --backbones-float16`` and float16 backbones: the installed backbone
stored in half precision, its task and structure models re-keyed, every check figure measured again,
and runs trained on the float32 weights still packaged against it."""

from __future__ import annotations

import json
import shutil

import pytest
from safetensors import safe_open

from rnalm import shipped
from rnalm.api import load
from rnalm.io.digest import state_sha256
from rnalm.packaging import Options, package
from rnalm.packaging import backbone_float16 as b16
from rnalm.packaging.check import recheck
from rnalm.packaging.cli import main
from rnalm.packaging.options import TOLERANCE

QUIET = lambda _m: None  # noqa: E731


@pytest.fixture
def root(shipped_root, tmp_path):
    copy = tmp_path / "shipped"
    shutil.copytree(shipped_root, copy)
    return copy


def dtypes(path) -> set[str]:
    with safe_open(str(path), "pt") as fh:
        return {str(fh.get_tensor(k).dtype) for k in fh.keys()}


def test_backbone_stored_in_float16_and_its_users_rekeyed(root):
    before = {m["name"]: m for m in shipped.read_manifest(root)["models"]}
    old = before["tiny-bb"]["backbone_sha256"]
    size = before["tiny-bb"]["size"]
    changed = b16.store_backbones_float16(root, log=QUIET)
    assert changed[0] == "tiny-bb" and sorted(changed[1:]) == ["tiny-fold", "tiny-ires", "tiny-te"]

    bb = shipped.get("tiny-bb", folder=root)
    assert dtypes(bb.path / "model.safetensors") == {"torch.float16"}
    assert bb.dtype == "float16" and bb.size < 0.75 * size
    model, _ = load(bb.path)  # the loader checks config.json's weights sha256
    new = state_sha256(model)
    assert new != old and bb.backbone_sha256 == new and bb.raw["rounded_from"] == old
    assert str(next(model.parameters()).dtype) == "torch.float32"  # computes in float32
    row = f"| stored dtype | float16 (rounded from the float32 weights with state sha256 `{old}`"
    assert row in bb.card.read_text()
    for name in ("tiny-te", "tiny-ires", "tiny-fold"):
        e = shipped.get(name, folder=root)
        info = json.loads((e.path / "run_info.json").read_text())
        assert e.backbone_sha256 == new == info["backbone"]["sha256"]
        assert info["backbone"]["trained_with_sha256"] == old
        assert old not in e.card.read_text() and new in e.card.read_text()
    for e in shipped.entries(root):  # every file verified, every recorded check figure reproduced
        for metric, (recorded, now) in recheck(e).items():
            assert abs(recorded - now) <= TOLERANCE, (e.name, metric)
    manifest = (root / shipped.MANIFEST).read_bytes()
    assert b16.store_backbones_float16(root, log=QUIET) == []  # twice changes nothing
    assert (root / shipped.MANIFEST).read_bytes() == manifest


def test_a_check_figure_that_moves_too_far_puts_every_file_back(root, monkeypatch):
    files = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    monkeypatch.setattr(b16, "MAX_CHECK_CHANGE", -1.0)  # any change, even none, is too far
    with pytest.raises(shipped.ShippedModelError, match="tiny-bb: its check mlm_acc moves"):
        b16.store_backbones_float16(root, log=QUIET)
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == files


def test_a_changed_user_file_is_refused_before_anything_is_written(root):
    (root / "tiny-te" / "config.yaml").write_text("changed\n")
    files = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    with pytest.raises(shipped.ShippedModelError, match="config.yaml"):
        b16.store_backbones_float16(root, log=QUIET)
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == files


def test_command_line(root, capsys):
    assert main(["--backbones-float16", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "(float16)" in out and "re-keyed tiny-ires, tiny-te, tiny-fold" in out
    with pytest.raises(SystemExit):
        main(["--backbones-float16", "--deflate-trees", "--root", str(root)])


def test_runs_on_the_float32_weights_package_against_a_float16_backbone(tiny_models, tmp_path):
    """A backbone packaged with --dtype float16 records the weights it was rounded from; a run trained
    on those is packaged against it and re-keyed, and its check figure is measured on the stored files."""
    root = tmp_path / "fresh"
    package(
        tiny_models["pretrain"],
        Options(name="tiny-bb", data_licence="CC0", check_size=16, dtype="float16"),
        root,
        log=QUIET,
    )
    bb = shipped.get("tiny-bb", folder=root)
    fp32, _ = load(tiny_models["pretrain"] / "final")
    assert bb.dtype == "float16" and bb.raw["rounded_from"] == state_sha256(fp32) != bb.backbone_sha256
    assert "| stored dtype | float16" in bb.card.read_text()
    package(
        tiny_models["te"],
        Options(name="tiny-te", task="te", data_licence="CC0", backbone="tiny-bb", check_size=16),
        root,
        log=QUIET,
    )
    te = shipped.get("tiny-te", folder=root)
    info = json.loads((te.path / "run_info.json").read_text())
    assert info["backbone"]["sha256"] == bb.backbone_sha256 == te.backbone_sha256
    assert info["backbone"]["trained_with_sha256"] == state_sha256(fp32)
    recorded, now = recheck(te)[te.check["metric"]]
    assert abs(recorded - now) <= TOLERANCE
