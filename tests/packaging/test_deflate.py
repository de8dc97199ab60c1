"""``python -m rnalm.packaging --deflate-trees``: installed feature models re-saved deflated, the same
estimator, with their cards' file tables and the manifest brought up to date."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from rnalm import shipped
from rnalm.packaging.cli import main
from rnalm.packaging.deflate import deflate_feature_models, is_deflated
from rnalm.packaging.manifest import record_files
from rnalm.runs.feature_file import read_feature_model

sio = pytest.importorskip("skops.io")

NAME = "features-mrl"


@pytest.fixture
def stored_root(tmp_path):
    """A shipped folder holding the MRL feature entry with its trees stored uncompressed (as before)."""
    src = shipped.package_root()  # the package's own entries (tests otherwise see none)
    if shipped.find(NAME, folder=src) is None:
        pytest.skip(f"{NAME} is not shipped")
    root = tmp_path / "shipped"
    root.mkdir()
    entry = next(m for m in shipped.read_manifest(src)["models"] if m["name"] == NAME)
    shutil.copytree(src / entry["dir"], root / entry["dir"])
    trees = root / entry["dir"] / "model.skops"
    model, _ = read_feature_model(trees)
    sio.dump(model, trees)  # skops' default: members stored
    assert not is_deflated(trees)
    record_files(entry, root / entry["dir"], ["model.skops"])
    manifest = shipped.empty_manifest()
    manifest["models"] = [entry]
    (root / shipped.MANIFEST).write_text(json.dumps(manifest))
    return root, entry["dir"], model


def test_trees_are_deflated_with_the_same_predictions_and_files_recorded(stored_root):
    root, folder, model = stored_root
    trees = root / folder / "model.skops"
    before = trees.stat().st_size
    assert deflate_feature_models(root, log=lambda _m: None) == [NAME]
    assert is_deflated(trees) and trees.stat().st_size < 0.5 * before
    back, _ = read_feature_model(trees)
    x = np.random.default_rng(1).normal(size=(64, model.n_features_in_))
    np.testing.assert_array_equal(back.predict(x), model.predict(x))
    entry = shipped.get(NAME, folder=root)
    entry.verify()  # every sha256 in the manifest matches the files, the card's included
    card = (root / folder / "card.md").read_text()
    assert f"| `model.skops` | {trees.stat().st_size:,} | `" in card and card.endswith("|\n")
    manifest = shipped.read_manifest(root)["models"][0]
    assert manifest["size"] == sum((root / folder / f).stat().st_size for f in manifest["files"])
    assert deflate_feature_models(root, log=lambda _m: None) == []  # twice changes nothing


def test_command_line_deflates_without_source_or_name(stored_root, capsys):
    root, folder, _ = stored_root
    assert main(["--deflate-trees", "--root", str(root)]) == 0
    assert "the same predictions" in capsys.readouterr().out
    assert is_deflated(root / folder / "model.skops")
    with pytest.raises(SystemExit):
        main(["--deflate-trees", "--update-anchors", "--root", str(root)])


def test_a_changed_file_is_refused_not_blessed(stored_root):
    """Only what was shipped is rewritten: a file that no longer matches its recorded sha256 stops
    the command before anything is written, so its new sha256 never enters the manifest."""
    root, folder, _ = stored_root
    (root / folder / "config.yaml").write_text("changed\n")
    before = (root / shipped.MANIFEST).read_bytes()
    with pytest.raises(shipped.ShippedModelError, match="config.yaml"):
        deflate_feature_models(root, log=lambda _m: None)
    assert (root / shipped.MANIFEST).read_bytes() == before
    assert not is_deflated(root / folder / "model.skops")
