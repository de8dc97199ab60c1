"""The queue between the server and its workers: huey, over SQLite in the data folder or over Redis.

Messages carry only a job id; the job table (:mod:`.jobs`) says what to run and whether it still
needs running, so a message delivered twice or re-sent after a crash is harmless.
"""

from __future__ import annotations

from typing import Callable, Optional

from huey import RedisHuey, SqliteHuey
from huey.api import Huey, TaskWrapper

from rnalm.errors import RnalmError
from rnalm.serve.config import ServeConfig

TASK_NAME = "rnalm.serve.job"
QUEUE_FILE = "queue.sqlite"


def make_huey(config: ServeConfig) -> Huey:
    """SQLite in ``data_dir`` by default; Redis (``redis://HOST:PORT/DB``) when several hosts share the queue."""
    if config.redis:
        try:
            import redis  # noqa: F401
        except ImportError:
            raise RnalmError("--redis needs the redis client: pip install 'rnalm[redis]'") from None
        return RedisHuey("rnalm", url=config.redis, results=False)
    return SqliteHuey("rnalm", filename=str(config.data_dir / QUEUE_FILE), results=False)


def _server_side(job_id: str) -> None:
    raise RuntimeError(f"job {job_id} reached the server's queue handle; jobs run in `rnalm worker`")


def job_task(huey: Huey, run: Optional[Callable[[str], None]] = None) -> TaskWrapper:
    """The one task: ``task(job_id)`` queues the job; a worker's ``run`` executes it."""
    body = run or _server_side

    def job(job_id: str) -> None:
        body(job_id)

    return huey.task(name=TASK_NAME)(job)
