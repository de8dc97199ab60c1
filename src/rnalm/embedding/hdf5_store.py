"""HDF5 output: one group per record (named by its escaped id), datasets per layer and pooling.

Layout::

    /                      attrs: model, weights_sha256, rnalm_version, rnalm_embed (JSON metadata)
    /<id>/                 attrs: id, index, length, n_rows, windows, truncated, sequence_hash, complete
    /<id>/layer_12/per_token   (n_rows, D) float32, one row per nucleotide (codon for mRNA-FM)
    /<id>/layer_12/mean        (D,)
    /<id>/layer_12/cls         (D,)
    /<id>/contacts             (n_rows, n_rows)
    /<id>/attentions           (layers, heads, n_rows, n_rows)

Crash safety: ``complete`` is set after the datasets, so a group without it is half-written
and is deleted on ``--resume``; the file is flushed after every batch. The metadata cache is
made larger than what one commit adds, so HDF5 writes its metadata only at those flushes and
a kill between flushes leaves the file as of the last flush plus raw data in unreferenced
space. A kill *during* a flush is the one moment HDF5 itself gives no guarantee for: the file
may then be unreadable. So that such a file is still known as rnalm's, the file starts with a
512-byte HDF5 user block (bytes HDF5 never writes) holding :data:`USERBLOCK_MAGIC`; ``--resume``
then starts that output over (:meth:`HDF5Store.damage`), which costs time but gives the same result, and
``--overwrite`` may replace it. Groups keep creation order; the input order is the ``index``
attribute (:func:`rnalm.embedding.open_embeddings` uses it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np

from rnalm.embedding.outputs import RecordOutput
from rnalm.embedding.store import OutputError, Store
from rnalm.errors import option
from rnalm.io.output_guard import OutputKind
from rnalm.io.record_names import record_name

#: Metadata cache size: bounded (memory must not grow with the output), and far above the
#: metadata one commit creates (at most ``COMMIT_EVERY`` records of a few kB each), so dirty
#: metadata is written at commits only.
CACHE_BYTES = 4 << 20
#: The file's first bytes (an HDF5 user block, which HDF5 leaves alone): who wrote it, readable
#: even when a kill during a flush left HDF5's own structures unreadable.
USERBLOCK_SIZE = 512
USERBLOCK_MAGIC = b"rnalm-embeddings hdf5\n"


def has_userblock_magic(path: Path) -> bool:
    """True when ``path`` starts with rnalm's user block (an HDF5 embedding output, readable or not)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(USERBLOCK_MAGIC)) == USERBLOCK_MAGIC
    except OSError:
        return False


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - depends on the environment
        choose = option("output_format", "npy")
        raise OutputError(
            "HDF5 output needs h5py, a dependency of rnalm missing from this installation: reinstall rnalm "
            f"(pip install --force-reinstall rnalm), or choose {choose}"
        ) from exc
    return h5py


def new_file(path: Path, mode: str = "w") -> Any:
    """A new HDF5 file (groups in creation order) whose user block says rnalm wrote it."""
    f = _h5py().File(path, mode, track_order=True, userblock_size=USERBLOCK_SIZE)
    with open(path, "r+b") as fh:  # the user block: bytes HDF5 reserves and never writes
        fh.write(USERBLOCK_MAGIC)
    return f


def _tune_cache(f: Any) -> None:
    cfg = f.id.get_mdc_config()
    cfg.set_initial_size = True
    cfg.initial_size = CACHE_BYTES
    cfg.min_size = CACHE_BYTES
    cfg.max_size = CACHE_BYTES
    f.id.set_mdc_config(cfg)


class HDF5Store(Store):
    storage = "hdf5"

    def __init__(self, path: Path, kind: OutputKind) -> None:
        super().__init__(path, kind)
        self._f: Any = None  # an open h5py.File, or None

    # ----------------------------------------------------------------- reading
    def _reader(self) -> Any:
        if self._f is None:
            h5py = _h5py()
            try:
                self._f = h5py.File(self.path, "r")
            except OSError as exc:
                raise OutputError(f"{self.path}: cannot open HDF5 output: {exc}") from exc
        return self._f

    def damage(self) -> Optional[str]:
        """Why the file cannot be read (None when it can): HDF5 gives no guarantee after a kill
        during a flush. Reads the metadata and the names of all groups (cheap; the records'
        attributes are read by the resume itself)."""
        try:
            self.read_metadata()
            for _ in self._reader().keys():
                pass
        except (OutputError, OSError, KeyError, ValueError, RuntimeError) as exc:
            return str(exc) or type(exc).__name__
        finally:
            self.close()
        return None

    def read_metadata(self) -> dict[str, Any]:
        f = self._reader()
        raw = f.attrs.get("rnalm_embed")
        if raw is None:
            raise OutputError(f"{self.path}: HDF5 file without rnalm embedding metadata")
        return json.loads(raw)

    def complete_records(self) -> Iterator[dict[str, Any]]:
        f = self._reader()
        try:
            for name, grp in f.items():
                attrs = grp.attrs
                if attrs.get("complete", False):
                    yield {**{k: _py(v) for k, v in attrs.items() if k != "complete"}, "name": name}
        except (OSError, RuntimeError, KeyError) as exc:  # structures a kill during a flush left half-written
            raise OutputError(
                f"{self.path}: cannot read HDF5 output ({exc}); {option('overwrite')} starts it over"
            ) from exc

    def load(self, record_id: str) -> dict[str, np.ndarray]:
        f = self._reader()
        grp = f[record_name(record_id)]
        out: dict[str, np.ndarray] = {}

        def visit(name: str, obj: Any) -> None:
            if hasattr(obj, "shape"):
                out[name] = obj[()]

        grp.visititems(visit)
        return out

    # ----------------------------------------------------------------- writing
    def create(self, metadata: dict[str, Any]) -> None:
        try:
            self._f = new_file(self.path, "w-")
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot create HDF5 output: {exc}") from exc
        _tune_cache(self._f)
        self._set_metadata(metadata)
        self._f.flush()

    def _set_metadata(self, metadata: dict[str, Any]) -> None:
        f = self._f
        f.attrs["rnalm_embed"] = json.dumps(metadata)
        for k in ("model", "weights_sha256", "rnalm_version"):
            f.attrs[k] = "" if metadata.get(k) is None else str(metadata[k])

    def resume(self, metadata: dict[str, Any]) -> int:
        h5py = _h5py()
        try:
            self._f = h5py.File(self.path, "r+")
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot reopen HDF5 output for {option('resume')}: {exc}") from exc
        _tune_cache(self._f)
        stale = [name for name, grp in self._f.items() if not grp.attrs.get("complete", False)]
        for name in stale:
            del self._f[name]
        self._set_metadata({**metadata, "finished": False})
        self._f.flush()
        return len(stale)

    def write(self, rec: RecordOutput) -> None:
        f = self._f
        name = record_name(rec.meta.id)
        if name in f:
            del f[name]
        grp = f.create_group(name)
        for k, v in rec.meta.attrs().items():
            grp.attrs[k] = v
        for k, arr in rec.arrays.items():
            grp.create_dataset(k, data=np.ascontiguousarray(arr, dtype=np.float32))
        grp.attrs["complete"] = True

    def commit(self) -> None:
        self._f.flush()

    def finish(self, info: dict[str, Any]) -> None:
        meta = json.loads(self._f.attrs["rnalm_embed"])
        meta.update(info)
        meta["finished"] = True
        self._set_metadata(meta)
        self._f.flush()

    def close(self) -> None:
        if self._f is not None:
            try:
                self._f.close()
            finally:
                self._f = None


def _py(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, bytes):
        return v.decode("utf-8")
    return v
