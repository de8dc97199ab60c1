"""``rnalm worker``: one process that takes jobs from the queue and runs them.

While a job runs, a thread beats its heartbeat in the job table (the server re-queues a job whose
worker has stopped beating or, on the same host, whose process is gone) and records progress.
A worker started by ``rnalm serve`` exits when that server does, so a restarted server never
shares the queue with workers it does not know.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from typing import Optional

from huey.consumer import Consumer

from rnalm.errors import RnalmError
from rnalm.serve.config import ServeConfig
from rnalm.serve.jobs import JobStore
from rnalm.serve.queue import job_task, make_huey
from rnalm.serve.runners import RUNNERS, Models, Stopped

HEARTBEAT_S = 2.0
JOBS_DIR = "jobs"
#: the job table in the data folder
JOBS_FILE = "jobs.sqlite"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    def __init__(self, config: ServeConfig, parent: Optional[int] = None) -> None:
        self.config, self.parent = config, parent
        self.store = JobStore(config.data_dir / JOBS_FILE, shared=bool(config.redis))
        self.models = Models(config)
        self.name = worker_name()
        self.current: Optional[str] = None
        self.log = logging.getLogger("rnalm.serve.worker")

    def execute(self, job_id: str) -> None:
        job = self.store.claim(job_id, self.name)
        if job is None:  # taken by another worker, cancelled, or already done
            return
        self.current = job_id
        folder = self.config.data_dir / JOBS_DIR / job_id

        def report(done: int) -> None:
            if not self.store.beat(job_id, self.name, done):
                raise Stopped(job_id)

        try:
            result, precision = RUNNERS[job.kind](self.models, job.options, folder / job.input, folder, report)
        except Stopped:
            return
        except RnalmError as exc:
            self.store.fail(job_id, self.name, str(exc).replace(str(folder / job.input), "input"))
            return
        except Exception as exc:  # a bug: the job says so, the worker keeps serving
            self.log.error("job %s: %s", job_id, traceback.format_exc())
            self.store.fail(job_id, self.name, f"internal error ({type(exc).__name__}: {exc}); see the worker's log")
            return
        finally:
            self.current = None
        self.store.finish(job_id, self.name, result, precision)

    def _beat(self) -> None:
        last = time.monotonic()
        while True:
            time.sleep(0.25)
            if self.parent is not None and os.getppid() != self.parent:
                os._exit(0)  # the server that started this worker is gone
            job_id = self.current
            if job_id is not None and time.monotonic() - last >= HEARTBEAT_S:
                self.store.beat(job_id, self.name)
                last = time.monotonic()

    def run(self) -> None:
        huey = make_huey(self.config)
        job_task(huey, self.execute)
        threading.Thread(target=self._beat, daemon=True, name="heartbeat").start()
        consumer = Consumer(
            huey, workers=1, periodic=False, initial_delay=0.05, backoff=1.1, max_delay=0.25, check_worker_health=False
        )
        consumer.run()
