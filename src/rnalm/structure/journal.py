"""Resuming an interrupted ``rnalm fold --output``: which records its staged folder already holds.

``rnalm fold`` builds its output in a staging folder beside ``--output`` and swaps it into place
when complete. While it works, it appends one line per finished record (after that record's files
are written) to :data:`JOURNAL_FILE` in the staging folder; the first line holds the settings the
rows depend on. A run that stops keeps that folder; ``--resume`` takes it over, checks the
settings and the input, folds only the records the journal lacks and writes the same summary an
uninterrupted run writes. The journal is removed before the swap, so the finished folder is
byte-identical to an uninterrupted run's.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterable, Optional, TextIO

from rnalm.errors import RnalmError, option
from rnalm.io.output_guard import STAGE_MARK

JOURNAL_FILE = ".rnalm-fold-journal.jsonl"


def record_key(record_id: str, sequence: str) -> str:
    """A record as the journal knows it: its id and a digest of its sequence."""
    digest = hashlib.blake2b(sequence.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return f"{digest} {record_id}"


def leftovers(out: Path) -> list[Path]:
    """Staging folders of interrupted runs beside ``out`` that hold a journal, newest first."""
    found = [p for p in out.parent.glob(f".{_glob_escape(out.name)}{STAGE_MARK}*") if (p / JOURNAL_FILE).is_file()]
    return sorted(found, key=lambda p: (p / JOURNAL_FILE).stat().st_mtime, reverse=True)


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def read(staged: Path, settings: dict, keys: Iterable[str]) -> dict[str, dict[str, str]]:
    """The rows a staged folder's journal holds (key -> row), checked against ``settings`` and the
    input's record ``keys``; an error when they do not match."""
    rows: dict[str, dict[str, str]] = {}
    with open(staged / JOURNAL_FILE, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    try:
        first = json.loads(lines[0])
    except (ValueError, IndexError):
        first = None
    again = f"run without {option('resume')} to start again"
    if not isinstance(first, dict) or first.get("settings") != settings:
        raise RnalmError(
            f"{staged}: the interrupted fold was started with other options "
            f"({_differences(first.get('settings') if isinstance(first, dict) else None, settings)}); "
            f"repeat them, or {again}"
        )
    for line in lines[1:]:
        try:
            entry = json.loads(line)
            rows[entry["key"]] = entry["row"]
        except (ValueError, KeyError, TypeError):
            break  # a line cut short by the interruption: that record is folded again
    unknown = set(rows) - set(keys)
    if unknown:
        rid = sorted(unknown)[0].split(" ", 1)[1]
        raise RnalmError(f"{staged}: the interrupted fold holds record {rid!r}, which this input lacks; {again}")
    return rows


def _differences(old: Optional[dict], new: dict) -> str:
    if not isinstance(old, dict):
        return "unreadable settings"
    diff = [f"{k}: {old.get(k)!r} then, {v!r} now" for k, v in new.items() if old.get(k) != v]
    return "; ".join(diff) or "unreadable settings"


class Journal:
    """Appends finished records to a staged folder's journal (each line flushed to disk); starts
    with the settings and the rows already known (a line an interruption cut short is dropped)."""

    def __init__(self, staged: Path, settings: dict, rows: dict[str, dict[str, str]]) -> None:
        self.path = staged / JOURNAL_FILE
        self.fh: TextIO = open(self.path, "w", encoding="utf-8")
        self._write({"settings": settings})
        for key, row in rows.items():
            self._write({"key": key, "row": row})

    def _write(self, entry: dict) -> None:
        self.fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def add(self, key: str, row: dict[str, str]) -> None:
        self._write({"key": key, "row": row})

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        if not self.fh.closed:
            self.fh.close()


__all__ = ["JOURNAL_FILE", "Journal", "leftovers", "read", "record_key"]
