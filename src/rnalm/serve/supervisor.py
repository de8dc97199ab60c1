"""The server's housekeeping: its worker processes, jobs whose worker died, and expiry.

A job is re-queued when its worker's process is gone (same host) or has not beaten its heartbeat
for :data:`STALE_S` (any host). At start every queued job is sent again (a claim makes the extra
message harmless), so a job recorded just before a crash is not stranded. Expiry removes the
folders of jobs finished more than ``keep_hours`` ago -- only folders holding the marker this
server wrote.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from typing import Optional

from rnalm.serve.config import ServeConfig
from rnalm.serve.jobs import QUEUED, RUNNING, JobStore

STALE_S = 60.0
#: a job whose worker dies this many times fails instead of taking down the next worker
MAX_ATTEMPTS = 3
MARKER = ".rnalm-serve-job"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, which no one has reaped yet, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class Supervisor:
    def __init__(self, config: ServeConfig, store: JobStore, send, workers: int = 0, pending=None) -> None:
        """``send(job_id)`` queues a job; ``pending()`` counts the messages waiting in the queue."""
        self.config, self.store, self.send, self.n, self.pending = config, store, send, workers, pending
        self.procs: list[subprocess.Popen] = []
        self.host = socket.gethostname()
        self.stop = threading.Event()
        self.last_expiry = 0.0

    def worker_command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "rnalm",
            "worker",
            "--data-dir",
            str(self.config.data_dir),
            "--parent",
            str(os.getpid()),
        ]
        return cmd + (["--redis", self.config.redis] if self.config.redis else [])

    def start(self) -> None:
        for job in self.store.with_status(QUEUED):
            self.send(job.id)
        self.tick()
        threading.Thread(target=self._loop, daemon=True, name="supervisor").start()

    def _loop(self) -> None:
        while not self.stop.wait(1.0):
            try:
                self.tick()
            except Exception as exc:  # keep supervising; the next tick retries
                print(f"rnalm serve: supervisor: {exc}", file=sys.stderr)

    def tick(self) -> None:
        self.procs = [p for p in self.procs if p.poll() is None]
        while len(self.procs) < self.n:
            self.procs.append(subprocess.Popen(self.worker_command()))
        self.rescue()
        self.resend()
        if time.time() - self.last_expiry > 60:
            self.expire()

    def rescue(self) -> None:
        now = time.time()
        for job in self.store.with_status(RUNNING):
            host, _, pid = (job.worker or "").rpartition(":")
            gone = host == self.host and pid.isdigit() and not _alive(int(pid))
            if not (gone or (job.heartbeat or 0) < now - STALE_S):
                continue
            if job.attempts >= MAX_ATTEMPTS:
                self.store.fail(
                    job.id,
                    job.worker or "",
                    f"the worker running this job stopped {job.attempts} times (out of memory?); submit fewer "
                    "or shorter sequences",
                )
            elif self.store.requeue(job.id, job.worker or ""):
                self.send(job.id)

    def resend(self) -> None:
        """Queued jobs with no message left in the queue (a worker took one and died before claiming
        the job) are sent again; a job that was only about to be claimed gets a harmless second message."""
        if self.pending is None:
            return
        stranded = self.store.with_status(QUEUED)
        if stranded and self.pending() == 0:
            for job in stranded:
                self.send(job.id)

    def expire(self, now: Optional[float] = None) -> int:
        self.last_expiry = now or time.time()
        n = 0
        for job in self.store.expired(self.last_expiry - self.config.keep_hours * 3600):
            folder = self.config.data_dir / "jobs" / job.id
            if (folder / MARKER).is_file():
                shutil.rmtree(folder, ignore_errors=True)
            self.store.delete(job.id)
            n += 1
        return n

    def close(self) -> None:
        self.stop.set()
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
