"""File modes that honour the user's umask.

``tempfile.mkstemp`` creates 0600 files and ``mkdtemp`` 0700 folders whatever the umask, so an
output written aside and renamed into place would be readable by its owner only. Every writer that
starts from one of them calls :func:`honour_umask` before the rename: the result has the mode a
plain ``open(..., "w")`` or ``mkdir`` would have given (0644 / 0755 under umask 022).
"""

from __future__ import annotations

import os
from pathlib import Path


def current_umask() -> int:
    """The process umask, read without changing it where Linux allows (``/proc/self/status``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, hence the /proc route first)
    os.umask(mask)
    return mask


def honour_umask(path: str | os.PathLike) -> None:
    """Give ``path`` (a file, or a folder and everything under it) the modes the umask allows."""
    mask = current_umask()
    path = Path(path)
    if not path.is_dir():
        os.chmod(path, 0o666 & ~mask)
        return
    os.chmod(path, 0o777 & ~mask)
    for root, dirs, files in os.walk(path):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o777 & ~mask)
        for f in files:
            os.chmod(os.path.join(root, f), 0o666 & ~mask)


__all__ = ["current_umask", "honour_umask"]
