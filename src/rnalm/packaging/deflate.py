"""Re-saving installed feature models' trees deflated, without re-packaging
(``python -m rnalm.packaging --deflate-trees``).

Feature models were written as stored (uncompressed) skops archives until
:data:`rnalm.runs.feature_file.COMPRESSION`; the shipped MRL model's trees took 2.25 MB of the
30 MB budget of shipped weights where 0.69 MB holds the same estimator. Its training run is not on
every machine, and re-packaging would also re-draw what the packager measures, so this rewrites only
``model.skops`` of each task entry that has stored members: read through the safe reader, written
by the one writer, refused unless the rewritten file predicts exactly what the old one did on random
inputs. The card's file table and the manifest's sha256s and size follow. Running it twice changes
nothing the second time.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Callable, Union

import numpy as np

from rnalm import shipped
from rnalm.io.atomic import atomic_write_bytes, atomic_write_text
from rnalm.io.jsonfile import write_json
from rnalm.packaging.card import file_table
from rnalm.packaging.manifest import installed_root, record_files
from rnalm.packaging.options import CARD_FILE
from rnalm.runs.feature_file import read_feature_model, write_feature_model
from rnalm.shipped import MANIFEST, ShippedModelError

TREES = "model.skops"
#: the card section holding the file table (the last section of every card)
FILES_HEADING = "## Files\n"
#: rows of random features the rewritten trees must predict identically
CHECK_ROWS = 256


def is_deflated(path: Path) -> bool:
    with zipfile.ZipFile(path) as zf:
        return all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())


def with_file_table(text: str, folder: Path, names: list[str], where: Path) -> str:
    """``text`` (a card) with the table of its ``## Files`` section rebuilt for ``names``."""
    at = text.find("\n" + FILES_HEADING)
    table = text.find("| file |", at)
    if at < 0 or table < 0:
        raise ShippedModelError(f"{where}: no '{FILES_HEADING.strip()}' section with a file table to update")
    return text[:table] + file_table(folder, names)


def deflate_trees(folder: Path) -> None:
    """Rewrite ``folder/model.skops`` deflated; refuse (leaving the old file) unless it predicts the same."""
    path = folder / TREES
    model, task = read_feature_model(path)
    probe = np.random.default_rng(0).normal(size=(CHECK_ROWS, int(model.n_features_in_)))

    def predicted(trees) -> np.ndarray:
        return trees.predict_proba(probe) if task == "classification" else trees.predict(probe)

    before = predicted(model)
    old = path.read_bytes()
    write_feature_model(model, task, path)
    if not np.array_equal(before, predicted(read_feature_model(path)[0])):
        atomic_write_bytes(path, old)
        raise ShippedModelError(f"{path}: the deflated trees predict differently; the stored file was put back")


def deflate_feature_models(root: Union[str, Path, None] = None, log: Callable[[str], None] = print) -> list[str]:
    """Deflate the trees of every task entry under ``root`` (default :func:`rnalm.shipped.root`) that
    stores them uncompressed, and update its card's file table and the manifest; the names changed."""
    root = installed_root(root)
    data = shipped.read_manifest(root)
    changed = []
    for m in data["models"]:
        folder = root / m["dir"]
        if TREES not in m.get("files", {}) or is_deflated(folder / TREES):
            continue
        shipped.get(m["name"], folder=root).verify()  # rewrite only what was shipped, untouched since
        before = (folder / TREES).stat().st_size
        deflate_trees(folder)
        card = folder / CARD_FILE
        names = [f for f in m["files"] if f != CARD_FILE]
        atomic_write_text(card, with_file_table(card.read_text(encoding="utf-8"), folder, names, card))
        record_files(m, folder, [TREES, CARD_FILE])
        changed.append(m["name"])
        log(f"{folder / TREES}: {before:,} -> {(folder / TREES).stat().st_size:,} bytes, the same predictions")
    if changed:
        write_json(root / MANIFEST, data)
    else:
        log(f"every feature model under {root} is already deflated")
    return changed


__all__ = ["deflate_feature_models", "deflate_trees", "is_deflated", "with_file_table"]
