"""The table of embedding stores: which class writes which storage, and recognising an output.

Every storage kind the CLI offers (:data:`~rnalm.embedding.store.STORAGES`) has one row in
:data:`STORES`; :data:`EMBEDDINGS` is the output kind ``--overwrite`` may replace.
"""

from __future__ import annotations

from pathlib import Path

from rnalm.embedding.dir_store import NpyStore, PtStore
from rnalm.embedding.hdf5_store import HDF5Store
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
    """True when ``path`` holds an rnalm embedding output (HDF5 attribute or ``rnalm_embed.json``)."""
    st = open_store(path)
    try:
        return st.read_metadata().get("format") == FORMAT_NAME
    finally:
        st.close()


#: ``rnalm embed`` output, any storage: ``--overwrite`` replaces only this.
EMBEDDINGS = OutputKind("embeddings", "an rnalm embedding output", is_embedding_output)
