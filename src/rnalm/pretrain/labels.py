"""Secondary-structure labels for UTR-LM-style supervision: MFE and dot-bracket per sequence.

Labels come from ViennaRNA (the ``RNA`` module of the ``ViennaRNA`` PyPI package), computed in
worker processes and cached in an SQLite file keyed by the sequence's sha256, so a second epoch or
a second run never folds a sequence again; or from UTR-LM-style FASTA headers ``>id|structure|mfe``.
Invalid labels (wrong length, foreign characters, unparsable MFE) are reported and masked from the
loss -- never replaced by zeros.
"""

from __future__ import annotations

import hashlib
import sqlite3
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence

from rnalm.errors import RnalmError

#: UTR-LM's per-token structure classes.
STRUCTURE_CLASSES = ("(", ".", ")")
STRUCTURE_INDEX = {c: i for i, c in enumerate(STRUCTURE_CLASSES)}


@dataclass(frozen=True)
class StructureLabel:
    structure: str
    mfe: float


def _require_vienna():
    try:
        import RNA  # noqa: F401
    except ImportError as exc:
        raise RnalmError(
            "structure labels need ViennaRNA, a dependency of rnalm missing from this installation: "
            "reinstall rnalm (pip install --force-reinstall rnalm)"
        ) from exc
    return RNA


def fold_one(seq: str) -> tuple[str, float]:
    """MFE structure of ``seq`` (DNA letters are folded as RNA)."""
    RNA = _require_vienna()
    structure, mfe = RNA.fold(seq.upper().replace("T", "U"))
    return structure, float(mfe)


def validate_label(seq: str, label: StructureLabel) -> Optional[str]:
    """Why ``label`` is unusable for ``seq``, or None if it is fine."""
    if len(label.structure) != len(seq):
        return f"structure has {len(label.structure)} characters for a {len(seq)}-nt sequence"
    bad = set(label.structure) - set(STRUCTURE_CLASSES)
    if bad:
        return f"structure has characters {''.join(sorted(bad))} outside '(.)'"
    if label.mfe != label.mfe or abs(label.mfe) == float("inf"):
        return "MFE is not finite"
    return None


def parse_header(header: str) -> Optional[StructureLabel]:
    """Labels from a UTR-LM-style header ``id|structure|mfe``; None when the header has none."""
    parts = header.split("|")
    if len(parts) < 3:
        return None
    try:
        mfe = float(parts[-1])
    except ValueError:
        return StructureLabel(parts[-2], float("nan"))
    return StructureLabel(parts[-2], mfe)


def seq_key(seq: str) -> str:
    return hashlib.sha256(seq.upper().replace("T", "U").encode()).hexdigest()


@dataclass
class LabelStats:
    cache_hits: int = 0
    folded: int = 0
    from_header: int = 0
    invalid: int = 0
    invalid_examples: list[str] = field(default_factory=list)


class LabelCache:
    """SQLite map ``sha256(sequence) -> (structure, mfe)``; safe for concurrent readers."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), timeout=60)
        self._db.execute("CREATE TABLE IF NOT EXISTS labels (key TEXT PRIMARY KEY, structure TEXT, mfe REAL)")
        self._db.commit()

    def get_many(self, keys: Sequence[str]) -> dict[str, StructureLabel]:
        out = {}
        for i in range(0, len(keys), 500):
            chunk = list(keys[i : i + 500])
            q = f"SELECT key, structure, mfe FROM labels WHERE key IN ({','.join('?' * len(chunk))})"
            for k, s, m in self._db.execute(q, chunk):
                out[k] = StructureLabel(s, m)
        return out

    def put_many(self, items: Iterable[tuple[str, StructureLabel]]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO labels VALUES (?, ?, ?)", [(k, v.structure, v.mfe) for k, v in items]
        )
        self._db.commit()

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM labels").fetchone()[0]

    def close(self) -> None:
        self._db.close()


def compute_labels(
    seqs: Sequence[str],
    cache: Optional[LabelCache],
    processes: int = 1,
    header_labels: Optional[Sequence[Optional[StructureLabel]]] = None,
    stats: Optional[LabelStats] = None,
    ids: Optional[Sequence[str]] = None,
) -> list[Optional[StructureLabel]]:
    """A label per sequence (None where invalid); header labels win over folding."""
    stats = stats if stats is not None else LabelStats()
    out: list[Optional[StructureLabel]] = [None] * len(seqs)
    todo: list[int] = []
    for i, seq in enumerate(seqs):
        h = header_labels[i] if header_labels is not None else None
        if h is not None:
            stats.from_header += 1
            out[i] = h
        else:
            todo.append(i)
    if todo:
        keys = [seq_key(seqs[i]) for i in todo]
        cached = cache.get_many(keys) if cache is not None else {}
        missing = [(i, k) for i, k in zip(todo, keys) if k not in cached]
        stats.cache_hits += len(todo) - len(missing)
        for i, k in zip(todo, keys):
            if k in cached:
                out[i] = cached[k]
        if missing:
            _require_vienna()
            to_fold = [seqs[i] for i, _ in missing]
            if processes > 1 and len(to_fold) > 16:
                with ProcessPoolExecutor(processes) as pool:
                    folded = list(pool.map(fold_one, to_fold, chunksize=max(1, len(to_fold) // (processes * 8))))
            else:
                folded = [fold_one(s) for s in to_fold]
            new = [(k, StructureLabel(s, m)) for (_, k), (s, m) in zip(missing, folded)]
            if cache is not None:
                cache.put_many(new)
            for (i, _), (_, lab) in zip(missing, new):
                out[i] = lab
            stats.folded += len(new)
    for i, label in enumerate(out):
        if label is None:
            continue
        why = validate_label(seqs[i], label)
        if why:
            stats.invalid += 1
            if len(stats.invalid_examples) < 5:
                stats.invalid_examples.append(f"{ids[i] if ids else i}: {why}")
            out[i] = None
    return out
