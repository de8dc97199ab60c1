"""What a file must be before it enters the cache, and every time a cached file is used.

A finished download must be complete, not a web page or Git LFS pointer, of the published size and
sha256 when those are stated, and open as what its registry entry says (a checkpoint format of
:data:`rnalm.models.FORMATS` or a container in :data:`CONTAINER_PROBES`); a cached file must still
match the publisher's or the recorded sha256. A file that fails is kept as ``*.corrupt``, never
deleted silently.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Optional

from safetensors import SafetensorError, safe_open

from rnalm.errors import DownloadError, RnalmError
from rnalm.hub.cache import FROM_PUBLISHER, TRUST_ON_FIRST_USE, new_record
from rnalm.hub.registry import RemoteFile
from rnalm.io.digest import sha256_file
from rnalm.io.formats import Probe
from rnalm.models import detect_format
from rnalm.models.protrna.ss_convert import load_ss_head


def _probe_torch(probe: Probe) -> bool:
    # torch_obj unpickles with rnalm's allow-list and raises CheckpointError for truncated files.
    return probe.is_torch_file and probe.torch_obj is not None


def _probe_safetensors(probe: Probe) -> bool:
    if probe.safetensors_metadata is None:
        return False
    try:  # the reader checks that the data the header declares is all there
        with safe_open(str(probe.path), framework="pt"):
            return True
    except SafetensorError:
        return False


def _probe_protrna_ss_head(probe: Probe) -> bool:
    load_ss_head(probe.path)  # strict; a CheckpointError says what is wrong
    return True


#: Probes for published files that are not whole checkpoints (a regression head, a task model,
#: a weights file whose config is built in code): their container must open with rnalm's safe reader.
CONTAINER_PROBES: dict[str, Callable[[Probe], bool]] = {
    "torch": _probe_torch,
    "safetensors": _probe_safetensors,
    "protrna-ss-head": _probe_protrna_ss_head,
}


def _keep_corrupt(path: Path) -> Path:
    """Rename a file that failed verification to ``*.corrupt`` (never overwriting an older one)."""
    base = path.name[: -len(".part")] if path.name.endswith(".part") else path.name
    target = path.with_name(base + ".corrupt")
    n = 1
    while target.exists():
        target = path.with_name(f"{base}.corrupt.{n}")
        n += 1
    os.replace(path, target)
    return target


_NOT_A_FILE = (
    (b"version https://git-lfs.github.com/spec/", "a Git LFS pointer"),
    (b"<!doctype", "a web page"),
    (b"<html", "a web page"),
    (b"<head", "a web page"),
    (b"<?xml", "an XML document"),
)


def verify_file(path: Path, remote: RemoteFile, url: str = "") -> str:
    """Check size and sha256 (when published) and that the content is not a web page or LFS pointer.

    Returns the file's sha256. On failure the file is renamed ``*.corrupt`` and a
    :class:`DownloadError` gives both hashes.
    """
    with open(path, "rb") as fh:
        head = fh.read(512).lstrip().lower()
    size = path.stat().st_size
    actual = sha256_file(path)
    problem = next((what for magic, what in _NOT_A_FILE if head.startswith(magic)), None)
    if problem is None and remote.size is not None and size != remote.size:
        problem = f"{size} bytes instead of the published {remote.size}"
    if problem is None and remote.sha256 and actual != remote.sha256.lower():
        problem = "a sha256 mismatch"
    if problem is None:
        return actual
    kept = _keep_corrupt(path)
    raise DownloadError(
        f"{remote.filename}{' from ' + url if url else ''} failed verification: the server sent {problem} "
        f"(expected sha256 {remote.sha256 or 'unpublished'}, got {actual}, {size} bytes); "
        f"the bad file is kept at {kept}"
    )


def probe_problem(path: Path, probe: str) -> Optional[str]:
    """Why ``path`` does not open as ``probe`` (a format of :mod:`rnalm.io.formats` or a container), or None."""
    try:
        if probe in CONTAINER_PROBES:
            return None if CONTAINER_PROBES[probe](Probe(path)) else f"no {probe} content found"
        fmt, _ = detect_format(path)
    except RnalmError as exc:
        return str(exc)
    return None if fmt.name == probe else f"it is a {fmt.name} checkpoint, not {probe}"


def verify_download(part: Path, remote: RemoteFile, url: str, recorded: Optional[dict], checkpoint: str) -> str:
    """All checks of a finished ``.part`` before it enters the cache; returns its sha256."""
    digest = verify_file(part, remote, url)
    problem = probe_problem(part, remote.probe)
    if problem is None and recorded and not remote.sha256 and recorded["sha256"] != digest:
        problem = (
            f"a file that differs from the copy first downloaded on {recorded.get('recorded')} "
            f"(sha256 {digest}, recorded {recorded['sha256']}; trust on first use). If the publisher "
            f"changed it on purpose, `rnalm download {checkpoint} --force` trusts the new file"
        )
    elif problem is not None:
        problem = f"a file that does not open as {remote.probe}: {problem}"
    if problem is None:
        return digest
    kept = _keep_corrupt(part)
    raise DownloadError(
        f"{remote.filename}{' from ' + url if url else ''} failed verification: the server sent "
        f"{problem}; the bad file is kept at {kept}"
    )


def check_cached(checkpoint: str, remote: RemoteFile, dest: Path, records: dict[str, dict]) -> Optional[dict]:
    """Re-hash a cached file against the publisher's or the recorded sha256 (rename it ``*.corrupt`` on a
    mismatch); return a record to store when there is none yet or the publisher's hash now applies."""
    recorded = records.get(remote.filename)
    digest = sha256_file(dest)
    if remote.sha256:
        reference, whose = remote.sha256.lower(), "the publisher's sha256"
    elif recorded:
        reference = recorded["sha256"]
        whose = f"the sha256 recorded at its first download on {recorded.get('recorded')} (trust on first use)"
    else:  # put there by hand or by an older rnalm: it must open as what it claims to be, then it is trusted
        problem = probe_problem(dest, remote.probe)
        if problem is not None:
            raise DownloadError(
                f"{dest} (cached for {checkpoint}, never verified by rnalm) does not open as "
                f"{remote.probe}: {problem}; move it away or run `rnalm download {checkpoint} --force`"
            )
        return new_record(dest, digest, TRUST_ON_FIRST_USE, None)
    if digest != reference:
        kept = _keep_corrupt(dest)
        raise DownloadError(
            f"the cached copy of {checkpoint} is bad: {dest} has sha256 {digest}, not {whose} "
            f"{reference}; the file is kept at {kept}; "
            f"run `rnalm download {checkpoint}` to fetch it again"
        )
    if remote.sha256 and (recorded or {}).get("source") != FROM_PUBLISHER:
        return new_record(dest, digest, FROM_PUBLISHER, (recorded or {}).get("url"))
    return None
