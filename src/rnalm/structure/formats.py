"""Readers and writers for secondary-structure files.

Single-structure formats (all 1-based on disk, 0-based :class:`~rnalm.structure.pairs.Structure`
in memory):

* **ct** (connect table): a header line ``N  title`` then N lines ``i base i-1 i+1 partner i``
  (partner 0 = unpaired). Several structures may follow each other in one file.
* **bpseq**: lines ``i base partner``; ``#`` comment lines anywhere and free-text header lines
  (``Filename: ...``, as RNA STRAND writes) before the first data line are allowed.
* **dot-bracket** (``.dbn``): records of ``>id`` (optional), one sequence line and one structure
  line (a trailing ``(-12.30)`` energy, as RNAfold prints, is ignored). ``#Name: id`` comment
  lines (bpRNA's ``.dbn``) name the next record. Brackets: ``()[]{}<>`` and ``Aa``..``Zz``.

Dataset layouts in ``../shared/data``:

* bpRNA JSON lines: ``{"id", "sequence", "pairs"}`` with 1-based ``[i, j]``, ``i < j``.
* ArchiveII CSV: ``id,sequence,structure,base_pairs,len`` (``base_pairs`` 1-based JSON), and its
  splits CSV ``fold_number,partition,id[,...]``. The family is the id prefix before the first ``_``.

Malformed files raise :class:`StructureFormatError` naming the file and the 1-based line. The
published datasets contain a few impossible pairs (bpRNA VL0 has a base paired with itself), so the
dataset readers can drop such pairs with a warning (``invalid_pairs="drop"``, the default) instead
of refusing the whole file. Writers replace their target atomically.
"""

from __future__ import annotations

import csv
import json
import re
import warnings
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

from rnalm.errors import RnalmError
from rnalm.io.atomic import atomic_write_text
from rnalm.structure.pairs import Structure, StructureError, dot_bracket_to_pairs

PathLike = Union[str, Path]


class StructureFormatError(RnalmError, ValueError):
    """A structure file does not follow its format."""


def _err(path: PathLike, line: Optional[int], msg: str) -> StructureFormatError:
    where = f"{path}:{line}" if line is not None else str(path)
    return StructureFormatError(f"{where}: {msg}")


def _read_lines(path: PathLike) -> list[str]:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().splitlines()
    except FileNotFoundError:
        raise StructureFormatError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise StructureFormatError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None


def _as_list(structures: Union[Structure, Iterable[Structure]]) -> list[Structure]:
    return [structures] if isinstance(structures, Structure) else list(structures)


def _build(path: PathLike, line: int, rid: str, seq: str, pairs0: Sequence[tuple[int, int]]) -> Structure:
    try:
        return Structure(rid, seq, tuple(pairs0))
    except StructureError as exc:
        raise _err(path, line, str(exc)) from None


# --------------------------------------------------------------------------------------- ct
_CT_ENERGY = re.compile(r"^\s*(?:ENERGY|dG)\s*=\s*\S+\s*", re.IGNORECASE)


def read_ct(path: PathLike) -> list[Structure]:
    """All structures in a ct file (usually one)."""
    lines = _read_lines(path)
    out: list[Structure] = []
    k = 0
    while k < len(lines):
        if not lines[k].strip() or lines[k].lstrip().startswith("#"):
            k += 1
            continue
        head_no = k + 1
        fields = lines[k].split(None, 1)
        try:
            n = int(fields[0])
        except ValueError:
            raise _err(path, head_no, f"expected a ct header 'LENGTH title', got {lines[k].strip()[:60]!r}") from None
        if n <= 0:
            raise _err(path, head_no, f"ct header gives length {n}")
        title = _CT_ENERGY.sub("", fields[1]).strip() if len(fields) > 1 else ""
        rid = title.split()[0] if title else (Path(path).stem if not out else f"{Path(path).stem}_{len(out) + 1}")
        bases: list[str] = []
        partners: list[int] = []
        k += 1
        while len(bases) < n:
            if k >= len(lines):
                raise _err(path, k, f"record {rid!r}: file ends after {len(bases)} of {n} ct lines")
            row = lines[k].split()
            k += 1
            if not row:
                continue
            if len(row) < 5:
                raise _err(path, k, f"record {rid!r}: a ct line needs at least 5 columns, got {len(row)}")
            try:
                idx, partner = int(row[0]), int(row[4])
            except ValueError:
                raise _err(
                    path, k, f"record {rid!r}: non-integer index or partner in {lines[k - 1].strip()!r}"
                ) from None
            if idx != len(bases) + 1:
                raise _err(path, k, f"record {rid!r}: expected position {len(bases) + 1}, got {idx}")
            if not 0 <= partner <= n:
                raise _err(path, k, f"record {rid!r}: partner {partner} outside 0..{n}")
            bases.append(row[1])
            partners.append(partner)
        pairs = _pairs_from_partner_column(path, head_no, rid, partners)
        out.append(_build(path, head_no, rid, "".join(bases), pairs))
    if not out:
        raise _err(path, None, "no ct record found")
    return out


def _pairs_from_partner_column(path: PathLike, line: int, rid: str, partners: list[int]) -> list[tuple[int, int]]:
    pairs = []
    for i, p in enumerate(partners, start=1):
        if p == 0:
            continue
        if p == i:
            raise _err(path, line + i, f"record {rid!r}: position {i} is paired with itself")
        if partners[p - 1] != i:
            raise _err(
                path,
                line + i,
                f"record {rid!r}: position {i} names partner {p}, but position {p} names {partners[p - 1]}",
            )
        if i < p:
            pairs.append((i - 1, p - 1))
    return pairs


def format_ct(structure: Structure, title: Optional[str] = None) -> str:
    n = len(structure)
    partners = structure.partners
    lines = [f"{n:>5}  {title if title is not None else structure.id}"]
    for i, base in enumerate(structure.sequence):
        nxt = i + 2 if i + 1 < n else 0
        lines.append(f"{i + 1:>5} {base} {i:>5} {nxt:>5} {int(partners[i]) + 1:>5} {i + 1:>5}")
    return "\n".join(lines) + "\n"


def write_ct(structures: Union[Structure, Iterable[Structure]], path: PathLike) -> Path:
    return atomic_write_text(path, "".join(format_ct(s) for s in _as_list(structures)))


# ------------------------------------------------------------------------------------ bpseq
_BPSEQ_NAME = re.compile(r"^#?\s*(?:Name|Filename)\s*:\s*(\S+)", re.IGNORECASE)


def read_bpseq(path: PathLike) -> Structure:
    """The structure of a bpseq file (one record per file)."""
    lines = _read_lines(path)
    rid: Optional[str] = None
    bases: list[str] = []
    partners: list[int] = []
    first_line: Optional[int] = None
    for no, raw in enumerate(lines, start=1):
        s = raw.strip()
        if not s:
            continue
        if s.startswith("#") or (first_line is None and not s[0].isdigit()):
            m = _BPSEQ_NAME.match(s)
            if m and rid is None:
                rid = m.group(1)
            continue
        row = s.split()
        if len(row) != 3:
            raise _err(path, no, f"a bpseq line is 'index base partner', got {s[:60]!r}")
        try:
            idx, partner = int(row[0]), int(row[2])
        except ValueError:
            raise _err(path, no, f"non-integer index or partner in {s[:60]!r}") from None
        if first_line is None:
            first_line = no
        if idx != len(bases) + 1:
            raise _err(path, no, f"expected position {len(bases) + 1}, got {idx}")
        if partner < 0:
            raise _err(path, no, f"negative partner {partner}")
        bases.append(row[1])
        partners.append(partner)
    if not bases:
        raise _err(path, None, "no bpseq data lines found")
    rid = rid or Path(path).stem
    assert first_line is not None  # set with the first data line
    for i, p in enumerate(partners, start=1):
        if p > len(bases):
            raise _err(path, first_line + i - 1, f"partner {p} is past the sequence end ({len(bases)})")
    pairs = _pairs_from_partner_column(path, first_line - 1, rid, partners)
    return _build(path, first_line, rid, "".join(bases), pairs)


def format_bpseq(structure: Structure) -> str:
    partners = structure.partners
    return "".join(f"{i + 1} {b} {int(partners[i]) + 1}\n" for i, b in enumerate(structure.sequence))


def write_bpseq(structure: Structure, path: PathLike, header: bool = False) -> Path:
    """One record per file, as the format allows; ``header`` adds a ``#Name:`` comment line."""
    text = (f"#Name: {structure.id}\n" if header else "") + format_bpseq(structure)
    return atomic_write_text(path, text)


# -------------------------------------------------------------------------------- dot-bracket
_DBN_NAME = re.compile(r"^#\s*Name\s*:\s*(\S+)", re.IGNORECASE)


def read_dbn(path: PathLike) -> list[Structure]:
    """Records of a dot-bracket file; each is ``[>id]``, a sequence line, a structure line."""
    lines = _read_lines(path)
    out: list[Structure] = []
    pending_id: Optional[str] = None
    cur: Optional[dict] = None

    def finish(c: Optional[dict]) -> None:
        if c is None:
            return
        if len(c["data"]) != 2:
            raise _err(
                path,
                c["line"],
                f"record {c['id']!r}: expected a sequence line and a structure line, got {len(c['data'])} data line(s)",
            )
        (seq_no, seq), (db_no, db) = c["data"]
        db = db.split()[0]
        if len(db) != len(seq):
            raise _err(
                path,
                db_no,
                f"record {c['id']!r}: structure has {len(db)} characters, sequence (line {seq_no}) has {len(seq)}",
            )
        try:
            pairs = dot_bracket_to_pairs(db, c["id"])
        except StructureError as exc:
            raise _err(path, db_no, str(exc)) from None
        out.append(_build(path, db_no, c["id"], seq, pairs))

    for no, raw in enumerate(lines, start=1):
        s = raw.strip()
        if not s:
            continue
        if s.startswith(">"):
            finish(cur)
            rid = s[1:].strip().split()[0] if s[1:].strip() else f"{Path(path).stem}_{len(out) + 1}"
            cur = {"id": rid, "line": no, "data": [], "header": True}
            pending_id = None
            continue
        if s.startswith("#"):
            m = _DBN_NAME.match(s)
            if m:  # bpRNA's "#Name:" starts a new record
                finish(cur)
                cur = None
                pending_id = m.group(1)
            continue
        if cur is not None and cur["header"] and len(cur["data"]) == 2:
            raise _err(
                path,
                no,
                f"record {cur['id']!r}: more than a sequence line and a structure line "
                f"(multi-line sequences are not supported)",
            )
        if cur is None or len(cur["data"]) == 2:
            finish(cur)
            rid = pending_id or (Path(path).stem if not out else f"{Path(path).stem}_{len(out) + 1}")
            cur = {"id": rid, "line": no, "data": [], "header": False}
            pending_id = None
        if not cur["data"] and any(c.isspace() for c in s):
            raise _err(path, no, f"record {cur['id']!r}: whitespace inside the sequence line")
        cur["data"].append((no, s))
    finish(cur)
    if not out:
        raise _err(path, None, "no dot-bracket record found")
    return out


def format_dbn(structure: Structure) -> str:
    return f">{structure.id}\n{structure.sequence}\n{structure.dot_bracket()}\n"


def write_dbn(structures: Union[Structure, Iterable[Structure]], path: PathLike) -> Path:
    return atomic_write_text(path, "".join(format_dbn(s) for s in _as_list(structures)))


# ----------------------------------------------------------------------------- by extension
READERS = {".ct": read_ct, ".bpseq": lambda p: [read_bpseq(p)], ".dbn": read_dbn, ".db": read_dbn}


def read_structures(path: PathLike) -> list[Structure]:
    """Read any of ct / bpseq / dbn, chosen by file extension."""
    ext = Path(path).suffix.lower()
    if ext not in READERS:
        raise StructureFormatError(
            f"{path}: unknown structure file extension {ext!r}; expected one of {', '.join(sorted(READERS))}"
        )
    return READERS[ext](path)


# ------------------------------------------------------------------------------ dataset layouts
def _pairs_1based(path: PathLike, line: int, rid: str, raw, length: int, invalid_pairs: str) -> list[tuple[int, int]]:
    """1-based ``[[i, j], ...]`` -> valid 0-based pairs; impossible pairs raise or are dropped."""
    if not isinstance(raw, list):
        raise _err(path, line, f"record {rid!r}: pairs must be a list of [i, j], got {type(raw).__name__}")
    kept: list[tuple[int, int]] = []
    used: set[int] = set()
    dropped: list[tuple] = []
    for p in raw:
        if not (isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(x, int) for x in p)):
            raise _err(path, line, f"record {rid!r}: malformed pair {p!r} (expected [i, j] integers)")
        i, j = sorted((p[0] - 1, p[1] - 1))
        problem = None
        if i == j:
            problem = "pairs a base with itself"
        elif i < 0 or j >= length:
            problem = f"is outside 1..{length}"
        elif i in used or j in used:
            if (i, j) in kept:
                continue
            problem = "reuses a base already paired"
        if problem:
            if invalid_pairs == "error":
                raise _err(path, line, f"record {rid!r}: pair {list(p)} {problem}")
            dropped.append((tuple(p), problem))
            continue
        used.update((i, j))
        kept.append((i, j))
    if dropped:
        warnings.warn(
            f"{path}:{line}: record {rid!r}: dropped {len(dropped)} impossible pair(s): "
            + "; ".join(f"{list(p)} {why}" for p, why in dropped[:3]),
            stacklevel=3,
        )
    return kept


def _check_invalid_pairs(invalid_pairs: str) -> None:
    if invalid_pairs not in ("drop", "error"):
        raise ValueError(f"invalid_pairs must be 'drop' or 'error', got {invalid_pairs!r}")


def read_bprna_jsonl(path: PathLike, invalid_pairs: str = "drop") -> list[Structure]:
    """bpRNA-style JSON lines ``{"id", "sequence", "pairs"}`` (1-based pairs)."""
    _check_invalid_pairs(invalid_pairs)
    out: list[Structure] = []
    for no, raw in enumerate(_read_lines(path), start=1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _err(path, no, f"invalid JSON ({exc.msg})") from None
        if not isinstance(rec, dict) or not {"id", "sequence", "pairs"} <= rec.keys():
            raise _err(path, no, 'expected an object with keys "id", "sequence", "pairs"')
        rid, seq = str(rec["id"]), rec["sequence"]
        if not isinstance(seq, str) or not seq:
            raise _err(path, no, f"record {rid!r}: empty or non-string sequence")
        pairs = _pairs_1based(path, no, rid, rec["pairs"], len(seq), invalid_pairs)
        out.append(_build(path, no, rid, seq, pairs))
    return out


ARCHIVEII_COLUMNS = ("id", "sequence", "structure", "base_pairs", "len")


def archiveii_family(record_id: str) -> str:
    """ArchiveII family from an id such as ``5s_Acholeplasma-laidlawii-1`` (-> ``5s``)."""
    return record_id.split("_", 1)[0]


def read_archiveii_csv(path: PathLike, invalid_pairs: str = "drop", check_structure: bool = True) -> list[Structure]:
    """ArchiveII CSV. Pairs come from ``base_pairs``; with ``check_structure`` the dot-bracket
    column must describe the same pairs (a mismatch is an error, not a silent choice)."""
    _check_invalid_pairs(invalid_pairs)
    out: list[Structure] = []
    try:
        fh = open(path, newline="", encoding="utf-8")
    except FileNotFoundError:
        raise StructureFormatError(f"{path}: no such file") from None
    with fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ARCHIVEII_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise _err(path, 1, f"missing column(s) {missing}; expected {','.join(ARCHIVEII_COLUMNS)}")
        for row in reader:
            no = reader.line_num
            rid, seq = row["id"], row["sequence"]
            if not seq:
                raise _err(path, no, f"record {rid!r}: empty sequence")
            try:
                declared = int(row["len"])
            except (TypeError, ValueError):
                raise _err(path, no, f"record {rid!r}: len {row['len']!r} is not an integer") from None
            if declared != len(seq):
                raise _err(path, no, f"record {rid!r}: len says {declared}, sequence has {len(seq)}")
            try:
                raw = json.loads(row["base_pairs"])
            except (TypeError, json.JSONDecodeError):
                raise _err(path, no, f"record {rid!r}: base_pairs is not JSON") from None
            pairs = _pairs_1based(path, no, rid, raw, len(seq), invalid_pairs)
            s = _build(path, no, rid, seq, pairs)
            if check_structure:
                db = row["structure"] or ""
                if len(db) != len(seq):
                    raise _err(path, no, f"record {rid!r}: structure has {len(db)} characters, sequence {len(seq)}")
                try:
                    db_pairs = dot_bracket_to_pairs(db, rid)
                except StructureError as exc:
                    raise _err(path, no, str(exc)) from None
                if sorted(db_pairs) != list(s.pairs):
                    raise _err(
                        path,
                        no,
                        f"record {rid!r}: the structure column and base_pairs disagree "
                        f"({len(db_pairs)} vs {len(s.pairs)} pairs)",
                    )
            out.append(s)
    return out


def read_archiveii_splits(path: PathLike) -> dict[int, dict[str, list[str]]]:
    """``{fold_number: {partition: [ids]}}`` from ``fold_number,partition,id[,...]``."""
    out: dict[int, dict[str, list[str]]] = {}
    try:
        fh = open(path, newline="", encoding="utf-8")
    except FileNotFoundError:
        raise StructureFormatError(f"{path}: no such file") from None
    with fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("fold_number", "partition", "id") if c not in (reader.fieldnames or [])]
        if missing:
            raise _err(path, 1, f"missing column(s) {missing}; expected fold_number,partition,id")
        for row in reader:
            try:
                fold = int(row["fold_number"])
            except (TypeError, ValueError):
                raise _err(path, reader.line_num, f"fold_number {row['fold_number']!r} is not an integer") from None
            if not row["partition"] or not row["id"]:
                raise _err(path, reader.line_num, "empty partition or id")
            out.setdefault(fold, {}).setdefault(row["partition"], []).append(row["id"])
    return out


__all__ = [
    "StructureFormatError",
    "read_ct",
    "write_ct",
    "format_ct",
    "read_bpseq",
    "write_bpseq",
    "format_bpseq",
    "read_dbn",
    "write_dbn",
    "format_dbn",
    "read_structures",
    "read_bprna_jsonl",
    "read_archiveii_csv",
    "read_archiveii_splits",
    "archiveii_family",
]
