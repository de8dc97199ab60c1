"""The table of embedding stores: which class writes which storage, and recognising an output.

Every storage kind the CLI offers (:data:`~rnalm.embedding.store.STORAGES`) has one row in
:data:`STORES`; :data:`EMBEDDINGS` is the output kind ``--overwrite`` may replace.
"""

from __future__ import annotations

from pathlib import Path

from rnalm.embedding.dir_store import NpyStore, PtStore
from rnalm.embedding.hdf5_store import HDF5Store, has_userblock_magic
from rnalm.embedding.store import FORMAT_NAME, STORAGES, OutputError, Store, storage_of
from rnalm.io.output_guard import OutputKind

#: storage name -> the store class that reads and writes it
STORES: dict[str, type[Store]] = {"hdf5": HDF5Store, "npy": NpyStore, "pt": PtStore}


def make_store(path: Path, storage: str) -> Store:
    if storage not in STORES:
        raise OutputError(f"unknown output format {storage!r}; expected one of {', '.join(STORAGES)}")
    return STORES[storage](path, EMBEDDINGS)


def open_store(path: Path) -> Store:
    return make_store(path, storage_of(path))


def is_embedding_output(path: Path) -> bool:
    """True when ``path`` holds an rnalm embedding output (HDF5 user block or attribute, or
    ``rnalm_embed.json``); an HDF5 output a kill left unreadable is still recognised by its user block."""
    if path.is_file() and has_userblock_magic(path):
        return True
    st = open_store(path)
    try:
        return st.read_metadata().get("format") == FORMAT_NAME
    finally:
        st.close()


#: ``rnalm embed`` output, any storage: ``--overwrite`` replaces only this.
EMBEDDINGS = OutputKind("embeddings", "an rnalm embedding output", is_embedding_output)
