"""Bringing the anchors section of installed cards up to date without re-packaging
(``python -m rnalm.packaging --update-anchors``).

The shipped entries were packaged from runs that are not on every machine, so a change to
:data:`rnalm.packaging.anchors.ANCHORS` cannot wait for a re-packaging: this rewrites only the
section in each task and structure card (replacing the old one, or inserting it before
``## Model``) and the card's sha256 and the entry's size in ``manifest.json``. Running it twice
changes nothing the second time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Union

from rnalm import shipped
from rnalm.io.atomic import atomic_write_text
from rnalm.io.jsonfile import write_json
from rnalm.packaging.anchors import HEADING, KINDS_WITH_ANCHORS, anchor_section
from rnalm.packaging.manifest import installed_root, record_files
from rnalm.packaging.options import CARD_FILE
from rnalm.shipped import MANIFEST, ShippedModelError

#: the card section the anchors go before when a card has none yet
BEFORE = "## Model\n"


def with_anchors(text: str, alias: Optional[str], where: Union[str, Path] = CARD_FILE) -> str:
    """``text`` (a card) with its anchors section for ``alias`` replaced, inserted before ``## Model``,
    or dropped when the alias has no anchors any more."""
    section = anchor_section(alias)
    new = section + "\n" if section else ""
    start = text.find(HEADING + "\n")
    if start >= 0:
        end = text.find("\n## ", start + len(HEADING))
        end = len(text) if end < 0 else end + 1
        return text[:start] + new + text[end:]
    if not new:
        return text
    at = text.find("\n" + BEFORE)
    if at < 0:
        raise ShippedModelError(f"{where}: no '{BEFORE.strip()}' heading to put the '{HEADING}' section before")
    return text[: at + 1] + new + text[at + 1 :]


def update_anchor_sections(root: Union[str, Path, None] = None, log: Callable[[str], None] = print) -> list[str]:
    """Rewrite the anchors section of every task and structure card under ``root`` (default
    :func:`rnalm.shipped.root`) and their sha256 and size in the manifest; the names changed."""
    root = installed_root(root)
    data = shipped.read_manifest(root)
    changed = []
    for m in data["models"]:
        if m.get("kind") not in KINDS_WITH_ANCHORS:
            continue
        folder = root / m["dir"]
        path = folder / CARD_FILE
        if not path.is_file():
            raise ShippedModelError(f"{path}: missing (entry {m['name']} in {root / MANIFEST}); re-ship the model")
        text = path.read_text(encoding="utf-8")
        new = with_anchors(text, m.get("task"), path)
        if new == text:
            continue
        atomic_write_text(path, new)
        record_files(m, folder, [CARD_FILE])
        changed.append(m["name"])
        log(f"updated the anchors section of {path}")
    if changed:
        write_json(root / MANIFEST, data)
    else:
        log(f"every card under {root} already carries its anchors section")
    return changed


__all__ = ["update_anchor_sections", "with_anchors"]
