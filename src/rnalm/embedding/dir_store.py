"""Directory outputs: ``.npy`` files in RNA-FM's layout, or ``.pt`` files in fair-esm's.

``npy`` (RNA-FM's ``launch/predict.py --save_embeddings`` layout, extended)::

    OUT/representations/<id>.npy        (n_rows, D) per-token, one row per nucleotide
    OUT/mean_representations/<id>.npy   (D,)
    OUT/cls_representations/<id>.npy    (D,)
    OUT/contacts/<id>.npy               (n_rows, n_rows)
    OUT/attentions/<id>.npy             (layers, heads, n_rows, n_rows)

With several ``--layers`` each of the first three gains a ``layer_<L>/`` level.

``pt`` (fair-esm ``scripts/extract.py`` layout): ``OUT/<id>.pt`` holding
``{"label", "representations": {L: (n_rows, D)}, "mean_representations": {L: (D,)},
"bos_representations": {L: (D,)}, "contacts", "attentions", "rnalm": record attributes}``.

Both keep ``rnalm_embed.json`` (metadata), ``rnalm_output.json`` (the marker that lets
``--overwrite`` replace only rnalm's own output, :mod:`rnalm.io.output_guard`) and
``rnalm_embed.done``, an append-only log with one JSON line per committed record. Files are
written under a temporary name and renamed into place, and the log line is written after them,
so a record is complete exactly when it is in the log; a torn last line (a kill mid-write) is
cut off on ``--resume``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np
import torch

from rnalm.embedding.outputs import RecordOutput
from rnalm.embedding.store import OutputError, Store
from rnalm.io.arrayfiles import read_npy
from rnalm.io.output_guard import OutputKind, write_marker
from rnalm.io.record_names import file_name
from rnalm.io.safe_torch import safe_torch_load

META_FILE = "rnalm_embed.json"
LOG_FILE = "rnalm_embed.done"
TMP_MARK = ".tmp-"
_POOL_DIRS = {"per_token": "representations", "mean": "mean_representations", "cls": "cls_representations"}


def write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(f"{path.name}{TMP_MARK}{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)


def read_log(path: Path, repair: bool = False) -> list[dict[str, Any]]:
    """Committed records from the log, one per id; with ``repair``, cut a torn last line off the file.

    Versions before the one-writer lock let two ``--resume`` runs log every id twice; such a log
    reads back with each id once (its last line: the files of both runs have the same name,
    and the last rename won), in the order ids first appeared.
    """
    log = path / LOG_FILE
    if not log.exists():
        return []
    data = log.read_bytes()
    good = data.rfind(b"\n") + 1
    records: dict[str, dict[str, Any]] = {}
    for n, line in enumerate(data[:good].splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            rid = rec["id"]
        except (ValueError, KeyError, TypeError) as exc:
            raise OutputError(
                f"{log}: line {n} is not a record entry ({exc}); the output is damaged, embed into a new output path"
            ) from exc
        records[rid] = rec
    if repair and good != len(data):
        with open(log, "r+b") as fh:
            fh.truncate(good)
    return list(records.values())


class DirStore(Store):
    def __init__(self, path: Path, kind: OutputKind) -> None:
        super().__init__(path, kind)
        self._log: Optional[Any] = None
        self._meta: Optional[dict[str, Any]] = None
        self._records: Optional[dict[str, dict[str, Any]]] = None

    # ----------------------------------------------------------------- reading
    def read_metadata(self) -> dict[str, Any]:
        if self._meta is None:
            p = self.path / META_FILE
            try:
                self._meta = json.loads(p.read_text())
            except (OSError, ValueError) as exc:
                raise OutputError(f"{p}: cannot read output metadata: {exc}") from exc
        return self._meta

    def complete_records(self) -> Iterator[dict[str, Any]]:
        yield from read_log(self.path)

    def _record(self, record_id: str) -> dict[str, Any]:
        if self._records is None:
            self._records = {r["id"]: r for r in read_log(self.path)}
        try:
            return self._records[record_id]
        except KeyError:
            raise KeyError(record_id) from None

    # ----------------------------------------------------------------- writing
    def create(self, metadata: dict[str, Any]) -> None:
        try:
            self.path.mkdir()
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot create output directory: {exc.strerror or exc}") from exc
        write_marker(self.path, self.kind)
        self._meta = metadata
        write_json_atomic(self.path / META_FILE, metadata)
        self._open_log()

    def resume(self, metadata: dict[str, Any]) -> int:
        read_log(self.path, repair=True)
        stale = 0
        for root, _dirs, files in os.walk(self.path):
            for fn in files:
                if TMP_MARK in fn:
                    os.remove(os.path.join(root, fn))
                    stale += 1
        self._meta = {**metadata, "finished": False}
        write_json_atomic(self.path / META_FILE, self._meta)
        self._open_log()
        return stale

    def _open_log(self) -> None:
        self._log = open(self.path / LOG_FILE, "ab")

    def _place(self, target: Path, save: Any) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}{TMP_MARK}{os.getpid()}")
        save(tmp)
        os.replace(tmp, target)

    def write(self, rec: RecordOutput) -> None:
        name = file_name(rec.meta.id)
        self._write_files(name, rec)
        line = {**rec.meta.attrs(), "name": name}
        self._log.write(json.dumps(line).encode("utf-8") + b"\n")  # type: ignore[union-attr]

    def _write_files(self, name: str, rec: RecordOutput) -> None:
        raise NotImplementedError

    def record_files(self, attrs: dict[str, Any]) -> list[Path]:
        """Files of one committed record, relative to the output directory (used by merge)."""
        raise NotImplementedError

    def commit(self) -> None:
        self._log.flush()  # type: ignore[union-attr]

    def finish(self, info: dict[str, Any]) -> None:
        self.commit()
        meta = {**self.read_metadata(), **info, "finished": True}
        self._meta = meta
        write_json_atomic(self.path / META_FILE, meta)

    def close(self) -> None:
        if self._log is not None:
            try:
                self._log.close()
            finally:
                self._log = None


class NpyStore(DirStore):
    storage = "npy"

    def _dir_for(self, k: str) -> Path:
        if k in ("contacts", "attentions"):
            return self.path / k
        layer, pool = k.split("/")
        d = self.path / _POOL_DIRS[pool]
        if len(self.read_metadata()["layers"]) > 1:
            d = d / layer
        return d

    def _write_files(self, name: str, rec: RecordOutput) -> None:
        for k, arr in rec.arrays.items():
            a = np.ascontiguousarray(arr, dtype=np.float32)
            self._place(self._dir_for(k) / f"{name}.npy", lambda p, a=a: _save_npy(p, a))

    def _keys(self) -> list[str]:
        meta = self.read_metadata()
        keys = [f"layer_{layer}/{pool}" for layer in meta["layers"] for pool in meta["pools"]]
        return keys + [k for k in ("contacts", "attentions") if meta.get(k)]

    def load(self, record_id: str) -> dict[str, np.ndarray]:
        name = self._record(record_id)["name"]
        return {k: read_npy(self._dir_for(k) / f"{name}.npy") for k in self._keys()}

    def record_files(self, attrs: dict[str, Any]) -> list[Path]:
        return [(self._dir_for(k) / f"{attrs['name']}.npy").relative_to(self.path) for k in self._keys()]


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as fh:
        np.save(fh, arr)


class PtStore(DirStore):
    storage = "pt"
    _PT_KEYS = {"per_token": "representations", "mean": "mean_representations", "cls": "bos_representations"}

    def _write_files(self, name: str, rec: RecordOutput) -> None:
        obj: dict[str, Any] = {"label": rec.meta.id}
        for k, arr in rec.arrays.items():
            t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
            if k in ("contacts", "attentions"):
                obj[k] = t
                continue
            layer, pool = k.split("/")
            obj.setdefault(self._PT_KEYS[pool], {})[int(layer.split("_")[1])] = t
        obj["rnalm"] = rec.meta.attrs()
        self._place(self.path / f"{name}.pt", lambda p: torch.save(obj, p))

    def record_files(self, attrs: dict[str, Any]) -> list[Path]:
        return [Path(f"{attrs['name']}.pt")]

    def load(self, record_id: str) -> dict[str, np.ndarray]:
        name = self._record(record_id)["name"]
        obj = safe_torch_load(self.path / f"{name}.pt")
        out: dict[str, np.ndarray] = {}
        for pool, pt_key in self._PT_KEYS.items():
            for layer, t in obj.get(pt_key, {}).items():
                out[f"layer_{layer}/{pool}"] = t.numpy()
        for k in ("contacts", "attentions"):
            if k in obj:
                out[k] = obj[k].numpy()
        return out
