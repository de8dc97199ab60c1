"""Record ids to storage names, and the file names of per-rank parts.

Ids come from user files and may hold anything: ``/`` (an HDF5 path separator and a directory
separator), ``..``, control characters, or hundreds of characters. :func:`record_name` maps an
id to a name that is safe both as an HDF5 group and as a file name, reversibly (percent
escaping of the few unsafe characters only, so ordinary ids keep their names); over-long names
are shortened with a hash suffix. The original id is always stored next to the data.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Optional

from rnalm.errors import RnalmError

#: Characters escaped in names: the escape character itself and path separators.
_ESCAPE = set("%/\\")
#: Longest file name we produce, in bytes, leaving room for suffixes under the usual 255 limit.
MAX_FILE_NAME_BYTES = 200


def _escape_char(c: str) -> str:
    if c in _ESCAPE or ord(c) < 32 or ord(c) == 127:
        return "".join(f"%{b:02X}" for b in c.encode("utf-8"))
    return c


def record_name(record_id: str, max_bytes: Optional[int] = None) -> str:
    """Storage name of a record id (HDF5 group name, or file stem with ``max_bytes`` set)."""
    name = "".join(_escape_char(c) for c in record_id)
    if name in (".", ".."):
        name = name.replace(".", "%2E")
    if max_bytes is not None and len(name.encode("utf-8")) > max_bytes:
        digest = hashlib.blake2b(record_id.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
        keep = name.encode("utf-8")[: max_bytes - 17].decode("utf-8", "ignore")
        name = f"{keep}~{digest}"
    return name


def file_name(record_id: str) -> str:
    return record_name(record_id, MAX_FILE_NAME_BYTES)


# ------------------------------------------------------------------------------ ranks and parts
_PART = re.compile(r"\.rank(\d+)-of-(\d+)$")


def rank_from_env() -> tuple[int, int]:
    """``(rank, world_size)`` from torchrun's environment (``RANK``/``WORLD_SIZE``), else ``(0, 1)``."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
    except ValueError as exc:
        raise RnalmError(f"RANK/WORLD_SIZE must be integers: {exc}") from exc
    if world < 1 or not 0 <= rank < world:
        raise RnalmError(f"invalid RANK={rank} for WORLD_SIZE={world}")
    return rank, world


def part_path(output: Path, rank: int, world_size: int) -> Path:
    """Where rank ``rank`` of ``world_size`` writes: ``OUTPUT.rankR-of-W`` (``OUTPUT`` itself if alone)."""
    if world_size == 1:
        return output
    return output.with_name(f"{output.name}.rank{rank}-of-{world_size}")


def find_parts(output: Path) -> dict[int, tuple[int, Path]]:
    """The per-rank parts next to ``output``: ``{rank: (world_size, path)}``."""
    parts: dict[int, tuple[int, Path]] = {}
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        return parts
    prefix = output.name + ".rank"
    for p in parent.iterdir():
        if not p.name.startswith(prefix):
            continue
        m = _PART.search(p.name)
        if m and p.name[: m.start()] == output.name:
            parts[int(m.group(1))] = (int(m.group(2)), p)
    return parts
