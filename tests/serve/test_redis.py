"""The networked queue: a server with ``--redis`` and no workers of its own, and two ``rnalm worker``
processes sharing its Redis (started on a free port in a temporary folder) and its data folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import pytest

from rnalm import shipped

from .helpers import Server, env, free_port, records, wait

pytestmark = pytest.mark.slow
REDIS = shutil.which("redis-server")


@pytest.mark.skipif(REDIS is None, reason="needs Debian's redis-server (.ci/run installs it)")
def test_server_and_workers_share_redis(tmp_path, monkeypatch):
    pytest.importorskip("redis")
    monkeypatch.delenv(shipped.ENV_DIR, raising=False)
    port = free_port()
    redis = subprocess.Popen(
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    srv = Server(tmp_path / "data", "--workers", "0", "--redis", url)
    workers: list[subprocess.Popen] = []
    try:
        time.sleep(0.5)
        srv.start()
        with srv.client() as c:
            ids = [
                c.post(
                    "/api/jobs",
                    json={
                        "kind": "predict",
                        "task": "te",
                        "sequences": [{"id": i, "sequence": s} for i, s in records(3, 40, f"q{k}_")],
                    },
                ).json()["id"]
                for k in range(6)
            ]
            time.sleep(1)
            assert all(c.get(f"/api/jobs/{i}").json()["status"] == "queued" for i in ids)  # no worker yet
            for _ in range(2):
                workers.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "rnalm", "worker", "--data-dir", str(srv.data_dir), "--redis", url],
                        env=env(),
                    )
                )
            jobs = [wait(c, i, 180) for i in ids]
            assert [j["status"] for j in jobs] == ["done"] * 6 and all(j["attempts"] == 1 for j in jobs)
            for k, i in enumerate(ids):
                assert c.get(f"/api/jobs/{i}/result").text.splitlines()[1].startswith(f"q{k}_0,")
    finally:
        for w in workers:
            w.terminate()
            w.wait(20)
        srv.stop()
        redis.terminate()
        redis.wait(20)
