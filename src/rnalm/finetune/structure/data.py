"""Structure datasets for ``rnalm finetune`` (``task: structure``): the ``structure`` data loader.

``data.train`` / ``data.valid`` / ``data.test`` may each be:

* a ``.ct``, ``.bpseq``, ``.dbn`` / ``.db`` file (:func:`~rnalm.structure.formats.read_structures`);
* bpRNA-style JSON lines (``.jsonl`` / ``.json``: ``{"id", "sequence", "pairs"}``, 1-based pairs);
* an ArchiveII CSV (``.csv``: ``id,sequence,structure,base_pairs,len``);
* a folder: every file above in it (sorted by name; not recursive).

The structures become :class:`~rnalm.runs.table.Records` whose labels are the
:class:`~rnalm.structure.pairs.Structure` objects, so the fine-tuning runner splits, folds and
reports them like any other labelled rows. ``data.max_length`` drops longer structures (counted in
the run's notes, never truncated: a cut structure would be wrong). ``data.options``:

* ``group``: ``none`` (default) or ``family`` -- rows of one ArchiveII family (the id prefix before
  the first ``_``) stay in one fold / split, so ``cv.folds`` tests on unseen families;
* ``subset``: ``auto`` (default) reports metrics per ArchiveII family or per bpRNA source database
  (``bpRNA_RFAM_1`` -> ``RFAM``), ``none`` does not;
* ``splits`` + ``fold``: the published ArchiveII ``ArchiveII_splits.csv``; its ``train`` / ``valid``
  / ``test`` partitions of fold ``fold`` become the three splits (``data.train`` is the ArchiveII CSV);
* ``invalid_pairs``: ``drop`` (default; impossible pairs in the published files are dropped and
  counted) or ``error``;
* ``limit``: keep only the first N structures of each file (after the length filter; smoke tests).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional

from rnalm.finetune.data.loaders import DataBundle, loader_options, required_path, required_records
from rnalm.runs.config import DataConfig
from rnalm.runs.errors import ConfigError, DataError
from rnalm.runs.table import Records
from rnalm.structure.formats import (
    READERS,
    archiveii_family,
    read_archiveii_csv,
    read_archiveii_splits,
    read_bprna_jsonl,
    read_structures,
)
from rnalm.structure.pairs import Structure

JSONL_EXT = (".jsonl", ".json")
CSV_EXT = (".csv",)
STRUCTURE_EXT = tuple(sorted(set(READERS) | set(JSONL_EXT) | set(CSV_EXT)))
OPTIONS = {"group": "none", "subset": "auto", "splits": None, "fold": 0, "invalid_pairs": "drop", "limit": None}


def _read_file(path: Path, invalid_pairs: str) -> list[Structure]:
    ext = path.suffix.lower()
    if ext in JSONL_EXT:
        return read_bprna_jsonl(path, invalid_pairs)
    if ext in CSV_EXT:
        return read_archiveii_csv(path, invalid_pairs)
    return read_structures(path)


def read_structure_source(path: Path, invalid_pairs: str = "drop") -> tuple[list[Structure], list[str], list[str]]:
    """``(structures, where, notes)`` from a file or a folder of files (see the module docstring)."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in STRUCTURE_EXT)
        if not files:
            raise DataError(f"{path}: no structure files in this folder (expected {', '.join(STRUCTURE_EXT)})")
    elif path.is_file():
        files = [path]
    else:
        raise DataError(f"{path}: no such file or folder")
    out: list[Structure] = []
    where: list[str] = []
    notes: list[str] = []
    for f in files:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            structs = _read_file(f, invalid_pairs)
        dropped = [w for w in caught if "impossible pair" in str(w.message)]
        for w in caught:
            if w not in dropped:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if dropped:
            notes.append(
                f"{f.name}: impossible pairs dropped in {len(dropped)} record(s) (data.options.invalid_pairs=drop)"
            )
        out += structs
        where += [f"{f.name}: record {s.id!r}" for s in structs]
    if not out:
        raise DataError(f"{path}: no structures found")
    return out, where, notes


def _source_db(record_id: str) -> Optional[str]:
    parts = record_id.split("_")
    return parts[1] if len(parts) >= 3 and parts[0] == "bpRNA" else None


def to_records(structs: list[Structure], where: list[str], group: str, subset: str, archiveii: bool) -> Records:
    recs = Records()
    subsets = []
    for s, w in zip(structs, where):
        recs.append(s.id, s.sequence, s, w, group=archiveii_family(s.id) if group == "family" else None)
        subsets.append(archiveii_family(s.id) if archiveii else _source_db(s.id))
    if subset == "auto" and any(v is not None for v in subsets):
        recs.extra["subset"] = [v if v is not None else "other" for v in subsets]
    return recs


def _filter(
    structs: list[Structure],
    where: list[str],
    max_length: Optional[int],
    limit: Optional[int],
    name: str,
    notes: list[str],
) -> tuple[list[Structure], list[str]]:
    if max_length is not None:
        keep = [k for k, s in enumerate(structs) if len(s) <= max_length]
        if len(keep) < len(structs):
            notes.append(
                f"{name}: skipped {len(structs) - len(keep)} of {len(structs)} structures longer than "
                f"data.max_length={max_length} nt"
            )
        if not keep:
            raise DataError(f"{name}: all {len(structs)} structures are longer than data.max_length={max_length}")
        structs, where = [structs[k] for k in keep], [where[k] for k in keep]
    if limit is not None and len(structs) > limit:
        notes.append(f"{name}: kept the first {limit} of {len(structs)} structures (data.options.limit)")
        structs, where = structs[:limit], where[:limit]
    return structs, where


def load_structures(cfg: DataConfig, task: str) -> DataBundle:
    """Secondary-structure files -> a :class:`DataBundle` whose labels are :class:`Structure` objects."""
    o = loader_options(cfg, OPTIONS)
    if task != "structure":
        raise ConfigError("data.loader=structure reads secondary structures: set task=structure")
    if o["group"] not in ("none", "family"):
        raise ConfigError(f"data.options.group={o['group']!r} must be 'none' or 'family'")
    if o["subset"] not in ("auto", "none"):
        raise ConfigError(f"data.options.subset={o['subset']!r} must be 'auto' or 'none'")
    if o["invalid_pairs"] not in ("drop", "error"):
        raise ConfigError(f"data.options.invalid_pairs={o['invalid_pairs']!r} must be 'drop' or 'error'")
    if o["limit"] is not None and (not isinstance(o["limit"], int) or o["limit"] < 1):
        raise ConfigError(f"data.options.limit={o['limit']!r} must be a positive integer")
    notes: list[str] = []

    def read(value: Optional[str], name: str) -> Optional[Records]:
        if not value:
            return None
        path = required_path(value)
        structs, where, n = read_structure_source(path, o["invalid_pairs"])
        notes.extend(n)
        structs, where = _filter(structs, where, cfg.max_length, o["limit"], name, notes)
        archiveii = path.is_file() and path.suffix.lower() in CSV_EXT
        return to_records(structs, where, o["group"], o["subset"], archiveii)

    if o["splits"]:
        return _published_splits(cfg, o, read, notes)
    return DataBundle(
        required_records(read(cfg.train, "train")),
        read(cfg.valid, "valid"),
        read(cfg.test, "test"),
        label_name="base pairs",
        notes=notes,
    )


def _published_splits(cfg: DataConfig, o: dict, read, notes: list[str]) -> DataBundle:
    if cfg.valid or cfg.test:
        raise ConfigError(
            "data.options.splits takes train/valid/test from the splits file; drop data.valid / data.test"
        )
    splits = read_archiveii_splits(required_path(o["splits"]))
    if o["fold"] not in splits:
        raise ConfigError(f"data.options.fold={o['fold']!r} is not a fold of {o['splits']} ({sorted(splits)})")
    parts = splits[o["fold"]]
    if "train" not in parts or "test" not in parts:
        raise DataError(f"{o['splits']}: fold {o['fold']} has partitions {sorted(parts)}; expected train and test")
    allrecs = read(cfg.train, "data.train")
    index = {rid: k for k, rid in enumerate(allrecs.ids)}
    out = {}
    for name in ("train", "valid", "test"):
        ids = parts.get(name, [])
        found = [index[i] for i in ids if i in index]
        if ids and len(found) < len(ids):
            notes.append(
                f"published split fold {o['fold']} {name}: {len(ids) - len(found)} of {len(ids)} ids not in "
                f"data.train (removed or over data.max_length)"
            )
        out[name] = allrecs.subset(found) if found else None
    if out["train"] is None or out["test"] is None:
        raise DataError(f"published split fold {o['fold']}: no training or no test structures left")
    notes.append(
        f"published ArchiveII split, fold {o['fold']}: {len(out['train'])} train, "
        f"{len(out['valid']) if out['valid'] else 0} valid, {len(out['test'])} test"
    )
    return DataBundle(out["train"], out["valid"], out["test"], label_name="base pairs", notes=notes)


__all__ = ["OPTIONS", "STRUCTURE_EXT", "load_structures", "read_structure_source", "to_records"]
