"""What rnalm may replace, and who may write: output markers, one-writer locks, atomic swaps.

rnalm never deletes or overwrites what it did not create. Every command that writes an output
(``embed``, ``pretrain``, ``finetune``, ``predict``, ``corpus``, ``fold``, ``convert``) goes
through this module:

* **Recognition.** An :class:`OutputKind` says whether an existing path is rnalm output of that
  kind. Directories rnalm creates carry :data:`MARKER_FILE` (``{"rnalm_output": KIND, "written_by": "rnalm"}``);
  each kind also recognises the outputs of older rnalm versions by content of its own
  (``rnalm_embed.json``, an HDF5 ``rnalm_embed`` attribute, a fine-tuning ``config.yaml``, a
  native ``config.json``, the header rnalm writes into a prediction CSV ...). ``--overwrite``
  replaces only a recognised output, never a path that is or contains an input of the command.
* **One writer.** :func:`output_lock` takes a non-blocking ``flock`` on a hidden lock file
  beside the output (``.NAME.rnalm-lock``; beside, not inside, so it works for files and
  directories alike and survives a swap). A second process fails at once with an error naming
  the output and the pid that holds it; the lock file is removed when the holder releases it.
* **Atomic replacement.** A replacement is written under :func:`staging_path` in the same
  parent and moved into place by :func:`swap_into_place`; the old output is removed only after
  the new one is complete and only if it is still recognised. A run killed midway leaves the
  old output untouched; its leftover staging copy is removed by the next run (under the lock).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Union

from rnalm.errors import RnalmError
from rnalm.io.jsonfile import write_json

PathLike = Union[str, Path]
#: JSON marker inside every directory output rnalm creates: ``{"rnalm_output": KIND, "written_by": "rnalm"}``.
MARKER_FILE = "rnalm_output.json"
LOCK_SUFFIX = ".rnalm-lock"
STAGE_MARK = ".rnalm-new-"
OLD_MARK = ".rnalm-old-"

#: What :func:`claim_output` found.
NEW, REPLACE, RESUME = "new", "replace", "resume"


class OutputError(RnalmError):
    """An output path cannot be written: it exists, is not rnalm's, holds the input, or is locked."""


class OutputLockedError(OutputError):
    """Another process holds the output's one-writer lock."""


@dataclass(frozen=True)
class OutputKind:
    """One kind of rnalm output: its marker name and how an existing path is recognised as one."""

    #: the name in the marker file
    name: str
    #: how messages name such an output, e.g. "an rnalm embedding output"
    description: str
    #: content check for outputs of this kind (including those of older rnalm versions without a marker)
    recognise: Callable[[Path], bool] = lambda _p: False

    def owns(self, path: Path) -> bool:
        """True when ``path`` is rnalm output of this kind (marker, or the kind's own content check)."""
        if path.is_dir() and read_marker(path) == self.name:
            return True
        try:
            return bool(self.recognise(path))
        except (OSError, ValueError, RnalmError):
            return False


# ---------------------------------------------------------------------------------- markers
def write_marker(directory: PathLike, kind: OutputKind) -> Path:
    """Mark ``directory`` as rnalm output of ``kind`` (atomically; a reader never sees half a marker)."""
    path = Path(directory) / MARKER_FILE
    write_json(path, {"rnalm_output": kind.name, "written_by": "rnalm"})
    return path


def read_marker(directory: PathLike) -> Optional[str]:
    """The kind named by ``directory``'s marker, or None (no marker, or not one rnalm wrote)."""
    try:
        data = json.loads((Path(directory) / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return None
    kind = data.get("rnalm_output") if isinstance(data, dict) else None
    return kind if isinstance(kind, str) else None


# ---------------------------------------------------------------------------------- checks
def exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def is_empty_dir(path: Path) -> bool:
    """A real directory holding nothing but (perhaps) rnalm's marker: a run that failed before writing."""
    return path.is_dir() and not path.is_symlink() and all(p.name == MARKER_FILE for p in path.iterdir())


def input_inside(path: Path, inputs: Iterable[Optional[PathLike]]) -> Optional[Path]:
    """The first of ``inputs`` that is ``path`` itself or lies inside it (symlinks resolved), else None."""
    root = Path(os.path.realpath(path))
    for given in inputs:
        if given is None or str(given) == "":
            continue
        p = Path(os.path.realpath(given))
        if p == root or root in p.parents:
            return Path(given)
    return None


def claim_output(
    path: PathLike,
    kind: OutputKind,
    overwrite: bool = False,
    resume: bool = False,
    inputs: Iterable[Optional[PathLike]] = (),
    overwrite_option: str = "--overwrite",
    resume_option: Optional[str] = None,
) -> str:
    """Decide what a run may do with ``path``: :data:`NEW`, :data:`REPLACE` or :data:`RESUME`.

    Raises :class:`OutputError` for an existing, non-empty output without ``overwrite`` /
    ``resume``; for ``overwrite`` of anything that is not rnalm output of ``kind`` or that is or
    contains one of ``inputs``; for a resume of something else (an empty directory included).
    Otherwise an empty directory counts as new. The option names appear in the
    messages.
    """
    path = Path(path)
    inside = input_inside(path, inputs) if overwrite else None
    if inside is not None:
        raise OutputError(
            f"{path}: holds this command's input {inside}; rnalm never replaces a path that "
            f"contains its input; choose another output path"
        )
    if not exists(path):
        return NEW
    if resume:
        if not kind.owns(path):
            raise OutputError(f"{path}: exists and is not {kind.description}; cannot resume it")
        return RESUME
    if is_empty_dir(path):
        return NEW
    if not overwrite:
        how = (
            f"pass {resume_option} to complete it or {overwrite_option} to replace it"
            if resume_option
            else f"pass {overwrite_option} to replace it"
        )
        raise OutputError(f"{path}: already exists; {how}, or choose another output path")
    if not kind.owns(path):
        raise OutputError(
            f"{path}: exists and is not {kind.description} (no {MARKER_FILE} or other metadata "
            f"rnalm writes); {overwrite_option} replaces only rnalm's own output of the same kind, so "
            f"choose another output path or remove it yourself"
        )
    return REPLACE


# ---------------------------------------------------------------------------------- lock
def lock_path(path: PathLike) -> Path:
    path = Path(path)
    return path.with_name(f".{path.name}{LOCK_SUFFIX}")


@contextmanager
def output_lock(path: PathLike) -> Iterator[Path]:
    """Hold ``path``'s one-writer lock for the ``with`` block; raise :class:`OutputLockedError` if taken.

    The lock file holds the holder's pid (for the message a second process shows) and is
    unlinked while still locked on release; a process that opened the old file checks, after
    locking, that it still is the file at the lock path and otherwise retries on the new one.
    """
    path = Path(path)
    lock = lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise OutputError(f"{path}: cannot create the lock file {lock}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_pid(fd)
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise OutputError(f"{path}: cannot lock {lock}: {exc.strerror or exc}") from exc
            who = f"process {holder}" if holder else "another process"
            raise OutputLockedError(
                f"{path}: {who} is writing this output (lock {lock}); wait for it to "
                f"finish or choose another output path"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder released and unlinked it between our open and flock: take the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield lock
    finally:
        try:
            os.unlink(lock)
        except FileNotFoundError:
            pass
        os.close(fd)


def _read_pid(fd: int) -> Optional[int]:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------------------------- atomic swap
def staging_path(path: PathLike) -> Path:
    """Where a replacement of ``path`` is built: a hidden name in the same parent (same file system)."""
    path = Path(path)
    return path.with_name(f".{path.name}{STAGE_MARK}{os.getpid()}")


def remove_stale_staging(path: PathLike, kind: OutputKind) -> list[Path]:
    """Remove staging copies a killed run left beside ``path`` (call under :func:`output_lock`).

    Only copies that are rnalm output of ``kind`` (or empty) are removed.
    """
    path = Path(path)
    removed = []
    for mark in (STAGE_MARK, OLD_MARK):
        for p in path.parent.glob(f".{_glob_escape(path.name)}{mark}*"):
            if kind.owns(p) or is_empty_dir(p):
                remove_path(p)
                removed.append(p)
    return removed


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def swap_into_place(staged: PathLike, path: PathLike, kind: OutputKind) -> Path:
    """Move the complete ``staged`` output to ``path``; the old output is removed only afterwards.

    Refuses (and leaves everything as it is) if ``path`` exists and is neither rnalm output of
    ``kind`` nor an empty directory.
    """
    staged, path = Path(staged), Path(path)
    if not exists(path):
        os.replace(staged, path)
        return path
    if not (kind.owns(path) or is_empty_dir(path)):
        raise OutputError(f"{path}: exists and is not {kind.description}; refusing to replace it with {staged.name}")
    old = path.with_name(f".{path.name}{OLD_MARK}{os.getpid()}")
    if exists(old):
        remove_path(old)
    os.replace(path, old)
    try:
        os.replace(staged, path)
    except BaseException:
        os.replace(old, path)
        raise
    remove_path(old)
    return path


def remove_path(path: Path) -> None:
    """Remove a file, a symlink (not its target) or a directory tree."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif exists(path):
        os.remove(path)


__all__ = [
    "MARKER_FILE",
    "NEW",
    "REPLACE",
    "RESUME",
    "OutputError",
    "OutputKind",
    "OutputLockedError",
    "claim_output",
    "input_inside",
    "lock_path",
    "output_lock",
    "read_marker",
    "remove_path",
    "remove_stale_staging",
    "staging_path",
    "swap_into_place",
    "write_marker",
]
