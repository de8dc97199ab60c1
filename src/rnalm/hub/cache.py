"""The local cache: one folder per checkpoint under ``$RNALM_HOME`` and its sha256 record.

A checkpoint's files live in ``<cache home>/<checkpoint name>/``; a download in progress is
``<file>.part`` with a ``<file>.part.json`` sidecar. :data:`RECORD_NAME` in the same folder holds
the sha256 of every verified file and whose hash it is (the publisher's, or the one recorded at the
first download: trust on first use), so later uses can re-hash and compare.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional, Union

from rnalm.errors import DownloadError
from rnalm.hub.registry import FOLDER, Checkpoint
from rnalm.io.jsonfile import write_json

#: Environment variable naming the cache folder.
ENV_HOME = "RNALM_HOME"
DEFAULT_HOME = "~/.cache/rnalm"
#: Per-checkpoint file (inside its cache folder) holding the sha256 of each verified file.
RECORD_NAME = ".rnalm-sha256.json"
#: Per-checkpoint file (inside its cache folder) holding the sha256 of the checkpoint's files that rnalm
#: used from torch hub's cache, keyed by their path there (:mod:`rnalm.hub.torchhub`).
TORCH_HUB_RECORD_NAME = ".rnalm-torch-hub-sha256.json"
#: ``source`` values in the record: whose sha256 a cached file is checked against.
FROM_PUBLISHER = "publisher"
TRUST_ON_FIRST_USE = "trust-on-first-use"


def cache_home(cache_dir: Union[str, Path, None] = None) -> Path:
    """The cache folder: ``cache_dir`` if given, else ``$RNALM_HOME``, else ``~/.cache/rnalm``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    return Path(os.environ.get(ENV_HOME) or DEFAULT_HOME).expanduser()


def entry_dir(entry: Checkpoint, cache_dir: Union[str, Path, None] = None) -> Path:
    return cache_home(cache_dir) / entry.name


def local_path(entry: Checkpoint, cache_dir: Union[str, Path, None] = None) -> Path:
    """Where the file (or folder) that :func:`rnalm.load` receives lives once downloaded."""
    folder = entry_dir(entry, cache_dir)
    if entry.target == FOLDER:
        return folder
    return folder / (entry.target or entry.files[0].filename)


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def part_meta_path(dest: Path) -> Path:
    """The ``.part``'s sidecar: the URL it came from and the validator (ETag / Last-Modified) of its first response."""
    return dest.with_name(dest.name + ".part.json")


def legacy_part_source(dest: Path) -> Path:
    """Where rnalm before validators noted a ``.part``'s URL (no validator: such a ``.part`` is not resumed)."""
    return dest.with_name(dest.name + ".part.url")


def cache_status(entry: Checkpoint, cache_dir: Union[str, Path, None] = None) -> str:
    """``"yes"`` (every file present), ``"partial"`` (some files or a ``.part``) or ``"no"``."""
    folder = entry_dir(entry, cache_dir)
    present = [(folder / f.filename).is_file() for f in entry.files]
    if all(present):
        return "yes"
    if any(present) or any(part_path(folder / f.filename).exists() for f in entry.files):
        return "partial"
    return "no"


def read_records(folder: Path, name: str = RECORD_NAME) -> dict[str, dict]:
    """``{file name: {"sha256", "size", "source", "url", "recorded"}}`` from a checkpoint folder's record
    (``name``: :data:`RECORD_NAME`, or :data:`TORCH_HUB_RECORD_NAME`, keyed by path)."""
    path = folder / name
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        data = exc
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("sha256"), str) for v in files.values()
    ):
        raise DownloadError(
            f"{path}: not a sha256 record rnalm can read; move it away to record the cached files "
            f"again on their next use (trust on first use starts over)"
        )
    return files


def store_record(folder: Path, filename: str, record: dict, name: str = RECORD_NAME) -> None:
    records = read_records(folder, name)
    records[filename] = record
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / name, {"format": 1, "files": records})


def new_record(path: Path, digest: str, source: str, url: Optional[str]) -> dict:
    return {
        "sha256": digest,
        "size": path.stat().st_size,
        "source": source,
        "url": url,
        "recorded": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def trust_state(entry: Checkpoint, cache_dir: Union[str, Path, None] = None) -> str:
    """What the cached files of ``entry`` are checked against on use.

    ``"publisher"`` (every file has the authors' sha256), ``"trust-on-first-use"`` (sha256s recorded
    at the first download), ``"not recorded yet"`` (files put in the cache by hand or by an older
    rnalm: recorded on their next use); for a checkpoint not fully cached, whether a sha256 is
    ``"published"`` or ``"not published"``.
    """
    if cache_status(entry, cache_dir) != "yes":
        return "published" if entry.sha256_published else "not published"
    records = read_records(entry_dir(entry, cache_dir))
    sources = {(records.get(f.filename) or {}).get("source") for f in entry.files}
    if None in sources:
        return "not recorded yet"
    return FROM_PUBLISHER if sources == {FROM_PUBLISHER} else TRUST_ON_FIRST_USE
