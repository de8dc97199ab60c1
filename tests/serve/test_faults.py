"""``kill -9`` the server, or a worker, while jobs run and wait: after a restart every job finishes
with the result an uninterrupted run gives."""

from __future__ import annotations

import os
import signal
import time

import pytest

from rnalm import shipped

from .helpers import Server, cli_predict_te, fasta, records, wait

pytestmark = pytest.mark.slow
N_JOBS, N_RECORDS, LENGTH = 6, 300, 80


@pytest.fixture
def installed(monkeypatch):
    monkeypatch.delenv(shipped.ENV_DIR, raising=False)


def inputs() -> list[str]:
    return [fasta(records(N_RECORDS, LENGTH, f"j{k}_")) for k in range(N_JOBS)]


def references(texts: list[str], tmp_path) -> list[bytes]:
    out = []
    for k, text in enumerate(texts):
        src = tmp_path / f"in{k}.fasta"
        src.write_text(text)
        out.append(cli_predict_te(src, tmp_path / f"ref{k}.csv"))
    return out


def submit_and_wait_for_running(srv: Server, texts: list[str]) -> list[str]:
    with srv.client() as c:
        ids = [
            c.post(
                "/api/jobs", files={"file": ("in.fasta", t.encode())}, data={"kind": "predict", "task": "te"}
            ).json()["id"]
            for t in texts
        ]
        deadline = time.time() + 60
        while time.time() < deadline:
            states = [c.get(f"/api/jobs/{i}").json()["status"] for i in ids]
            if "running" in states and "queued" in states:
                return ids
            time.sleep(0.05)
    raise AssertionError(f"never saw a job running while others waited: {states}")


def finish_all(srv: Server, ids: list[str]) -> list[bytes]:
    with srv.client() as c:
        jobs = [wait(c, i, 300) for i in ids]
        assert [j["status"] for j in jobs] == ["done"] * len(ids), jobs
        return [c.get(f"/api/jobs/{i}/result").content for i in ids]


def test_kill_9_the_server(tmp_path, installed):
    texts = inputs()
    srv = Server(tmp_path / "data", "--workers", "1")
    srv.start()
    try:
        ids = submit_and_wait_for_running(srv, texts)
        workers = srv.workers()
        srv.kill()
        deadline = time.time() + 30  # its workers notice and stop
        while any(_running(p) for p in workers) and time.time() < deadline:
            time.sleep(0.2)
        assert not any(_running(p) for p in workers)
        srv.start()
        results = finish_all(srv, ids)
        with srv.client() as c:
            attempts = [c.get(f"/api/jobs/{i}").json()["attempts"] for i in ids]
        assert sorted(attempts)[-2] == 1  # at most the job that was running ran twice
        print(f"\nkill -9 server: attempts per job {attempts}")
        assert results == references(texts, tmp_path)
    finally:
        srv.stop()


def test_kill_9_a_worker(tmp_path, installed):
    texts = inputs()
    srv = Server(tmp_path / "data", "--workers", "1")
    srv.start()
    try:
        ids = submit_and_wait_for_running(srv, texts)
        (worker,) = srv.workers()
        os.kill(worker, signal.SIGKILL)
        results = finish_all(srv, ids)
        with srv.client() as c:
            attempts = [c.get(f"/api/jobs/{i}").json()["attempts"] for i in ids]
        assert max(attempts) == 2 and sorted(attempts)[-2] == 1  # the killed one ran again, no other twice
        assert results == references(texts, tmp_path)
    finally:
        srv.stop()


def _running(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
