"""ViennaRNA base-pair probabilities as an input channel of the pairwise head (``structure.vienna_bpp``).

:func:`vienna_bpp` is the equilibrium base-pair probability matrix of one sequence, computed
as the ViennaRNA baseline's ``RNAfold -p`` computes it (default energy parameters, Turner 2004, 37 C;
T read as U, N and other letters never pair) but without the MFE that only sets the partition
function's scale (:func:`rnalm.structure.vienna.vienna_pair_probs`: the same float16-stored maps),
returned as a 0-based symmetric ``(L, L)`` float32 array with a zero diagonal.

:class:`PairProbabilities` serves them to the feature batches: each unique sequence is folded once
per run and kept in memory (the strict upper triangle in float16, so training, evaluation and
``rnalm fold --model`` all see the same rounded values), optionally backed by an on-disk cache of
``.npy`` files keyed by the ViennaRNA version and the sequence (a second run, seed or head reads
them back instead of refolding).

``params`` (``structure.vienna_params``) names the energy parameter sets to fold under
(:data:`rnalm.structure.vienna.ENERGY_PARAMETERS`): one map per sequence and set. With one set
:meth:`PairProbabilities.batch` gives ``(B, L, L)`` maps, as it always has; with ``K`` sets
``(B, K, L, L)``, in the order named. The default set's cache key is the one it has always been (the
caches written before other sets existed stay valid); another set's key holds its name.

With ``workers`` (``rnalm fold``), :meth:`PairProbabilities.prefetch` hands sequences to that many
worker processes, which fold them while the calling process runs the model on earlier ones: the
cores are split between ViennaRNA (one process per worker, one thread each) and torch (one thread:
:mod:`rnalm.runs.threads`) instead of both fighting for the same cores. The workers are forked
when the provider is made, before the calling process has run ViennaRNA or a torch computation,
and compute exactly what the calling process would (the same function, the same library). When
the model needs a map no worker has started yet, the calling process folds it itself instead of
waiting (ViennaRNA is then on every core; the maps are the same whoever folds them). Training
folds in the calling process (``workers=0``).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

import numpy as np
import torch

from rnalm.errors import RnalmError
from rnalm.io.npycache import load_cached_npy, save_cached_npy
from rnalm.structure.pairs import normalize_rna
from rnalm.structure.vienna import DEFAULT_ENERGY_PARAMETERS, ENERGY_PARAMETERS, vienna_pair_probs

#: Stored precision (memory and disk): probabilities to ~3 significant digits.
STORE_DTYPE = np.float16


def import_rna_for_bpp():
    try:
        import RNA
    except ImportError:
        raise RnalmError(
            "structure.vienna_bpp=true needs ViennaRNA, a dependency of rnalm missing from this installation: "
            "reinstall rnalm (pip install --force-reinstall rnalm)"
        ) from None
    return RNA


#: The parameter sets of a provider made without ``params``: ViennaRNA's default alone.
DEFAULT_PARAMS: tuple[str, ...] = (DEFAULT_ENERGY_PARAMETERS,)


def vienna_bpp(sequence: str, params: str = DEFAULT_ENERGY_PARAMETERS) -> np.ndarray:
    """``(L, L)`` symmetric float32 base-pair probabilities (0-based, zero diagonal) of ``sequence``
    under energy parameter set ``params``."""
    import_rna_for_bpp()
    return vienna_pair_probs(sequence, params=params)


def _pack(p: np.ndarray) -> np.ndarray:
    return p[np.triu_indices(p.shape[0], 1)].astype(STORE_DTYPE)


def packed_bpp(sequence: str, params: Sequence[str] = DEFAULT_PARAMS) -> dict[str, np.ndarray]:
    """The stored form of :func:`vienna_bpp` under each set of ``params``: the strict upper
    triangle in float16 (a worker's job: every set a sequence still needs, in one task)."""
    return {name: _pack(vienna_bpp(sequence, name)) for name in params}


def check_params(params: Sequence[str]) -> tuple[str, ...]:
    """``params`` as a tuple, or an error naming what is wrong (``structure.vienna_params``)."""
    names = tuple(params)
    if not names:
        raise RnalmError(f"no ViennaRNA energy parameter set given; choose from {list(ENERGY_PARAMETERS)}")
    unknown = [n for n in names if n not in ENERGY_PARAMETERS]
    if unknown:
        raise RnalmError(
            f"unknown ViennaRNA energy parameter set(s) {unknown} (structure.vienna_params); "
            f"choose from {list(ENERGY_PARAMETERS)}"
        )
    if len(set(names)) != len(names):
        raise RnalmError(f"ViennaRNA energy parameter sets {list(names)} (structure.vienna_params) name one twice")
    return names


def available_cores() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def spare_cores() -> int:
    """Cores this process may use, less one for the model: how many ViennaRNA workers to start."""
    return max(1, available_cores() - 1)


def _unpack(v: np.ndarray, n: int, out: np.ndarray) -> None:
    """Write the symmetric map of packed ``v`` into ``out[:n, :n]`` (float32, zero diagonal)."""
    i, j = np.triu_indices(n, 1)
    out[i, j] = v
    out[j, i] = v


class BppDiskCache:
    """``<root>/vienna-<version>/bpp/<key[:2]>/<key>.npy``: packed upper triangles (float16),
    keyed by sha256 of the ViennaRNA version, the parameter set and the RNA sequence; written
    atomically. The default set's key leaves its name out, as before other sets existed."""

    def __init__(self, root: str | Path, version: str) -> None:
        self.version = version
        self.dir = Path(root) / f"vienna-{version}" / "bpp"

    def key(self, seq: str, params: str = DEFAULT_ENERGY_PARAMETERS) -> str:
        text = f"{self.version}|{seq}" if params == DEFAULT_ENERGY_PARAMETERS else f"{self.version}|{params}|{seq}"
        return hashlib.sha256(text.encode()).hexdigest()

    def _path(self, seq: str, params: str) -> Path:
        k = self.key(seq, params)
        return self.dir / k[:2] / f"{k}.npy"

    def get(self, seq: str, params: str = DEFAULT_ENERGY_PARAMETERS) -> Optional[np.ndarray]:
        v = load_cached_npy(self._path(seq, params))
        n = len(seq)
        return v if v is not None and v.shape == (n * (n - 1) // 2,) else None

    def put(self, seq: str, value: np.ndarray, params: str = DEFAULT_ENERGY_PARAMETERS) -> None:
        save_cached_npy(self._path(seq, params), value)


class PairProbabilities:
    """Base-pair probability maps of sequences, folded once each; :meth:`batch` pads with zeros.

    ``cache_root``: directory of the on-disk cache (``None``: memory only); ``workers``: processes
    that fold what :meth:`prefetch` is given (0: everything is folded in the calling process);
    ``params``: the energy parameter sets, one map each (``computed`` and ``from_cache`` count maps).
    """

    def __init__(
        self, cache_root: Optional[str | Path] = None, workers: int = 0, params: Sequence[str] = DEFAULT_PARAMS
    ) -> None:
        RNA = import_rna_for_bpp()
        self.params = check_params(params)
        self.version = str(RNA.__version__)
        self.disk = BppDiskCache(cache_root, self.version) if cache_root is not None else None
        #: sequence -> ``(K, L (L - 1) / 2)`` packed maps, one row per set of ``params``
        self.packed: dict[str, np.ndarray] = {}
        self.pending: dict[str, Future] = {}
        self.computed = 0
        #: of those computed, folded by the calling process although a worker had them (not started)
        self.taken_back = 0
        self.from_cache = 0
        self.pool: Optional[ProcessPoolExecutor] = None
        self.workers = 0
        if workers > 0 and "fork" in multiprocessing.get_all_start_methods():
            # forked now, while nothing has run in this process yet; a fork start needs no re-import
            self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
            self.pool.submit(os.getpid).result()
            self.workers = workers

    def clear(self) -> None:
        """Forget the maps folded so far (those handed to the workers and not yet read stay)."""
        self.packed.clear()

    def prefetch(self, seqs: Iterable[str]) -> None:
        """Start folding ``seqs`` in the workers (in this order); :meth:`ensure` collects them. Without
        workers, or for sequences in the disk cache, nothing is started."""
        if self.pool is None:
            return
        for s in dict.fromkeys(normalize_rna(s) for s in seqs):
            if s in self.packed or s in self.pending:
                continue
            missing = self._not_on_disk(s)
            if missing:
                self.pending[s] = self.pool.submit(packed_bpp, s, missing)

    def _not_on_disk(self, seq: str) -> list[str]:
        """The sets of ``params`` whose map of ``seq`` the disk cache lacks (all of them without one)."""
        if self.disk is None:
            return list(self.params)
        return [name for name in self.params if self.disk.get(seq, name) is None]

    def close(self) -> None:
        """Stop the workers (pending work is dropped)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
            self.workers = 0
        self.pending.clear()

    def ensure(self, seqs: Iterable[str], log: Optional[Callable[[str], None]] = None) -> None:
        """Fold every sequence not yet in memory (or read it from the disk cache)."""
        todo = [s for s in dict.fromkeys(normalize_rna(s) for s in seqs) if s not in self.packed]
        t0, last = time.time(), time.time()
        for k, s in enumerate(todo):
            self.packed[s] = self._maps_of(s)
            if log is not None and time.time() - last > 30:
                last = time.time()
                log(f"ViennaRNA base-pair probabilities: {k + 1}/{len(todo)} ({last - t0:.0f}s)")

    def _maps_of(self, seq: str) -> np.ndarray:
        """``(K, L (L - 1) / 2)`` packed maps of ``seq``: each set's from the disk cache, else from a
        worker's job, else folded here (and then written to the disk cache)."""
        maps = {}
        for name in self.params:
            v = self.disk.get(seq, name) if self.disk is not None else None
            if v is not None:
                maps[name] = v
        self.from_cache += len(maps)
        job = self.pending.pop(seq, None)
        missing = [name for name in self.params if name not in maps]
        if missing:
            if job is not None and not job.done() and job.cancel():
                job = None  # no worker has started it: fold it here rather than wait idle
                self.taken_back += 1
            folded = job.result() if job is not None else {}
            for name in missing:
                v = folded[name] if name in folded else _pack(vienna_bpp(seq, name))
                if self.disk is not None:
                    self.disk.put(seq, v, name)
                maps[name] = v
            self.computed += len(missing)
        return np.stack([maps[name] for name in self.params])

    @property
    def maps(self) -> int:
        """Maps per sequence: one per parameter set."""
        return len(self.params)

    def matrix(self, seq: str) -> np.ndarray:
        """``(L, L)`` float32 map of one sequence (as stored: float16-rounded); ``(K, L, L)`` with
        ``K`` > 1 parameter sets."""
        s = normalize_rna(seq)
        self.ensure([s])
        out = np.zeros((self.maps, len(s), len(s)), dtype=np.float32)
        for m in range(self.maps):
            _unpack(self.packed[s][m], len(s), out[m])
        return out[0] if self.maps == 1 else out

    def batch(self, seqs: Sequence[str], width: Optional[int] = None) -> torch.Tensor:
        """``(B, W, W)`` float32 maps, each sequence's in the top-left corner, zeros elsewhere;
        ``(B, K, W, W)`` with ``K`` > 1 parameter sets (in the order of ``params``)."""
        norm = [normalize_rna(s) for s in seqs]
        self.ensure(norm)
        width = max(len(s) for s in norm) if width is None else width
        shape = (len(norm), width, width) if self.maps == 1 else (len(norm), self.maps, width, width)
        out = np.zeros(shape, dtype=np.float32)
        each = out[:, None] if self.maps == 1 else out  # B, K, W, W either way
        for b, s in enumerate(norm):
            for m in range(self.maps):
                _unpack(self.packed[s][m], len(s), each[b, m])
        return torch.from_numpy(out)


__all__ = [
    "DEFAULT_PARAMS",
    "BppDiskCache",
    "check_params",
    "PairProbabilities",
    "import_rna_for_bpp",
    "available_cores",
    "packed_bpp",
    "spare_cores",
    "vienna_bpp",
]
