"""Record ids as file and storage names: one mapping for every command that writes per-record files.

Ids come from user files and may hold anything: ``/`` (an HDF5 path separator and a directory
separator), ``..``, control characters, or hundreds of characters. :func:`record_name` maps an
id to a name that is safe both as an HDF5 group and as a file name, reversibly (percent
escaping of the few unsafe characters only, so ordinary ids keep their names: ``a/b`` becomes
``a%2Fb`` in ``rnalm fold``'s files and in ``rnalm embed``'s alike); over-long names are shortened
with a hash suffix. The original id is always stored next to the data.
"""

from __future__ import annotations

import hashlib
from typing import Optional

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
    """File stem of a record id: :func:`record_name` capped at :data:`MAX_FILE_NAME_BYTES`."""
    return record_name(record_id, MAX_FILE_NAME_BYTES)


__all__ = ["MAX_FILE_NAME_BYTES", "file_name", "record_name"]
