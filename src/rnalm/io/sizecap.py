"""A size cap on compressed inputs before anything is inflated (decompression bombs).

Two formats rnalm reads are zip archives: PyTorch checkpoints (``torch.save`` since 1.6) and the
feature baseline's ``model.skops``. A few hundred kilobytes of deflated zeros inflate to gigabytes,
so :func:`check_zip_inflation` reads only the central directory and refuses an archive whose
members declare more uncompressed bytes than ``max(MAX_INFLATION_RATIO x archive size,
INFLATION_FLOOR_BYTES)``.

Why a check on *declared* sizes suffices: both readers inflate a member into the size its
directory entry declares and no further -- Python's ``zipfile`` stops at ``file_size`` and then
fails the CRC check, PyTorch's reader (miniz) extracts into a buffer of the declared size and stops
there. A member whose header lies (small declared size, huge stream) is therefore never inflated
past its declared size (tests/io/test_safe_torch.py measures this). PyTorch does not check the
CRC, so it would take such a member's declared prefix as data: compressed
members (written neither by ``torch.save`` nor by skops as rnalm calls it) are therefore read once
here, in bounded chunks, and their CRC checked, which refuses a lying header instead of reading a
truncated stream.

HDF5 datasets are the same risk (a gzip-filtered or never-written dataset of declared shape
(10**6, 10**6) reads as that many bytes): :func:`check_declared_size` applies the same limit to the
sum of their declared sizes (ProtRNA's Keras weights, stored uncompressed).

Why these limits: ``torch.save`` stores members uncompressed (ratio 1.0); rnalm's feature models
are deflated skops archives (:data:`rnalm.runs.feature_file.COMPRESSION`; the shipped MRL model's
trees declare 2.1 MB in a 0.69 MB file, ratio about 3; before that they were stored, ratio 0.95). A
ratio of 20 with a 64 MiB floor leaves room for such files while refusing bombs (a typical one:
ratio ~1000).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Union

from rnalm.errors import CheckpointError

#: Declared uncompressed bytes allowed per byte of archive, above the floor.
MAX_INFLATION_RATIO = 20
#: Any archive may inflate to this many bytes, whatever its ratio.
INFLATION_FLOOR_BYTES = 64 * 2**20
#: First bytes of a zip archive (a local file header).
ZIP_LOCAL_MAGIC = b"PK\x03\x04"
#: Read size when checking a compressed member.
CHUNK_BYTES = 2**20


class InflationError(CheckpointError):
    """A zip archive or HDF5 file declares far more data than its size justifies, or a compressed
    member does not inflate to what its header declares."""


def zip_inflation_limit(archive_bytes: int) -> int:
    """Uncompressed bytes an archive of ``archive_bytes`` bytes may declare."""
    return max(MAX_INFLATION_RATIO * archive_bytes, INFLATION_FLOOR_BYTES)


def check_declared_size(path: Path, declared: int, size: int, what: str) -> None:
    """Refuse ``path`` when ``declared`` bytes (what its headers say it holds once read) exceed
    :func:`zip_inflation_limit` of its ``size`` on disk; ``what`` names the headers for the message."""
    if declared > zip_inflation_limit(size):
        raise InflationError(
            f"{path}: refused: its {what} declare {declared:,} uncompressed bytes for a "
            f"{size:,}-byte file (more than {MAX_INFLATION_RATIO}x its size and over "
            f"{INFLATION_FLOOR_BYTES // 2**20} MiB); this is a decompression bomb or a damaged file, "
            f"not one rnalm or the tool it comes from writes. Use a trusted copy of the file."
        )


def check_zip_inflation(path: Path, data: Union[bytes, None] = None) -> None:
    """Refuse ``path`` (or its already-read bytes ``data``) if its members would inflate past
    :func:`zip_inflation_limit`, or if it starts like a zip but its directory cannot be read.
    Files that are not zip archives pass: their readers judge them."""
    source = io.BytesIO(data) if data is not None else path
    size = len(data) if data is not None else Path(path).stat().st_size
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        head = data[:4] if data is not None else _head(path)
        if head == ZIP_LOCAL_MAGIC:  # a zip that cannot be inspected cannot be capped either
            raise InflationError(
                f"{path}: refused: a zip archive whose directory cannot be read (truncated or corrupted?): {exc}"
            ) from None
        return
    with zf:
        infos = zf.infolist()
        check_declared_size(path, sum(info.file_size for info in infos), size, "zip members")
        for info in infos:
            if info.compress_type != zipfile.ZIP_STORED:
                check_member(zf, info, path)


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(4)
    except OSError:
        return b""


def check_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> None:
    """Inflate one compressed member in bounded chunks (``zipfile`` stops at its declared size)
    and let ``zipfile`` check its CRC."""
    try:
        with zf.open(info) as fh:
            while fh.read(CHUNK_BYTES):
                pass
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise InflationError(
            f"{path}: refused: zip member {info.filename!r} does not inflate to what its header declares "
            f"({info.file_size:,} bytes): {exc}. The file is damaged or forged; use a trusted copy."
        ) from None


__all__ = [
    "INFLATION_FLOOR_BYTES",
    "InflationError",
    "MAX_INFLATION_RATIO",
    "check_declared_size",
    "check_member",
    "check_zip_inflation",
    "zip_inflation_limit",
]
