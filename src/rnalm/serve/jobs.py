"""The job table: one row per job, in SQLite under the data folder.

The row, not the queue, is what a job *is*: the queue only carries job ids, and a worker claims a
job by moving its row from ``queued`` to ``running`` in one statement, so a message delivered
twice (a re-queue after a crash) runs the job once. A job whose worker died goes back to
``queued`` (:meth:`JobStore.requeue`) and runs again from its input; runners write results
atomically, so the re-run gives the same bytes.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
STATUSES = (QUEUED, RUNNING, DONE, FAILED, CANCELLED)
FINISHED = (DONE, FAILED, CANCELLED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    options TEXT NOT NULL,
    input TEXT NOT NULL,
    total INTEGER NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    result TEXT,
    error TEXT,
    worker TEXT,
    heartbeat REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    precision TEXT
)
"""
#: columns added since the first version of the table, added to an older data folder's table on opening
_ADDED = {"precision": "TEXT"}


@dataclass
class Job:
    id: str
    kind: str
    status: str
    options: dict
    input: str  # the input file's name in the job folder
    total: int
    done: int
    created: float
    started: Optional[float]
    finished: Optional[float]
    result: Optional[str]  # the result file's name in the job folder
    error: Optional[str]
    worker: Optional[str]
    heartbeat: Optional[float]
    attempts: int
    #: what the job's models computed in (``bfloat16 (auto: CPU has amx_bf16)``), once it is done
    precision: Optional[str] = None

    def public(self) -> dict[str, Any]:
        """What the API shows: no worker names, no file names."""
        d = asdict(self)
        for k in ("input", "worker", "heartbeat", "result"):
            d.pop(k)
        d["progress"] = {"done": self.done, "total": self.total}
        d["result_url"] = f"/api/jobs/{self.id}/result" if self.status == DONE else None
        return d


def new_id() -> str:
    return secrets.token_hex(8)


def valid_id(job_id: str) -> bool:
    """A job id as :func:`new_id` makes them (so it is safe as a folder name)."""
    return len(job_id) == 16 and all(c in "0123456789abcdef" for c in job_id)


class JobStore:
    """The job table at ``path``; every call opens its own connection, so threads and processes share it.
    ``shared``: hosts share the file (a network file system), where SQLite's write-ahead log cannot
    work (it needs shared memory), so the rollback journal is used instead."""

    def __init__(self, path: str | Path, shared: bool = False) -> None:
        self.path = Path(path)
        db = self._db()
        try:
            db.execute(f"PRAGMA journal_mode={'DELETE' if shared else 'WAL'}")
            db.execute(_SCHEMA)
            have = {row["name"] for row in db.execute("PRAGMA table_info(jobs)")}
            for column, kind in _ADDED.items():
                if column not in have:
                    db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")
        finally:
            db.close()

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        db.row_factory = sqlite3.Row
        return db

    def _run(self, sql: str, args: tuple = ()) -> int:
        db = self._db()
        try:
            return db.execute(sql, args).rowcount
        finally:
            db.close()

    def _rows(self, sql: str, args: tuple = ()) -> list[Job]:
        db = self._db()
        try:
            rows = db.execute(sql, args).fetchall()
        finally:
            db.close()
        return [Job(**{**dict(r), "options": json.loads(r["options"])}) for r in rows]

    def create(self, job_id: str, kind: str, options: dict, input_name: str, total: int) -> Job:
        self._run(
            "INSERT INTO jobs (id, kind, status, options, input, total, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (job_id, kind, QUEUED, json.dumps(options, sort_keys=True), input_name, total, time.time()),
        )
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> Optional[Job]:
        rows = self._rows("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return rows[0] if rows else None

    def recent(self, limit: int = 200) -> list[Job]:
        return self._rows("SELECT * FROM jobs ORDER BY created DESC, id LIMIT ?", (limit,))

    def with_status(self, status: str) -> list[Job]:
        return self._rows("SELECT * FROM jobs WHERE status = ? ORDER BY created, id", (status,))

    def claim(self, job_id: str, worker: str) -> Optional[Job]:
        """Move a queued job to running for ``worker``; ``None`` when it is not queued (taken, cancelled, done)."""
        now = time.time()
        n = self._run(
            "UPDATE jobs SET status = ?, worker = ?, heartbeat = ?, started = ?, done = 0, attempts = attempts + 1 "
            "WHERE id = ? AND status = ?",
            (RUNNING, worker, now, now, job_id, QUEUED),
        )
        return self.get(job_id) if n else None

    def beat(self, job_id: str, worker: str, done: Optional[int] = None) -> bool:
        """Record that ``worker`` still runs the job (and how far it is); False when the job is no longer its own."""
        args: tuple = (time.time(),) if done is None else (time.time(), done)
        sql = "UPDATE jobs SET heartbeat = ?" + ("" if done is None else ", done = ?")
        return self._run(sql + " WHERE id = ? AND status = ? AND worker = ?", (*args, job_id, RUNNING, worker)) > 0

    def finish(self, job_id: str, worker: str, result: str, precision: Optional[str] = None) -> bool:
        return (
            self._run(
                "UPDATE jobs SET status = ?, result = ?, precision = ?, done = total, finished = ? "
                "WHERE id = ? AND status = ? AND worker = ?",
                (DONE, result, precision, time.time(), job_id, RUNNING, worker),
            )
            > 0
        )

    def fail(self, job_id: str, worker: str, error: str) -> bool:
        return (
            self._run(
                "UPDATE jobs SET status = ?, error = ?, finished = ? WHERE id = ? AND status = ? AND worker = ?",
                (FAILED, error, time.time(), job_id, RUNNING, worker),
            )
            > 0
        )

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job (a running one stops at its worker's next progress report)."""
        return (
            self._run(
                "UPDATE jobs SET status = ?, finished = ? WHERE id = ? AND status IN (?, ?)",
                (CANCELLED, time.time(), job_id, QUEUED, RUNNING),
            )
            > 0
        )

    def requeue(self, job_id: str, worker: str) -> bool:
        """Put a job back in the queue when ``worker``, which ran it, is gone."""
        return (
            self._run(
                "UPDATE jobs SET status = ?, worker = NULL, done = 0 WHERE id = ? AND status = ? AND worker = ?",
                (QUEUED, job_id, RUNNING, worker),
            )
            > 0
        )

    def expired(self, before: float) -> list[Job]:
        return self._rows(
            "SELECT * FROM jobs WHERE status IN (?, ?, ?) AND finished < ? ORDER BY finished", (*FINISHED, before)
        )

    def delete(self, job_id: str) -> None:
        self._run("DELETE FROM jobs WHERE id = ?", (job_id,))

    def counts(self) -> dict[str, int]:
        db = self._db()
        try:
            rows = db.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        finally:
            db.close()
        return {s: 0 for s in STATUSES} | {r[0]: r[1] for r in rows}
