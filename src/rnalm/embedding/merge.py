"""``rnalm embed-merge``: the per-rank parts of a ``torchrun`` job into one output.

The merged output lists records in input order. It is built under a temporary name and
renamed into place, and the parts are removed only after that, so a merge killed half-way
leaves the parts untouched and can simply be run again. Directory parts are hard-linked (copied
across file systems), HDF5 groups are copied.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from rnalm.embedding.dir_store import LOG_FILE, META_FILE, write_json_atomic
from rnalm.embedding.hdf5_store import new_file
from rnalm.embedding.naming import find_parts
from rnalm.embedding.storage import EMBEDDINGS, open_store
from rnalm.embedding.store import RESUME_KEYS, OutputError, remove_output, storage_of
from rnalm.io.output_guard import write_marker


@dataclass
class MergeResult:
    output: Path
    parts: int
    records: int


def merge_parts(output: Union[str, Path], keep_parts: bool = False) -> MergeResult:
    """Merge ``OUTPUT.rankR-of-W`` (all ``W`` of them, each finished) into ``OUTPUT``."""
    output = Path(output)
    parts = find_parts(output)
    if not parts:
        raise OutputError(f"{output}: no parts {output.name}.rankR-of-W to merge")
    if output.exists():
        raise OutputError(f"{output}: already exists; remove it or merge into another path")
    worlds = {w for w, _ in parts.values()}
    if len(worlds) != 1:
        raise OutputError(f"{output}: parts from runs with different world sizes {sorted(worlds)}")
    world = worlds.pop()
    missing = sorted(set(range(world)) - set(parts))
    if missing:
        raise OutputError(f"{output}: parts for ranks {missing} of {world} are missing")
    paths = [parts[r][1] for r in range(world)]
    storage = storage_of(paths[0])
    stores = [open_store(p) for p in paths]
    try:
        metas = [st.read_metadata() for st in stores]
        for p, st, m in zip(paths, stores, metas):
            if storage_of(p) != storage:
                raise OutputError(f"{p}: a {storage_of(p)} part among {storage} parts")
            if not m.get("finished"):
                raise OutputError(f"{p}: this rank has not finished; resume that rank's embedding run, then merge")
            diffs = [k for k in RESUME_KEYS if k != "rank" and m.get(k) != metas[0].get(k)]
            if diffs:
                raise OutputError(f"{p}: made with other settings than rank 0 ({', '.join(diffs)})")
        entries = sorted(
            ((int(a["index"]), si, a) for si, st in enumerate(stores) for a in st.complete_records()),
            key=lambda e: e[0],
        )
        merged_meta = {
            **metas[0],
            "rank": 0,
            "world_size": 1,
            "merged_from": world,
            "finished": True,
            "n_records": len(entries),
            "n_embedded": sum(m.get("n_embedded", 0) for m in metas),
        }
        tmp = output.with_name(f".{output.name}.merge-{os.getpid()}")
        remove_output(tmp)
        try:
            if storage == "hdf5":
                _merge_hdf5(tmp, stores, entries, merged_meta)
            else:
                _merge_dirs(tmp, stores, entries, merged_meta)
            os.replace(tmp, output)
        except BaseException:
            remove_output(tmp)
            raise
    finally:
        for st in stores:
            st.close()
    if not keep_parts:
        for p in paths:
            remove_output(p)
    return MergeResult(output, world, len(entries))


def _merge_hdf5(tmp: Path, stores: list, entries: list, meta: dict[str, Any]) -> None:
    with new_file(tmp) as dst:
        dst.attrs["rnalm_embed"] = json.dumps(meta)
        for k in ("model", "weights_sha256", "rnalm_version"):
            dst.attrs[k] = "" if meta.get(k) is None else str(meta[k])
        for _, si, attrs in entries:
            src = stores[si]._reader()
            src.copy(src[attrs["name"]], dst, name=attrs["name"])


def _merge_dirs(tmp: Path, stores: list, entries: list, meta: dict[str, Any]) -> None:
    tmp.mkdir()
    write_marker(tmp, EMBEDDINGS)
    with open(tmp / LOG_FILE, "wb") as log:
        for _, si, attrs in entries:
            st = stores[si]
            for rel in st.record_files(attrs):
                target = tmp / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(st.path / rel, target)
                except OSError:
                    shutil.copy2(st.path / rel, target)
            log.write(json.dumps(attrs).encode("utf-8") + b"\n")
    write_json_atomic(tmp / META_FILE, meta)
