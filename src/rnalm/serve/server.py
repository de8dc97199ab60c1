"""``rnalm serve`` put together: the job table, the queue, the workers and the application."""

from __future__ import annotations

from rnalm.serve.app import create_app
from rnalm.serve.config import ServeConfig, check_bind
from rnalm.serve.jobs import JobStore
from rnalm.serve.queue import job_task, make_huey
from rnalm.serve.supervisor import Supervisor
from rnalm.serve.worker import JOBS_FILE


def serve(config: ServeConfig, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run until interrupted: ``workers`` worker processes on this host, the application on ``host:port``."""
    import uvicorn

    check_bind(host, config.token)
    (config.data_dir / "jobs").mkdir(parents=True, exist_ok=True)
    config.save()
    store = JobStore(config.data_dir / JOBS_FILE, shared=bool(config.redis))
    huey = make_huey(config)
    send = job_task(huey)
    supervisor = Supervisor(config, store, send, workers, huey.pending_count)
    supervisor.start()
    try:
        uvicorn.run(create_app(config, store, send), host=host, port=port, log_level="warning")
    finally:
        supervisor.close()
