"""Checkpoints that fair-esm or rna-fm already downloaded: used from torch hub's cache, not fetched again.

fair-esm (``esm.pretrained``) and rna-fm (``fm.pretrained``) fetch their weights with
``torch.hub.load_state_dict_from_url``, which keeps them in ``torch.hub.get_dir()/checkpoints``
(``$TORCH_HOME/hub/checkpoints``, default ``~/.cache/torch/hub/checkpoints``) under the names in
:attr:`RemoteFile.torch_hub_name`. When every file of a registered checkpoint is there and rnalm's
own cache does not hold it, :func:`rnalm.hub.resolve` hands :func:`rnalm.load` the file in torch
hub's folder, once each file passes the checks a download passes:

* the publisher's size and sha256, where published; else
* the sha256 recorded the first time rnalm used that file (trust on first use, as the cache does:
  :data:`TORCH_HUB_RECORD_NAME` in the checkpoint's rnalm cache folder, keyed by the file's path); else
* on that first use, the format probe of its registry entry.

A file that fails is ignored with a warning naming it, and left where it is: that folder belongs to
torch, so rnalm neither renames nor deletes anything in it. The normal download then proceeds.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Optional, Union

import torch.hub

from rnalm.hub.cache import (
    FROM_PUBLISHER,
    TORCH_HUB_RECORD_NAME,
    TRUST_ON_FIRST_USE,
    entry_dir,
    new_record,
    read_records,
    store_record,
)
from rnalm.hub.registry import FOLDER, Checkpoint, RemoteFile
from rnalm.hub.verify import probe_problem
from rnalm.io.digest import sha256_file

#: ``Listing.cached`` for a checkpoint rnalm would read from torch hub's cache.
IN_TORCH_HUB = "torch hub"


def torch_hub_dir() -> Path:
    """Where ``torch.hub.load_state_dict_from_url`` keeps files: ``torch.hub.get_dir()/checkpoints``
    (honours ``$TORCH_HOME`` and ``torch.hub.set_dir``)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def torch_hub_files(entry: Checkpoint) -> Optional[list[tuple[RemoteFile, Path]]]:
    """Each file of ``entry`` with its path in torch hub's cache, when all of them are there; else None."""
    if not entry.files or entry.target == FOLDER or any(f.torch_hub_name is None for f in entry.files):
        return None
    folder = torch_hub_dir()
    pairs = [(f, folder / str(f.torch_hub_name)) for f in entry.files]
    return pairs if all(path.is_file() for _, path in pairs) else None


def torch_hub_path(entry: Checkpoint) -> Optional[Path]:
    """The path :func:`rnalm.load` would get for ``entry`` from torch hub's cache (presence only: nothing is
    hashed), or None when not all of its files are there."""
    pairs = torch_hub_files(entry)
    if pairs is None:
        return None
    return next((path for remote, path in pairs if remote.filename == entry.target), pairs[0][1])


def torch_hub_trust_state(entry: Checkpoint, cache_dir: Union[str, Path, None] = None) -> str:
    """What ``entry``'s files in torch hub's cache are checked against on use (as :func:`rnalm.hub.trust_state`)."""
    if entry.sha256_published:
        return FROM_PUBLISHER
    records = read_records(entry_dir(entry, cache_dir), TORCH_HUB_RECORD_NAME)
    pairs = torch_hub_files(entry) or []
    return TRUST_ON_FIRST_USE if pairs and all(str(p) in records for _, p in pairs) else "not recorded yet"


def _outside_rnalm() -> int:
    """The ``stacklevel`` that points a warning raised by our caller at the first line outside rnalm (the
    user's own call to ``rnalm.load`` or ``rnalm.pretrained``), whatever path inside rnalm led to it."""
    level, frame = 2, sys._getframe(2)  # 1: our caller, 2: its caller
    while frame.f_back is not None and frame.f_globals.get("__name__", "").partition(".")[0] == "rnalm":
        level, frame = level + 1, frame.f_back
    return level


def _problem(remote: RemoteFile, path: Path, recorded: Optional[dict]) -> tuple[Optional[str], Optional[dict]]:
    """Why ``path`` must not be used as ``remote`` (or None), and a record to store for it (or None)."""
    if remote.size is not None and path.stat().st_size != remote.size:
        return f"has {path.stat().st_size} bytes, not the published {remote.size}", None
    digest = sha256_file(path)
    if remote.sha256:
        if digest != remote.sha256.lower():
            return f"has sha256 {digest}, not the publisher's {remote.sha256}", None
        fresh = (recorded or {}).get("sha256") != digest or (recorded or {}).get("source") != FROM_PUBLISHER
        return None, new_record(path, digest, FROM_PUBLISHER, None) if fresh else None
    if recorded:
        if digest != recorded["sha256"]:
            return (
                f"has sha256 {digest}, not the {recorded['sha256']} recorded when rnalm first used it on "
                f"{recorded.get('recorded')} (trust on first use)",
                None,
            )
        return None, None
    problem = probe_problem(path, remote.probe)
    if problem is not None:
        return f"does not open as {remote.probe}: {problem.removeprefix(f'{path}: ')}", None
    return None, new_record(path, digest, TRUST_ON_FIRST_USE, None)


def verified_torch_hub_path(entry: Checkpoint, cache_dir: Union[str, Path, None] = None) -> Optional[Path]:
    """:func:`torch_hub_path` once every file there passed its checks (recording the sha256 of first use);
    None, with a warning naming the file, when one fails (the file is left as it is)."""
    pairs = torch_hub_files(entry)
    if pairs is None:
        return None
    folder = entry_dir(entry, cache_dir)
    records = read_records(folder, TORCH_HUB_RECORD_NAME)
    fresh: dict[str, dict] = {}
    for remote, path in pairs:
        problem, record = _problem(remote, path, records.get(str(path)))
        if problem is not None:
            warnings.warn(
                f"{path} (torch hub's cache, for {entry.name}) {problem}; rnalm does not use it and leaves it "
                f"where it is, and takes {entry.name} from its own cache (downloading it when needed)",
                stacklevel=_outside_rnalm(),
            )
            return None
        if record is not None:
            fresh[str(path)] = record
    for key, record in fresh.items():
        store_record(folder, key, record, TORCH_HUB_RECORD_NAME)
    return torch_hub_path(entry)
