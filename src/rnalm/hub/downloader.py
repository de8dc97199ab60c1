"""The HTTP downloader: resumable, retried, verified fetches into the cache, and :func:`resolve`.

Downloads use only :mod:`urllib`. A resume sends ``Range`` with ``If-Range`` and happens only when
the ``.part``'s validator (strong ``ETag`` or ``Last-Modified``) still matches; anything else
starts over from byte zero. Transient failures (connection refused, timeouts, 5xx, cut-off
transfers) are retried with a doubling pause; a finished file goes through :mod:`rnalm.hub.verify`
before it is renamed into place and its sha256 recorded.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Iterator, Optional, Union

from tqdm import tqdm

from rnalm.errors import DownloadError
from rnalm.hub.cache import (
    FROM_PUBLISHER,
    TRUST_ON_FIRST_USE,
    cache_status,
    entry_dir,
    legacy_part_source,
    local_path,
    new_record,
    part_meta_path,
    part_path,
    read_records,
    store_record,
)
from rnalm.hub.registry import Checkpoint, RemoteFile, get
from rnalm.hub.torchhub import torch_hub_dir, verified_torch_hub_path
from rnalm.hub.verify import check_cached, verify_download
from rnalm.io.jsonfile import write_json
from rnalm.version import __version__

if sys.platform != "win32":
    import fcntl

#: Environment variable that forbids network access in :func:`resolve` when set to 1/true/yes.
ENV_OFFLINE = "RNALM_OFFLINE"
#: Environment variable naming a mirror: file F of checkpoint C is fetched from ``$RNALM_HUB_MIRROR/C/F``.
ENV_MIRROR = "RNALM_HUB_MIRROR"

#: Seconds to wait for a connection or for the next block of data.
TIMEOUT_S = 30.0
#: Extra attempts per URL after a transient failure (connection refused, timeout, 5xx, cut-off transfer).
RETRIES = 2
#: First pause between attempts; doubles after each failure.
BACKOFF_S = 1.0
CHUNK_BYTES = 1 << 20
#: HTTP statuses worth retrying; every other 4xx means "this URL will not work".
TRANSIENT_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})


def _user_agent() -> str:
    return f"rnalm/{__version__} (Python urllib)"


def _offline() -> bool:
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in {"1", "true", "yes", "on"}


def download_urls(entry: Checkpoint, remote: RemoteFile) -> tuple[str, ...]:
    """The URLs to try for ``remote``: ``$RNALM_HUB_MIRROR/<checkpoint>/<file>`` when a mirror is set, else the
    registry's."""
    mirror = os.environ.get(ENV_MIRROR, "").strip()
    if not mirror:
        return remote.urls
    return (f"{mirror.rstrip('/')}/{urllib.parse.quote(entry.name)}/{urllib.parse.quote(remote.filename)}",)


class _Transient(Exception):
    """A failure worth retrying on the same URL (resuming what is already on disk)."""


class _Permanent(Exception):
    """A failure that will not go away by retrying this URL (404, 403, a web page instead of the file, ...)."""


class _Restart(Exception):
    """The ``.part`` belongs to another version of the file (or cannot be resumed): it was removed; fetch from zero."""


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
#: Media types that are never a checkpoint: error pages, sign-in pages, JSON error objects.
_TEXT_MEDIA = frozenset({"application/json", "application/problem+json", "application/xml", "application/xhtml+xml"})


def _validator(headers) -> dict:
    """The response's validator: a strong ETag (If-Range allows no weak one) and/or Last-Modified."""
    etag = headers.get("ETag")
    return {"etag": etag if etag and not etag.startswith("W/") else None, "last_modified": headers.get("Last-Modified")}


def _start_over(part: Path, meta: Path) -> None:
    part.unlink(missing_ok=True)
    meta.unlink(missing_ok=True)


def _resumable(part: Path, meta: Path, url: str) -> Optional[dict]:
    """The sidecar of a ``.part`` that may be resumed from ``url``; otherwise both are removed and None returned."""
    info = None
    if part.is_file() and meta.is_file():
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            info = json.loads(meta.read_text(encoding="utf-8"))
    if isinstance(info, dict) and info.get("url") == url and (info.get("etag") or info.get("last_modified")):
        return info
    _start_over(part, meta)
    return None


def _same_version(info: dict, headers) -> bool:
    """Whether a 206 answer comes from the version of the file the ``.part`` holds (the server may ignore If-Range)."""
    if info.get("etag"):
        return headers.get("ETag") == info["etag"]
    return headers.get("Last-Modified") == info["last_modified"]


def _refuse_text(resp, url: str) -> None:
    media = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if media.startswith("text/") or media in _TEXT_MEDIA:
        snippet = " ".join(resp.read(160).decode("utf-8", "replace").split())
        raise _Permanent(f"the server sent {media} (an error or sign-in page?), not the file: {snippet!r}")


def _one_attempt(url: str, part: Path, meta: Path, timeout: float, quiet: bool, label: str) -> None:
    """Fetch ``url`` into ``part``, continuing it only when its validator still matches; raise on any shortfall."""
    info = _resumable(part, meta, url)
    offset = part.stat().st_size if info else 0
    resp = _request(url, part, meta, info, offset, timeout)
    if resp is None:  # the .part already holds the whole file
        return
    _receive(resp, url, part, meta, info, offset, quiet, label)


def _request(url: str, part: Path, meta: Path, info: Optional[dict], offset: int, timeout: float) -> Any:
    """The open response for ``url`` (asking for the bytes after ``offset`` when resuming), or None when the
    server says nothing is left to send and the ``.part`` is complete; failures map to retry or give up."""
    req = urllib.request.Request(url, headers={"User-Agent": _user_agent(), "Accept-Encoding": "identity"})
    if offset:
        req.add_header("Range", f"bytes={offset}-")
        req.add_header("If-Range", info["etag"] or info["last_modified"])  # type: ignore[index]
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 (URLs come from the registry or the mirror)
    except urllib.error.HTTPError as exc:
        with contextlib.closing(exc):
            if exc.code == 416 and offset:
                # Nothing left to send: either our .part is the whole file, or it does not match it.
                total = (exc.headers.get("Content-Range") or "").rpartition("/")[2]
                if total.isdigit() and int(total) == offset and info.get("size") in (None, offset):  # type: ignore[union-attr]
                    return None
                _start_over(part, meta)
                raise _Restart(f"server refused to resume at byte {offset}") from exc
            if exc.code in TRANSIENT_HTTP:
                raise _Transient(f"HTTP {exc.code} {exc.reason}") from exc
            raise _Permanent(f"HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Transient(str(reason) or type(exc).__name__) from exc
    return resp


def _receive(
    resp: Any, url: str, part: Path, meta: Path, info: Optional[dict], offset: int, quiet: bool, label: str
) -> None:
    """Write ``resp``'s body to ``part`` (appending to a resumed one); raise when it is not all there."""
    with contextlib.closing(resp):
        _refuse_text(resp, url)
        length_header = resp.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        if resp.status == 206:
            if not offset:
                raise _Transient("server answered a plain request with a partial response (206)")
            match = _CONTENT_RANGE.match(resp.headers.get("Content-Range") or "")
            total = int(match.group(3)) if match and match.group(3).isdigit() else None
            assert info is not None  # offset > 0: a resume, which always has its validator record
            if (
                not match
                or int(match.group(1)) != offset
                or not _same_version(info, resp.headers)
                or total is None
                or info.get("size") not in (None, total)
            ):
                _start_over(part, meta)
                raise _Restart(
                    "the server's partial answer is not the rest of the file on disk "
                    "(another version, or another byte range)"
                )
            mode = "ab"
        else:  # 200: the first request, or the server says the file changed (If-Range) or it ignores Range
            offset, total, mode = 0, length, "wb"
            write_json(meta, {"url": url, **_validator(resp.headers), "size": length})
        written = offset
        try:
            with (
                open(part, mode) as fh,
                tqdm(
                    total=total,
                    initial=offset,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=label,
                    file=sys.stderr,
                    disable=quiet,
                    leave=False,
                ) as bar,
            ):
                while True:
                    chunk = resp.read(CHUNK_BYTES)
                    if not chunk:
                        break
                    fh.write(chunk)
                    written += len(chunk)
                    bar.update(len(chunk))
                fh.flush()
                os.fsync(fh.fileno())
        except (OSError, http.client.HTTPException) as exc:  # IncompleteRead: a chunked body that ended early
            raise _Transient(f"transfer interrupted after {written} bytes: {exc or type(exc).__name__}") from exc
    if total is not None and written != total:
        raise _Transient(f"transfer stopped after {written} of {total} bytes")


@contextlib.contextmanager
def _lock(folder: Path) -> Iterator[None]:
    """Serialise downloads into one cache folder across processes (POSIX; a no-op elsewhere)."""
    if sys.platform == "win32":  # pragma: no cover - no fcntl
        yield
        return
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def fetch(
    remote: RemoteFile,
    dest: Path,
    *,
    urls: Optional[tuple[str, ...]] = None,
    force: bool = False,
    quiet: bool = False,
    timeout: Optional[float] = None,
    retries: Optional[int] = None,
    backoff: Optional[float] = None,
) -> Path:
    """Download ``remote`` to ``dest`` (from ``urls``, default the registry's): resume, retry, verify, record
    its sha256 in the folder's record, then rename into place atomically.

    An existing ``dest`` is returned untouched unless ``force``; with ``force`` the new copy
    replaces it only after it has been verified, and its sha256 replaces the recorded one.
    Without ``force`` a file that has a recorded sha256 must match it.
    """
    timeout = TIMEOUT_S if timeout is None else timeout
    retries = RETRIES if retries is None else retries
    backoff = BACKOFF_S if backoff is None else backoff
    urls = remote.urls if urls is None else urls
    if dest.is_file() and not force:
        return dest
    folder = dest.parent
    folder.mkdir(parents=True, exist_ok=True)
    part, meta = part_path(dest), part_meta_path(dest)
    legacy_part_source(dest).unlink(missing_ok=True)
    if force:
        _start_over(part, meta)
    recorded = None if force else read_records(folder).get(remote.filename)
    failures: list[str] = []
    for url in urls:
        for attempt in range(retries + 1):
            try:
                try:
                    _one_attempt(url, part, meta, timeout, quiet, remote.filename)
                except _Restart:  # the .part is gone: fetch the whole file (at most once, no Range is sent now)
                    _one_attempt(url, part, meta, timeout, quiet, remote.filename)
            except _Permanent as exc:
                failures.append(f"{url} -> {exc}")
                break
            except (_Transient, _Restart) as exc:
                if attempt == retries:
                    failures.append(f"{url} -> {exc} ({retries + 1} attempts)")
                    break
                time.sleep(backoff * 2**attempt)
                continue
            if not part.exists():  # 200 with an empty body
                part.touch()
            digest = verify_download(part, remote, url, recorded, folder.name)
            os.replace(part, dest)
            meta.unlink(missing_ok=True)
            store_record(
                folder,
                remote.filename,
                new_record(dest, digest, FROM_PUBLISHER if remote.sha256 else TRUST_ON_FIRST_USE, url),
            )
            return dest
    if not part.exists():
        meta.unlink(missing_ok=True)
    raise DownloadError(
        f"could not download {remote.filename}: {'; '.join(failures) or 'no URL registered'}. "
        f"If this machine is offline, fetch it elsewhere from {' or '.join(remote.urls)} and put it at {dest}"
    )


def download(
    entry: Union[Checkpoint, str],
    cache_dir: Union[str, Path, None] = None,
    *,
    force: bool = False,
    quiet: bool = False,
    timeout: Optional[float] = None,
    retries: Optional[int] = None,
    backoff: Optional[float] = None,
) -> Path:
    """Make every file of ``entry`` present and verified in the cache and return :func:`local_path`.

    Files already cached are re-hashed and compared with the publisher's sha256 or the one
    recorded at their first download (a mismatch is a :class:`DownloadError`); ``force``
    downloads again and re-records.
    """
    entry = get(entry) if isinstance(entry, str) else entry
    folder = entry_dir(entry, cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with _lock(folder):
        for remote in entry.files:
            dest = folder / remote.filename
            if dest.is_file() and not force:
                record = check_cached(entry.name, remote, dest, read_records(folder))
                if record is not None:
                    store_record(folder, remote.filename, record)
                continue
            fetch(
                remote,
                dest,
                urls=download_urls(entry, remote),
                force=force,
                quiet=quiet,
                timeout=timeout,
                retries=retries,
                backoff=backoff,
            )
    return local_path(entry, cache_dir)


def manual_instructions(entry: Checkpoint, cache_dir: Union[str, Path, None] = None) -> str:
    """One line saying which URL(s) to fetch by hand and exactly where each file goes (and, for files
    fair-esm or rna-fm download, where in torch hub's cache rnalm finds them too)."""
    folder = entry_dir(entry, cache_dir)
    parts = [
        f"{' or '.join(f.urls)} -> {folder / f.filename}" for f in entry.files if not (folder / f.filename).is_file()
    ]
    hub_names = [f.torch_hub_name for f in entry.files if f.torch_hub_name]
    also = (
        f" (or into torch hub's cache: {', '.join(str(torch_hub_dir() / n) for n in hub_names)})" if hub_names else ""
    )
    return "download " + "; ".join(parts) + also


def resolve(
    name: str, cache_dir: Union[str, Path, None] = None, *, download_missing: bool = True, quiet: bool = False
) -> Path:
    """The local path of registered checkpoint ``name``, downloading it first if it is not cached.

    Cached files are checked against their sha256 (published or recorded) on every call. A
    checkpoint not in rnalm's cache but downloaded by fair-esm or rna-fm into torch hub's cache is
    used from there once it passes the same checks (:mod:`rnalm.hub.torchhub`); no download then.
    Raises :class:`DownloadError` for unknown names, when ``$RNALM_OFFLINE`` is set (or
    ``download_missing`` is False) and the files are missing, when the download fails and when a
    cached file no longer matches its sha256.
    """
    try:
        entry = get(name)
    except DownloadError as exc:
        raise DownloadError(f"no such file or directory, and {exc}") from None
    if cache_status(entry, cache_dir) != "yes":
        found = verified_torch_hub_path(entry, cache_dir)
        if found is not None:
            return found
        if not download_missing or _offline():
            why = f"${ENV_OFFLINE} is set" if _offline() else "downloads are disabled"
            raise DownloadError(f"{entry.name} is not in the cache and {why}: {manual_instructions(entry, cache_dir)}")
    return download(entry, cache_dir, quiet=quiet)
