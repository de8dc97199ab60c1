"""Reading embedding outputs back: one object over a file, a directory, or per-rank parts.

:func:`read_matrix` (``ids, X`` for one layer and pool) and :func:`read_per_token` are the
documented way to get embeddings as arrays; :func:`open_embeddings` gives every output and
attribute of each record. All of them see only committed records, return them in *input*
order (whatever order the batches ran in), and read either a merged output or, before
``rnalm embed-merge``, all ``OUTPUT.rankR-of-W`` parts together as one dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Union

import numpy as np

from rnalm.embedding.naming import find_parts
from rnalm.embedding.options import select_key
from rnalm.embedding.storage import open_store
from rnalm.embedding.store import OutputError, Store
from rnalm.errors import RnalmError


class Embeddings:
    """Read-only view of an embedding output, ordered by input position.

    ``emb.ids`` lists the complete records in input order; ``emb[id]`` returns a dict of arrays
    keyed ``layer_<L>/<pool>`` (``pool`` in ``per_token``, ``mean``, ``cls``), ``contacts``,
    ``attentions``; ``emb.info(id)`` the record's attributes (``index``, ``length``,
    ``n_rows``, ``windows``, ``truncated``); ``emb.stack("layer_12/mean")`` a ``(N, D)`` matrix.
    """

    def __init__(self, stores: list[Store]) -> None:
        self._stores = stores
        self.metadata: dict[str, Any] = dict(stores[0].read_metadata())
        entries: list[tuple[int, str, int, dict[str, Any]]] = []
        for si, st in enumerate(stores):
            for attrs in st.complete_records():
                entries.append((int(attrs["index"]), attrs["id"], si, attrs))
        entries.sort(key=lambda e: e[0])
        self._where = {e[1]: (e[2], e[3]) for e in entries}
        if len(self._where) != len(entries):
            raise OutputError("the output holds the same record id twice (parts from different runs?)")
        self.ids: list[str] = [e[1] for e in entries]
        self.parts = len(stores)

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._where

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __getitem__(self, record_id: str) -> dict[str, np.ndarray]:
        try:
            si, _ = self._where[record_id]
        except KeyError:
            raise KeyError(f"no complete record {record_id!r} in this output") from None
        return self._stores[si].load(record_id)

    def info(self, record_id: str) -> dict[str, Any]:
        return dict(self._where[record_id][1])

    def items(self) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
        for rid in self.ids:
            yield rid, self[rid]

    def stack(self, key: str) -> np.ndarray:
        """Stack one fixed-size output (``layer_<L>/mean`` or ``/cls``) of all records, in input order."""
        return np.stack([self[rid][key] for rid in self.ids]) if self.ids else np.zeros((0,), np.float32)

    @property
    def finished(self) -> bool:
        """True when every part reports its run finished."""
        return all(st.read_metadata().get("finished", False) for st in self._stores)

    def close(self) -> None:
        for st in self._stores:
            st.close()

    def __enter__(self) -> "Embeddings":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_embeddings(path: Union[str, Path]) -> Embeddings:
    """Open ``rnalm embed`` output at ``path`` (HDF5 file, npy/pt directory, or its rank parts)."""
    path = Path(path)
    if path.exists():
        return Embeddings([open_store(path)])
    parts = find_parts(path)
    if not parts:
        raise OutputError(f"{path}: no such embedding output (and no {path.name}.rankR-of-W parts)")
    worlds = {w for w, _ in parts.values()}
    if len(worlds) != 1:
        raise OutputError(f"{path}: parts from runs with different world sizes {sorted(worlds)}")
    return Embeddings([open_store(p) for _, (_, p) in sorted(parts.items())])


def read_matrix(
    path: Union[str, Path], layer: Union[int, str] = -1, pool: str = "mean"
) -> tuple[list[str], np.ndarray]:
    """``(ids, X)``: the ids in *input* order and the ``(N, D)`` float32 matrix of one pooled output.

    Reads what ``rnalm embed`` wrote (HDF5 file, ``npy``/``pt`` directory, or the
    ``OUTPUT.rankR-of-W`` parts of a ``torchrun`` run before merging). ``layer`` counts like
    ``--layers`` (0 = embeddings, -1 = the model's last layer); ``pool`` is ``mean`` or ``cls``.
    Row ``i`` of ``X`` is record ``ids[i]``; only complete records are read. For per-token rows
    see :func:`read_per_token`.
    """
    with open_embeddings(path) as emb:
        k = _stored_key(emb, path, layer, pool)
        if k.endswith("/per_token"):
            raise RnalmError(f"{path}: per-token rows differ in length per record; read them with read_per_token")
        dim = int(emb.metadata.get("embed_dim", 0))
        rows = [emb[rid][k] for rid in emb.ids]
        return list(emb.ids), np.stack(rows) if rows else np.zeros((0, dim), np.float32)


def read_per_token(path: Union[str, Path], layer: Union[int, str] = -1) -> tuple[list[str], list[np.ndarray]]:
    """``(ids, arrays)``: ids in input order and, for each, its ``(L_i, D)`` per-token rows (one per
    nucleotide, or codon for mRNA-FM); the output must hold ``--pool per-token`` for ``layer``."""
    with open_embeddings(path) as emb:
        k = _stored_key(emb, path, layer, "per-token")
        return list(emb.ids), [emb[rid][k] for rid in emb.ids]


def _stored_key(emb: Embeddings, path: Union[str, Path], layer: Union[int, str], pool: str) -> str:
    meta = emb.metadata
    return select_key(layer, pool, int(meta["num_layers"]), meta["layers"], meta["pools"], str(path))
