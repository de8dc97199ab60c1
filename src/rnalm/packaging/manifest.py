"""The packager's edits to ``manifest.json``: adding or replacing an entry, re-recording an entry's
files after an in-place rewrite, and removing one."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable, Optional, Sequence

from rnalm import shipped
from rnalm.io.digest import sha256_file
from rnalm.io.jsonfile import write_json
from rnalm.shipped import MANIFEST, ShippedModelError


def check_name(name: Optional[str], option: str = "--name") -> None:
    """A shipped model's name is one folder under the shipped root: no separators, not hidden."""
    if not name or any(c in name for c in "/\\: ") or name.startswith("."):
        raise ShippedModelError(f"{option} {name!r}: use letters, digits, '-', '_' and '.'")


def update_manifest(root: Path, entry: dict, log: Callable[[str], None], replaces: Optional[str] = None) -> None:
    """Add ``entry`` to the manifest under ``root`` (replacing one of the same name, and ``replaces``), kinds in order.

    One write: the manifest never lists both the entry and the one it replaces, nor neither; the
    replaced entry's folder goes after it.
    """
    if replaces is not None:  # its folder is deleted below: never a path outside root
        check_name(replaces, "--replaces")
    data = shipped.read_manifest(root)
    models = [m for m in data["models"] if m.get("name") not in (entry["name"], replaces)]
    for m in data["models"]:
        if m.get("name") in (entry["name"], replaces):
            log(f"replacing the manifest entry {m['name']}")
    if entry["kind"] == "backbone":
        users = [
            m["name"]
            for m in models
            if m.get("backbone") == entry["name"]
            and m.get("backbone_sha256") not in (None, entry.get("backbone_sha256"))
        ]
        if users:
            log(f"warning: {', '.join(users)} were packaged against other weights of {entry['name']}; re-ship them")
    models.append(entry)
    order = {k: i for i, k in enumerate(shipped.KINDS)}
    models.sort(key=lambda m: (order.get(m.get("kind"), 9), m.get("name")))
    data["models"] = models
    write_json(root / MANIFEST, data)
    if replaces:
        shutil.rmtree(root / replaces, ignore_errors=True)


def installed_root(root: str | Path | None) -> Path:
    """The shipped-models folder ``root`` (default :func:`rnalm.shipped.root`) an in-place update
    works on; :class:`ShippedModelError` when it holds no manifest."""
    folder = Path(root).expanduser() if root is not None else shipped.root()
    if not (folder / MANIFEST).is_file():
        raise ShippedModelError(f"{folder / MANIFEST}: no manifest of shipped models here; name the folder with --root")
    return folder


def record_files(entry: dict, folder: Path, rewritten: Sequence[str]) -> None:
    """Re-record the sha256 of the files ``rewritten`` in place in ``folder`` (a card section,
    deflated trees) and the entry's size. The other files keep their recorded sha256s, so a file
    changed by anything else still fails verification."""
    files = entry.setdefault("files", {})
    for name in rewritten:
        files[name] = sha256_file(folder / name)
    entry["size"] = sum((folder / f).stat().st_size for f in files if (folder / f).is_file())


def remove(name: str, root: str | Path | None = None, log: Callable[[str], None] = print) -> None:
    """Delete shipped entry ``name`` (folder and manifest entry); refused while task models use it."""
    check_name(name)  # its folder is deleted below: never a path outside root
    root = Path(root).expanduser() if root is not None else shipped.root()
    data = shipped.read_manifest(root)
    if not any(m.get("name") == name for m in data["models"]):
        raise ShippedModelError(f"no shipped model {name!r} in {root / MANIFEST}")
    users = [m["name"] for m in data["models"] if m.get("backbone") == name]
    if users:
        raise ShippedModelError(f"{name} is the backbone of {', '.join(users)}; remove those first")
    data["models"] = [m for m in data["models"] if m.get("name") != name]
    write_json(root / MANIFEST, data)
    shutil.rmtree(root / name, ignore_errors=True)
    log(f"removed {name} from {root}")


__all__ = ["check_name", "installed_root", "record_files", "remove", "update_manifest"]
