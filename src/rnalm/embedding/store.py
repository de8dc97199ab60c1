"""The storage interface shared by the HDF5, ``.npy``-directory and ``.pt``-directory outputs.

A store writes records one at a time and *commits* them: a record becomes visible to readers
only once all of its arrays are on disk (HDF5: a ``complete`` attribute set last; directories:
files renamed into place, then a line in an append-only log). ``commit`` is called after every
batch and pushes everything to the operating system, so killing the process loses at most the
records of the batch in flight; ``resume`` discards anything half-written.
"""

from __future__ import annotations

import json
import os
import shutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np

from rnalm.embedding.outputs import RecordOutput
from rnalm.errors import option
from rnalm.io.output_guard import OutputError, OutputKind

FORMAT_NAME = "rnalm-embeddings"
FORMAT_VERSION = 1
STORAGES = ("hdf5", "npy", "pt")
#: Metadata that must agree before ``--resume`` may add records to an existing output.
RESUME_KEYS = (
    "storage",
    "model_id",
    "alphabet",
    "layers",
    "pools",
    "contacts",
    "attentions",
    "long",
    "window",
    "overlap",
    "dtype",
    "unknown",
    "rank",
    "world_size",
)
#: The first bytes of an HDF5 file (at offset 0, or after its user block).
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: Settings that change batch composition: a mismatch is allowed but breaks bit-identity.
BATCH_KEYS = ("tokens_per_batch", "lookahead")


class Store(ABC):
    storage: str = ""

    def __init__(self, path: Path, kind: OutputKind) -> None:
        self.path = Path(path)
        #: the output kind a directory store is marked as (see :mod:`rnalm.io.output_guard`)
        self.kind = kind

    # ----------------------------------------------------------------- reading
    @abstractmethod
    def read_metadata(self) -> dict[str, Any]: ...

    @abstractmethod
    def complete_records(self) -> Iterator[dict[str, Any]]:
        """Attributes (``id``, ``index``, ``length`` ...) of every committed record."""

    @abstractmethod
    def load(self, record_id: str) -> dict[str, np.ndarray]: ...

    def damage(self) -> Optional[str]:
        """Why an existing output cannot be read at all (None: it can). Directory outputs are
        always readable (files renamed into place, an append-only log); see the HDF5 store."""
        return None

    # ----------------------------------------------------------------- writing
    @abstractmethod
    def create(self, metadata: dict[str, Any]) -> None: ...

    @abstractmethod
    def resume(self, metadata: dict[str, Any]) -> int:
        """Open for appending, drop half-written records (or their temporary files); returns how many."""

    @abstractmethod
    def write(self, rec: RecordOutput) -> None: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def finish(self, info: dict[str, Any]) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_compatible(old: dict[str, Any], new: dict[str, Any], path: Path) -> list[str]:
    """Raise if ``old`` (on disk) and ``new`` (this run) differ in :data:`RESUME_KEYS`.

    Returns the names of :data:`BATCH_KEYS` that differ (a warning, not an error).
    """
    diffs = [k for k in RESUME_KEYS if _norm(old.get(k)) != _norm(new.get(k))]
    if diffs:
        shown = "; ".join(f"{k}: {old.get(k)!r} in the output, {new.get(k)!r} now" for k in diffs)
        raise OutputError(
            f"{path}: cannot resume, the output was made with other settings ({shown}); "
            f"use a new output path or {option('overwrite')}"
        )
    return [k for k in BATCH_KEYS if _norm(old.get(k)) != _norm(new.get(k))]


def _norm(v: Any) -> Any:
    return json.loads(json.dumps(v))


def storage_of(path: Path) -> str:
    """The storage kind of an existing output path."""
    if path.is_dir():
        meta = path / "rnalm_embed.json"
        if not meta.is_file():
            raise OutputError(f"{path}: a directory that is not an rnalm embedding output (no rnalm_embed.json)")
        try:
            storage = json.loads(meta.read_text()).get("storage")
        except (OSError, ValueError) as exc:
            raise OutputError(f"{meta}: unreadable: {exc}") from exc
        if storage not in ("npy", "pt"):
            raise OutputError(f"{meta}: unknown storage {storage!r}")
        return storage
    with open(path, "rb") as fh:
        head = fh.read(520)
    if HDF5_SIGNATURE in (head[:8], head[512:520]):  # at 0, or after a 512-byte user block
        return "hdf5"
    raise OutputError(f"{path}: exists and is not an rnalm embedding output (neither HDF5 nor an output directory)")


def remove_output(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        os.remove(path)
